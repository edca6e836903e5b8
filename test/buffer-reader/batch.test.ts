/**
 * Batching: reads that miss the buffer in one event-loop turn are planned as one wave. Request lists
 * asserted exactly; `adaptive: false` throughout, so plans do not depend on this machine's speed.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { Batcher, DEFAULT_BATCH_WINDOW_MS } from '../../src/buffer-reader/batch.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { isReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, gets, patternBytes, same, sortedGets } from './helpers.js';

const turn = () => new Promise<void>((r) => setImmediate(r));

describe('Batcher', () => {
  it('collects entries of one turn and flushes them together, once', async () => {
    const flushed: number[][] = [];
    const b = new Batcher<number>(0, (entries) => {
      flushed.push(entries.map((e) => e.spans[0]?.offset ?? -1));
      entries.forEach((e, i) => e.settle(i));
    });
    const all = Promise.all([b.add([{ offset: 5, length: 1 }]), b.add([{ offset: 1, length: 1 }]), b.add([{ offset: 9, length: 1 }])]);
    expect(b.waiting).toBe(3);
    expect(b.covers(5)).toBe(true);
    expect(b.covers(6)).toBe(false);
    expect(await all).toEqual([0, 1, 2]);
    expect(flushed).toEqual([[5, 1, 9]]);
    await b.add([{ offset: 0, length: 1 }]);
    expect(flushed).toHaveLength(2); // a later turn is a new batch
  });

  it('covers: exactly the bytes of the pending spans and extras (random overlaps, touching and empty spans), after an abort too, none once flushed', async () => {
    let seed = 7;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) % 2 ** 31), seed % n);
    const b = new Batcher<void>(0, (entries) => entries.forEach((e) => e.settle()));
    const entries: { spans: { offset: number; length: number }[]; extra: { offset: number; length: number }[]; ac: AbortController; p: Promise<unknown> }[] = [];
    // Sparse enough that most bytes are covered by one entry or none: an abort changes the answer.
    const span = () => ({ offset: rnd(40_000), length: rnd(5) === 0 ? 0 : 1 + rnd(60) });
    const asked: { offset: number; length: number }[] = [];
    const oracle = (pos: number) => entries.some((e) => [...e.spans, ...e.extra].some((r) => pos >= r.offset && pos < r.offset + r.length));
    // At every edge of every span ever added (aborted ones too): one byte before, the first, the last, one after.
    const check = () => {
      for (const r of asked) for (const pos of [r.offset - 1, r.offset, r.offset + r.length - 1, r.offset + r.length]) if (b.covers(pos) !== oracle(pos)) expect.fail(`covers(${pos}) is ${b.covers(pos)}`);
    };
    for (let i = 0; i < 300; i++) {
      const ac = new AbortController();
      const e = { spans: [span(), span()], extra: rnd(2) ? [span()] : [], ac, p: Promise.resolve() as Promise<unknown> };
      asked.push(...e.spans, ...e.extra);
      e.p = b.add(e.spans, e.extra, ac.signal).catch(() => undefined);
      entries.push(e);
      if (i % 50 === 0) check(); // asked between adds, as positional reads do
    }
    check();
    for (const k of [3, 100, 250, 0, 17, 42, 150, 201]) {
      (entries[k] as (typeof entries)[number]).ac.abort();
      entries.splice(k, 1);
    }
    check();
    await Promise.all(entries.map((e) => e.p));
    entries.length = 0;
    check(); // flushed: nothing pending
    expect(asked.filter((r) => r.length > 0).some((r) => b.covers(r.offset))).toBe(false);
  });

  it('a window waits that long; an aborted entry leaves the batch; close fails the rest', async () => {
    let flushes = 0;
    const b = new Batcher<string>(30, (entries) => {
      flushes++;
      for (const e of entries) e.settle('ok');
    });
    const ac = new AbortController();
    const t0 = performance.now();
    const kept = b.add([{ offset: 0, length: 1 }]);
    const left = b.add([{ offset: 1, length: 1 }], [], ac.signal);
    ac.abort();
    await expect(left).rejects.toMatchObject({ kind: 'Aborted', code: 'ABORTED' });
    expect(b.waiting).toBe(1);
    expect(await kept).toBe('ok');
    expect(performance.now() - t0).toBeGreaterThanOrEqual(25);
    expect(flushes).toBe(1);
    const closed = b.add([{ offset: 0, length: 1 }]);
    b.close(new Error('closed'));
    await expect(closed).rejects.toThrow('closed');
    expect(() => new Batcher(-1, () => undefined)).toThrow(/batchWindowMs/);
    expect(DEFAULT_BATCH_WINDOW_MS).toBe(0);
  });
});

describe('BufferReader batches', () => {
  it('readAt, readRanges and read() misses of one turn go out as one wave', async () => {
    const data = patternBytes(200 * KiB);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 2 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 16 * KiB, size: data.byteLength, readahead: false });
    const buf = new Uint8Array(100);
    await reader.seek(SeekFrom.start(150 * KiB));
    const [a, [b, c], n] = await Promise.all([
      reader.readAt(10 * KiB, 1000),
      reader.readRanges([
        { offset: 0, length: 500 },
        { offset: 12 * KiB, length: 2000 },
      ]),
      reader.read(buf),
    ]);
    expect(same(a, data.subarray(10 * KiB, 10 * KiB + 1000))).toBe(true);
    expect(same(b as Uint8Array, data.subarray(0, 500))).toBe(true);
    expect(same(c as Uint8Array, data.subarray(12 * KiB, 12 * KiB + 2000))).toBe(true);
    expect(n).toBe(100);
    expect(same(buf, data.subarray(150 * KiB, 150 * KiB + 100))).toBe(true);
    // 0–500, 10K–11K, 12K–14K merge over holes ≤ 16 KiB; the read at 150 KiB is too far: its own request.
    expect(sortedGets(backend.metrics.snapshot().requests)).toEqual([
      [0, 12 * KiB + 2000],
      [150 * KiB, 100],
    ]);
    expect(backend.metrics.snapshot().roundTrips).toBe(1);
    await reader.close();
  });

  it('a lone readAt waits one turn, not a window: one request for exactly its bytes', async () => {
    const data = patternBytes(64 * KiB);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength });
    const t0 = performance.now();
    expect(same(await reader.readAt(1000, 10), data.subarray(1000, 1010))).toBe(true);
    expect(performance.now() - t0).toBeLessThan(1000); // no timer window: a turn (a generous bound for a loaded machine)
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[1000, 10]]);
    await reader.close();
  });

  it('batchWindowMs: reads spread over timers within the window are one batch', async () => {
    const data = patternBytes(64 * KiB);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 4 * KiB, size: data.byteLength, readahead: false, batchWindowMs: 50 });
    const first = reader.readAt(0, 100);
    await new Promise((r) => setTimeout(r, 5));
    const second = reader.readAt(1000, 100);
    await Promise.all([first, second]);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[0, 1100]]);
    await reader.close();
  });

  it('shared in flight: a read of the next turn joins the batch request instead of sending its own', async () => {
    const data = patternBytes(64 * KiB);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 20 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength, readahead: false });
    const batch = Promise.all([reader.readAt(0, 1000), reader.readAt(1000, 1000)]);
    await turn();
    await turn();
    const late = reader.readAt(500, 1000); // inside the batch's request, still in flight
    const [[x, y], z] = await Promise.all([batch, late]);
    expect(same(x as Uint8Array, data.subarray(0, 1000))).toBe(true);
    expect(same(y as Uint8Array, data.subarray(1000, 2000))).toBe(true);
    expect(same(z, data.subarray(500, 1500))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[0, 2000]]);
    expect(reader.stats().joins).toBe(1);
    await reader.close();
  });

  it('one caller aborting detaches at once; the request others still need goes on', async () => {
    const data = patternBytes(64 * KiB);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 30 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength, readahead: false });
    const ac = new AbortController();
    const mine = reader.readAt(0, 1000, { signal: ac.signal });
    const theirs = reader.readAt(0, 2000);
    await turn();
    await turn(); // planned: one request [0, 2000) in flight for both
    const t0 = performance.now();
    ac.abort();
    const err = await mine.catch((e: unknown) => e);
    expect(isReaderError(err, 'Aborted')).toBe(true);
    expect((err as Error).name).toBe('AbortError');
    expect(performance.now() - t0).toBeLessThan(20); // at once, not when the request ends
    expect(same(await theirs, data.subarray(0, 2000))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[0, 2000]]);
    expect(backend.metrics.snapshot().requests[0]?.status).not.toBe('aborted');
    await reader.close();
  });

  it('the last caller aborting aborts its request; a caller aborting before the flush sends nothing', async () => {
    const data = patternBytes(64 * KiB);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 200 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength, readahead: false });
    const early = new AbortController();
    const gone = reader.readAt(40_000, 10, { signal: early.signal });
    early.abort();
    await expect(gone).rejects.toMatchObject({ name: 'AbortError' });
    const ac = new AbortController();
    const p = reader.readAt(0, 1000, { signal: ac.signal });
    await turn();
    await turn();
    ac.abort();
    await expect(p).rejects.toMatchObject({ name: 'AbortError' });
    await new Promise((r) => setTimeout(r, 20));
    const reqs = backend.metrics.snapshot().requests;
    expect(gets(reqs)).toEqual([[0, 1000]]); // nothing for the read that left before its batch was planned
    expect(reqs[0]?.end).toBeGreaterThan(0); // ended (aborted), long before its 200 ms first byte
    expect((reqs[0]?.end ?? 0) - (reqs[0]?.start ?? 0)).toBeLessThan(150);
    expect(reader.stats().memory.inFlight).toBe(0);
    await reader.close();
  });

  it('a batch over the budget is split into sub-batches within it, requests within the block cap; never over budget by more than one block', async () => {
    const data = patternBytes(256 * KiB);
    const budget = 16 * KiB;
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 2 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 64 * KiB, maxMemory: budget, size: data.byteLength, readahead: false });
    const ranges = Array.from({ length: 20 }, (_, i) => ({ offset: i * 10 * KiB, length: 4 * KiB }));
    const out = await Promise.all(ranges.map((r) => reader.readAt(r.offset, r.length)));
    ranges.forEach((r, i) => expect(same(out[i] as Uint8Array, data.subarray(r.offset, r.offset + r.length))).toBe(true));
    // 80 KiB wanted under a 16 KiB budget: sub-batches of 4 reads (16 KiB wanted) whose merged
    // requests stay within the block cap (the budget): no request larger than the budget.
    const list = sortedGets(backend.metrics.snapshot().requests);
    for (const [, l] of list) expect(l).toBeLessThanOrEqual(budget);
    const covered = (o: number) => list.some(([a, l]) => o >= a && o < a + l);
    for (const r of ranges) expect(covered(r.offset) && covered(r.offset + r.length - 1)).toBe(true);
    expect(list.length).toBeLessThan(ranges.length); // merged, not one per read
    // Sub-batches that find the budget full of requests in flight pass through unbuffered (as single
    // reads would); the budget holds throughout.
    expect(reader.stats().bytesStreamed).toBeLessThan(reader.stats().bytesFetched);
    expect(reader.stats().memory.peak).toBeLessThanOrEqual(budget + budget);
    await reader.close();
  });

  it('close() fails reads still waiting for their batch', async () => {
    const data = patternBytes(8 * KiB);
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, size: data.byteLength, batchWindowMs: 1000 });
    const p = reader.readAt(0, 10);
    await reader.close();
    await expect(p).rejects.toMatchObject({ kind: 'Aborted', code: 'ABORTED' });
  });
});
