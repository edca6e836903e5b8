/**
 * The read-ahead of scans (`read()` loops and `for await`): the pure state machine, the request list
 * and concurrency the object server sees, the reader's own memory accounting during a scan, and warm
 * reads that send nothing and wait for nothing. Correctness only: speed is in bench/scan.ts and
 * bench/micro.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { SCAN_AHEAD_FACTOR, SCAN_BUDGET_SHARE, SCAN_BUDGET_SHARE_SMALL, SCAN_MIN_PART, SCAN_START_READ, ScanAhead, scanPartSize, scanWindowFor } from '../../src/buffer-reader/scan-ahead.js';
import { READAHEAD_SEQUENTIAL_SLACK } from '../../src/buffer-reader/readahead.js';
import { withMetrics } from '../../src/layers/metrics.js';
import type { Backend } from '../../src/types.js';
import { parseRangeHeader } from '../../bench/object-server.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, MiB, gets, patternBytes, peakConcurrency, same } from './helpers.js';

const part = (n: number) => () => n;
const input = (o: Partial<Parameters<ScanAhead['plan']>[1]> = {}) => ({ covered: false, want: 10, size: 10_000, part: part(100), scan: false, inFlight: 0, concurrency: 32, fresh: true, ...o });

describe('ScanAhead (the state machine)', () => {
  it('a first read is a peek; the next one opens the window to max, as parts, within SCAN_AHEAD_FACTOR × max ahead', () => {
    const sa = new ScanAhead(50, 400);
    expect(sa.plan(0, input())).toEqual([{ offset: 0, length: 50, sync: true }]);
    sa.advance(0, 10);
    // Inside the first window, sequential: the scan opens: parts of 100 until 400 bytes are in flight.
    expect(sa.plan(10, input({ covered: true }))).toEqual([50, 150, 250, 350].map((offset) => ({ offset, length: 100, sync: false })));
    expect(sa.active).toBe(true);
    sa.advance(10, 40);
    // Nothing lands yet: the window is full.
    expect(sa.plan(50, input({ covered: true, inFlight: 400 }))).toEqual([]);
    // Two parts land while the reads are still at 50: bytes ahead stay within the larger of
    // 9/8 × 400 = 450 and the window plus one part (500) of the position: one part fits, up to 550.
    expect(SCAN_AHEAD_FACTOR * 400).toBe(450);
    expect(sa.topUp(50, 10_000, part(100), 200)).toEqual([{ offset: 450, length: 100, sync: false }]);
    expect(sa.topUp(50, 10_000, part(100), 300)).toEqual([]); // no whole part before 550
    // The reads move on: one part fits before 150 + 500 = 650, then one more before 750.
    expect(sa.topUp(150, 10_000, part(100), 200)).toEqual([{ offset: 550, length: 100, sync: false }]);
    expect(sa.topUp(250, 10_000, part(100), 0)).toEqual([{ offset: 650, length: 100, sync: false }]);
    expect(sa.topUp(250, 10_000, part(100), 0)).toEqual([]);
  });

  it('a window of one part still has the next part in flight while the current one is read', () => {
    const sa = new ScanAhead(100, 100);
    expect(sa.plan(0, input({ scan: true }))).toEqual([{ offset: 0, length: 100, sync: true }]);
    sa.advance(0, 10);
    // The first part landed; the reads are inside it: the next part goes out now, not at 7/8 of it.
    expect(sa.topUp(10, 10_000, part(100), 0)).toEqual([{ offset: 100, length: 100, sync: false }]);
    expect(sa.topUp(20, 10_000, part(100), 100)).toEqual([]); // one part in flight: the window is full
    // Where the budget does not allow it (aheadCap: the budget's share), the slack stays 9/8 of the
    // window: ahead plus the block being read within the budget (memory.test.ts checks the bound).
    const capped = new ScanAhead(100, 100, 100);
    expect(capped.plan(0, input({ scan: true }))).toEqual([{ offset: 0, length: 100, sync: true }]);
    capped.advance(0, 10);
    expect(capped.topUp(10, 10_000, part(100), 0)).toEqual([]); // 10 + 112 < 200: no whole part
    expect(capped.topUp(90, 10_000, part(100), 0)).toEqual([{ offset: 100, length: 100, sync: false }]);
  });

  it('the iterator opens the window on its first read; the last part stops at EOF; nothing before the size is known', () => {
    const sa = new ScanAhead(50, 300);
    expect(sa.plan(0, input({ scan: true, size: 250 }))).toEqual([
      { offset: 0, length: 100, sync: true },
      { offset: 100, length: 100, sync: false },
      { offset: 200, length: 50, sync: false },
    ]);
    const blind = new ScanAhead(50, 300);
    expect(blind.plan(0, input({ scan: true, size: undefined }))).toEqual([{ offset: 0, length: 100, sync: true }]);
    expect(blind.topUp(0, 10_000, part(100), 100)).toEqual([
      { offset: 100, length: 100, sync: false },
      { offset: 200, length: 100, sync: false },
    ]);
  });

  it('reads over bytes a prefetch holds never open it; a jump closes it; read-ahead off fetches what is asked', () => {
    const sa = new ScanAhead(50, 400);
    expect(sa.plan(0, input({ covered: true }))).toEqual([]);
    sa.advance(0, 10);
    expect(sa.plan(10, input({ covered: true }))).toEqual([]); // sequential, but over held bytes
    expect(sa.active).toBe(false);
    sa.advance(10, 10);
    expect(sa.plan(20 + READAHEAD_SEQUENTIAL_SLACK, input())).toEqual([{ offset: 20 + READAHEAD_SEQUENTIAL_SLACK, length: 100, sync: true }, ...[1, 2, 3].map((i) => ({ offset: 20 + READAHEAD_SEQUENTIAL_SLACK + 100 * i, length: 100, sync: false }))]);
    sa.advance(20 + READAHEAD_SEQUENTIAL_SLACK, 10);
    expect(sa.plan(5000, input())).toEqual([{ offset: 5000, length: 50, sync: true }]); // a jump: a peek again
    expect(sa.active).toBe(false);
    expect(new ScanAhead(0, 0).plan(7, input({ want: 1234 }))).toEqual([{ offset: 7, length: 1234, sync: true }]);
  });

  it('never more parts in flight than connections, however small a part is', () => {
    const sa = new ScanAhead(50, 400);
    expect(sa.plan(0, input({ scan: true, part: part(10), concurrency: 3 }))).toEqual([0, 10, 20].map((offset, i) => ({ offset, length: 10, sync: i === 0 })));
    expect(sa.topUp(0, 10_000, part(10), 20, 3)).toEqual([{ offset: 30, length: 10, sync: false }]);
  });

  it('part size: the window over the connections, at least SCAN_MIN_PART, at most a block and the window; a smaller object over all connections', () => {
    expect(scanPartSize(64 * MiB, 32, 16 * MiB)).toBe(2 * MiB);
    expect(scanPartSize(32 * MiB, 32, 16 * MiB)).toBe(1 * MiB);
    expect(scanPartSize(8 * MiB, 32, 16 * MiB)).toBe(SCAN_MIN_PART);
    expect(scanPartSize(256 * KiB, 32, 16 * MiB)).toBe(256 * KiB);
    expect(scanPartSize(32 * MiB, 32, 512 * KiB)).toBe(512 * KiB);
    // The size known: an object smaller than the window is cut into one part per connection.
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 48 * MiB)).toBe(1.5 * MiB);
    // A larger one into whole windows of 32 parts each: 16 waves of 1000/16 MiB (not 15 of 2 MiB and a remainder of 8 MiB).
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 1000 * MiB)).toBe(Math.ceil((1000 * MiB) / 16 / 32));
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 147 * MiB)).toBe(Math.ceil((147 * MiB) / 3 / 32));
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 128 * MiB)).toBe(2 * MiB); // exactly two windows
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 64 * MiB + 1)).toBe(Math.ceil((64 * MiB + 1) / 2 / 32));
    expect(scanPartSize(64 * MiB, 32, 16 * MiB, 8 * MiB)).toBe(SCAN_MIN_PART);
  });

  it('the window: SCAN_BUDGET_SHARE of the budget (80 MiB of the default 128 MiB) where what it holds fits, else half; or less when asked', () => {
    expect([SCAN_BUDGET_SHARE, SCAN_BUDGET_SHARE_SMALL]).toEqual([5 / 8, 1 / 2]);
    expect(scanWindowFor(128 * MiB, 32)).toBe(80 * MiB);
    expect(scanWindowFor(128 * MiB, 32, 32 * MiB)).toBe(32 * MiB);
    expect(scanWindowFor(16 * MiB, 32)).toBe(10 * MiB); // 11.25 MiB ahead + 2 parts of 1 MiB fit in 16
    expect(scanWindowFor(8 * MiB, 32)).toBe(5 * MiB); // 5.6 MiB ahead + 2 parts of 1 MiB fit in 8
    expect(scanWindowFor(4 * MiB, 32)).toBe(2 * MiB); // 2.8 MiB ahead + 2 parts of 1 MiB would not fit in 4: half
    expect(scanWindowFor(256 * KiB, 32)).toBe(128 * KiB); // a part the size of the window
    expect(scanWindowFor(128 * MiB, 1)).toBe(64 * MiB); // one connection: one part the size of the window
    expect(scanWindowFor(128 * MiB, 32, 0)).toBe(0);
    // Held ahead (the window and its slack) plus the block being read and one behind stay within the budget,
    // for every budget and connection count.
    for (const budget of [64 * KiB, 256 * KiB, 1 * MiB, 3 * MiB, 4 * MiB, 8 * MiB, 16 * MiB, 40 * MiB, 128 * MiB, 1024 * MiB]) {
      for (const concurrency of [1, 2, 8, 32, 64]) {
        const window = scanWindowFor(budget, concurrency);
        const part = scanPartSize(window, concurrency, window);
        if (window >= Math.floor(budget * SCAN_BUDGET_SHARE)) expect(window * SCAN_AHEAD_FACTOR + 2 * part, `${budget} / ${concurrency}`).toBeLessThanOrEqual(budget);
        else expect(window + part, `${budget} / ${concurrency}`).toBeLessThanOrEqual(budget);
      }
    }
    const window = scanWindowFor(128 * MiB, 32);
    expect(window * SCAN_AHEAD_FACTOR + 2 * scanPartSize(window, 32, 16 * MiB)).toBeLessThan(0.75 * 128 * MiB);
  });
});

describe('BufferReader scans over HTTP: the window is spread over the connections from the first one', () => {
  let server: ObjectServer;
  const data = patternBytes(48 * MiB, 7);

  beforeAll(async () => {
    // Bodies take time (1 MiB in ~50 ms), so "sent while the first answer was arriving" means something.
    server = await new ObjectServer({ ttfbMs: 20, bytesPerSecond: 20e6 }).start();
    server.put('scan.bin', data);
  });
  afterAll(async () => {
    await server.stop();
  });

  /** The server's log as [offset, length] in MiB, sorted, and its peak concurrency. */
  function seen(): { parts: [number, number][]; peak: number; firstWindow: number } {
    const log = server.requests.filter((r) => r.method === 'GET');
    const parts = log
      .map((r): [number, number] => {
        const range = parseRangeHeader(r.range, data.byteLength);
        if (!range || range === 'unsatisfiable') throw new Error(`unexpected range ${r.range}`);
        return [range.start / MiB, (range.end + 1 - range.start) / MiB];
      })
      .sort((a, b) => a[0] - b[0]);
    const firstEnd = Math.min(...log.map((r) => r.end));
    // Requests the server had started before the first answer was complete: the first window.
    return { parts, peak: peakConcurrency(log), firstWindow: log.filter((r) => r.start < firstEnd).length };
  }

  it('for await with the size known: the 48 MiB object in 32 requests of 1.5 MiB at once, before any answer completes', async () => {
    server.resetLog();
    const reader = new BufferReader(httpBackend({ baseUrl: server.url }), 'scan.bin', { adaptive: false, size: data.byteLength, metrics: true });
    // No answer leaves the server until the whole first window has arrived (or 5 s pass, and then the
    // log shows fewer): on a loaded machine, opening 32 connections can take longer than one answer.
    server.holdUntil(reader.concurrency, 5000);
    const chunks: Uint8Array[] = [];
    for await (const c of reader) chunks.push(c);
    expect(same(Buffer.concat(chunks), data)).toBe(true);
    const { parts, peak, firstWindow } = seen();
    // The window (64 MiB) holds the whole object: one part per connection, all sent at once.
    expect(parts).toEqual(Array.from({ length: 32 }, (_, i) => [i * 1.5, 1.5]));
    expect(firstWindow).toBe(reader.concurrency);
    expect(peak).toBe(reader.concurrency);
    // The client's list is the server's.
    expect(gets(reader.stats().metrics?.requests ?? []).sort((a, b) => a[0] - b[0]).map(([o, l]) => [o / MiB, l / MiB])).toEqual(parts);
    await reader.close();
  });

  it('for await without the size: the first part, then the rest of the window as soon as its headers tell the size', async () => {
    // The first response's body is held open until the reader has sent the rest of the window (or
    // 5 s pass): what was sent while it was open is counted, whatever the machine's load.
    const inner = memoryBackend({ obj: data });
    let started = 0;
    let openWhileFirst = -1;
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    const gated: Backend = {
      ...inner,
      async read(path, range, opts) {
        started++;
        const res = await inner.read(path, range, opts);
        if (started > 1) {
          if (started === 32) release();
          return res;
        }
        const body = res.body;
        return {
          ...res,
          body: (async function* () {
            await Promise.race([gate, new Promise((r) => setTimeout(r, 5000))]);
            openWhileFirst = started;
            yield* body;
          })(),
        };
      },
    };
    const backend = withMetrics(gated);
    const reader = new BufferReader(backend, 'obj', { adaptive: false });
    let bytes = 0;
    for await (const c of reader) bytes += c.byteLength;
    expect(bytes).toBe(data.byteLength);
    expect(openWhileFirst).toBe(reader.concurrency); // one round trip, not a ramp
    // The first part is cut for the window (80 MiB over 32 connections); once the size is known the
    // rest of the object is spread over the other connections: 45.5 MiB in 30 parts of 1.5 MiB and a last one.
    expect(gets(backend.metrics.snapshot().requests).map(([o, l]) => [o / MiB, l / MiB])).toEqual([[0, 2.5], ...Array.from({ length: 30 }, (_, i) => [2.5 + i * 1.5, 1.5]), [47.5, 0.5]]);
    await reader.close();
  });

  it('a read(1 MiB) loop from byte 0 with the size known: the whole window at the first read, 32 requests at once', async () => {
    server.resetLog();
    const reader = new BufferReader(httpBackend({ baseUrl: server.url }), 'scan.bin', { adaptive: false, size: data.byteLength });
    server.holdUntil(reader.concurrency, 5000);
    const buf = new Uint8Array(SCAN_START_READ);
    let bytes = 0;
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) bytes += n;
    expect(bytes).toBe(data.byteLength);
    const { parts, firstWindow, peak } = seen();
    expect(parts).toEqual(Array.from({ length: 32 }, (_, i) => [i * 1.5, 1.5]));
    expect(firstWindow).toBe(reader.concurrency);
    expect(peak).toBe(reader.concurrency);
    await reader.close();
  });

  it('a small first read is a peek (1 MiB, READAHEAD_INITIAL); a read(1 MiB) loop after it opens the whole window at its first read', async () => {
    server.resetLog();
    const reader = new BufferReader(httpBackend({ baseUrl: server.url }), 'scan.bin', { adaptive: false });
    const buf = new Uint8Array(1 * MiB);
    let bytes = await reader.read(new Uint8Array(SCAN_START_READ - 1)); // the peek: a read below SCAN_START_READ
    expect(server.requests.filter((r) => r.method === 'GET').length).toBe(1);
    // The window's answers wait until all of it has arrived (see the first test).
    server.holdUntil(reader.concurrency, 5000);
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) bytes += n;
    expect(bytes).toBe(data.byteLength);
    const log = server.requests.filter((r) => r.method === 'GET');
    expect(log[0]?.range).toBe(`bytes=0-${MiB - 1}`);
    // The second read's window: 32 requests, all sent before the first of them is answered.
    const second = log.slice(1);
    const firstEnd = Math.min(...second.map((r) => r.end));
    expect(second.filter((r) => r.start < firstEnd).length).toBe(reader.concurrency);
    // The window from 1 MiB: the other 47 MiB over the 32 connections (1.5 MiB each, the last one shorter).
    expect(seen().parts).toEqual([[0, 1], [1, 1.5], ...Array.from({ length: 30 }, (_, i) => [2.5 + i * 1.5, 1.5]), [47.5, 0.5]]);
    await reader.close();
  });
});

describe('BufferReader: a large first read at byte 0 opens the window only as a reader\'s first, with its budget empty and first reads not sized by the caller', () => {
  const data = patternBytes(40 * MiB, 5);
  const sent = (backend: ReturnType<typeof withMetrics>) => gets(backend.metrics.snapshot().requests).map(([o, l]) => [o / MiB, l / MiB]);

  it('by default it does: the read\'s part and the rest of the window at once (the read loop\'s start)', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength, maxMemory: 16 * MiB });
    expect(await reader.read(new Uint8Array(SCAN_START_READ))).toBeGreaterThan(0);
    expect(sent(backend).length).toBeGreaterThan(1);
    await reader.close();
  });

  it('with readahead.initial set: one GET of what the read asks, nothing ahead', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength, maxMemory: 16 * MiB, readahead: { initial: 64 * KiB } });
    expect(await reader.read(new Uint8Array(SCAN_START_READ))).toBe(SCAN_START_READ);
    expect(sent(backend)).toEqual([[0, 1]]);
    await reader.close();
  });

  it('after a prefetch holds bytes: a peek of what it asks, and what the prefetch holds stays (no eviction, no re-fetch)', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength, maxMemory: 16 * MiB });
    await reader.prefetch([{ offset: 20 * MiB, length: 12 * MiB }]);
    const prefetched = sent(backend);
    expect(await reader.read(new Uint8Array(SCAN_START_READ))).toBe(SCAN_START_READ);
    expect(sent(backend)).toEqual([...prefetched, [0, 1]]);
    await reader.readRanges([{ offset: 20 * MiB, length: 12 * MiB }]);
    expect(sent(backend)).toEqual([...prefetched, [0, 1]]);
    expect(reader.stats().memory.evictions).toBe(0);
    await reader.close();
  });
});

describe('BufferReader scans: memory accounting (held + in flight + the block the iterator yielded last)', () => {
  it('never exceeds the budget, checked at every chunk, with the object 5 times the budget', async () => {
    const data = patternBytes(40 * MiB, 9);
    const budget = 8 * MiB;
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, maxMemory: budget });
    let at = 0;
    for await (const chunk of reader) {
      const m = reader.stats().memory;
      expect(m.held).toBeLessThanOrEqual(budget);
      expect(m.held).toBe(m.buffered + m.inFlight + m.pinned);
      // The chunk just yielded is still counted: in the LRU, or pinned once evicted.
      expect(m.buffered + m.pinned).toBeGreaterThanOrEqual(chunk.byteLength);
      if (!same(chunk, data.subarray(at, at + chunk.byteLength))) throw new Error(`wrong bytes at ${at}`);
      at += chunk.byteLength;
    }
    expect(at).toBe(data.byteLength);
    const s = reader.stats();
    expect(s.memory.peak).toBeLessThanOrEqual(budget);
    expect(s.bytesStreamed).toBe(0); // every part was buffered: nothing went around the budget
    expect(s.bytesFetched).toBe(data.byteLength);
    await reader.close();
  });

  it('a read() loop with a small budget: same bound, reads interleaved with seeks back', async () => {
    const data = patternBytes(12 * MiB, 10);
    const budget = 3 * MiB;
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, maxMemory: budget });
    const buf = new Uint8Array(100 * KiB);
    let peak = 0;
    for (let round = 0; round < 2; round++) {
      await reader.seek(SeekFrom.start(round * 1000));
      for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) peak = Math.max(peak, reader.stats().memory.held);
    }
    expect(peak).toBeLessThanOrEqual(budget);
    expect(reader.stats().memory.peak).toBeLessThanOrEqual(budget);
    await reader.close();
  });
});

describe('BufferReader scans: drop-behind', () => {
  it('a scan larger than the budget keeps one part behind the block it reads and lets older blocks go', async () => {
    const data = patternBytes(40 * MiB, 14);
    const budget = 16 * MiB; // a window of 10 MiB: parts of 1 MiB
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, maxMemory: budget, size: data.byteLength });
    expect(scanPartSize(scanWindowFor(budget, reader.concurrency), reader.concurrency, reader.blockCap, data.byteLength)).toBe(1 * MiB);
    const buf = new Uint8Array(256 * KiB);
    while (reader.position < 20 * MiB) await reader.read(buf);
    // The block being read is [19, 20) MiB. Let the parts in flight land (and their top-ups), then count.
    while (reader.stats().memory.inFlight > 0) await new Promise((r) => setTimeout(r, 5));
    const sent = backend.metrics.snapshot().gets;
    expect(same(await reader.readAt(18 * MiB, 4 * KiB), data.subarray(18 * MiB, 18 * MiB + 4 * KiB))).toBe(true);
    expect(backend.metrics.snapshot().gets).toBe(sent); // one part behind: still buffered
    expect(same(await reader.readAt(17 * MiB, 4 * KiB), data.subarray(17 * MiB, 17 * MiB + 4 * KiB))).toBe(true);
    expect(backend.metrics.snapshot().gets).toBe(sent + 1); // older: let go, fetched again
    await reader.close();
  });
});

describe('BufferReader: warm reads', () => {
  it('a scan of a buffered object sends nothing: for await, read() and readAt', async () => {
    const data = patternBytes(6 * MiB, 11);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength });
    await reader.prefetch([{ offset: 0, length: data.byteLength }]);
    const sent = backend.metrics.snapshot().gets;
    const chunks: Uint8Array[] = [];
    for await (const c of reader) chunks.push(c);
    expect(same(Buffer.concat(chunks), data)).toBe(true);
    await reader.seek(SeekFrom.start(0));
    const buf = new Uint8Array(64 * KiB);
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf));
    for (let at = 0; at < data.byteLength; at += 4 * KiB) if (!same(await reader.readAt(at, 4 * KiB), data.subarray(at, at + 4 * KiB))) throw new Error(`wrong bytes at ${at}`);
    expect(backend.metrics.snapshot().gets).toBe(sent);
    expect(reader.stats().misses).toBe(0);
    await reader.close();
  });

  it('a hit does not wait for a batch turn: it resolves before a setImmediate queued first', async () => {
    const data = patternBytes(1 * MiB, 12);
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, size: data.byteLength });
    await reader.prefetch([{ offset: 0, length: data.byteLength }]);
    let turned = false;
    setImmediate(() => {
      turned = true;
    });
    const got = await reader.readAt(1000, 4 * KiB);
    const n = await reader.read(new Uint8Array(4 * KiB));
    expect(turned).toBe(false);
    expect(same(got, data.subarray(1000, 1000 + 4 * KiB))).toBe(true);
    expect(n).toBe(4 * KiB);
    // A miss still joins the turn's batch (reads issued together are planned together).
    const cold = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, size: data.byteLength });
    let turnedCold = false;
    setImmediate(() => {
      turnedCold = true;
    });
    await cold.readAt(0, 10);
    expect(turnedCold).toBe(true);
    await reader.close();
    await cold.close();
  });

  it('a warm readAt is checked like any other: bad offsets, a start past EOF, a closed reader', async () => {
    const data = patternBytes(64 * KiB, 13);
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, size: data.byteLength });
    await reader.prefetch([{ offset: 0, length: data.byteLength }]);
    await expect(reader.readAt(-1, 10)).rejects.toMatchObject({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' });
    await expect(reader.readAt(1.5, 10)).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.readAt(data.byteLength, 1)).rejects.toMatchObject({ kind: 'RangeNotSatisfied' });
    expect((await reader.readAt(data.byteLength - 5, 100)).byteLength).toBe(5); // clamped at EOF
    expect((await reader.readAt(10, 0)).byteLength).toBe(0);
    const aborted = AbortSignal.abort();
    await expect(reader.readAt(0, 10, { signal: aborted })).rejects.toMatchObject({ kind: 'Aborted' });
    await reader.close();
    await expect(reader.readAt(0, 10)).rejects.toMatchObject({ code: 'READER_CLOSED' });
  });
});
