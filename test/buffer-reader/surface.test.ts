/** The drop-in reader surface (streams, dispose, errors), stats, ETags and the adaptive model. */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { CostModel, DEFAULT_BYTES_PER_SECOND, DEFAULT_GAP, DEFAULT_TTFB_MS, gapFor } from '../../src/buffer-reader/cost-model.js';
import { ReadAhead, READAHEAD_SEQUENTIAL_SLACK } from '../../src/buffer-reader/readahead.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, MiB, patternBytes, same } from './helpers.js';

const data = patternBytes(300 * KiB);

describe('BufferReader: reader surface', () => {
  it('async iteration, Web and Node streams give the bytes from the position to the end', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, readahead: { initial: 32 * KiB, max: 128 * KiB } });
    await reader.seek(SeekFrom.start(1000));
    const chunks: Uint8Array[] = [];
    for await (const c of reader) chunks.push(c);
    expect(same(Buffer.concat(chunks), data.subarray(1000))).toBe(true);
    expect(reader.position).toBe(data.byteLength);

    await reader.seek(SeekFrom.start(5000));
    const web: Uint8Array[] = [];
    const wr = reader.toReadableStream().getReader();
    for (let s = await wr.read(); !s.done; s = await wr.read()) web.push(s.value);
    expect(same(Buffer.concat(web), data.subarray(5000))).toBe(true);

    await reader.seek(SeekFrom.start(0));
    const node: Buffer[] = [];
    for await (const c of reader.toNodeReadable()) node.push(c as Buffer);
    expect(same(Buffer.concat(node), data)).toBe(true);
    // The second and third passes came from the buffer.
    expect(backend.metrics.snapshot().bytesReceived).toBe(data.byteLength);
  });

  it('close and asyncDispose drop the buffers; later calls are InvalidInput', async () => {
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false });
    {
      await using r = reader;
      await r.readAt(0, 10);
      expect(r.stats().memory.buffered).toBeGreaterThan(0);
    }
    expect(reader.stats().memory).toMatchObject({ buffered: 0, inFlight: 0, pinned: 0 });
    await expect(reader.read(new Uint8Array(1))).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.readAt(0, 1)).rejects.toMatchObject({ kind: 'InvalidInput' });
    await reader.close(); // idempotent
  });

  it('close aborts requests in flight', async () => {
    const slow = {
      ...memoryBackend({ obj: data }),
      read: (_p: string, _r: unknown, opts?: { signal?: AbortSignal }) =>
        new Promise<never>((_, reject) => {
          const fail = () => reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          if (opts?.signal?.aborted) fail();
          opts?.signal?.addEventListener('abort', fail);
        }),
    };
    const reader = new BufferReader(slow, 'obj', { adaptive: false });
    const pending = reader.readAt(0, 100);
    await reader.close();
    await expect(pending).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('rejects bad input with InvalidInput', async () => {
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj');
    await expect(reader.seek(SeekFrom.current(-1))).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.seek(SeekFrom.start(1.5))).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.readAt(-1, 5)).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.readRanges([{ offset: 0, length: -2 }])).rejects.toMatchObject({ kind: 'InvalidInput' });
    expect(() => new BufferReader(memoryBackend(), 'x', { concurrency: 0 })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' }));
    expect(() => new BufferReader(memoryBackend(), 'x', { maxMemory: 0 })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' }));
    expect(await reader.read(new Uint8Array(0))).toBe(0);
  });

  it('SeekFrom.end without a known size costs one HEAD, then nothing more', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false });
    expect(await reader.seek(SeekFrom.end(-8))).toBe(data.byteLength - 8);
    const tail = new Uint8Array(8);
    expect(await reader.read(tail)).toBe(8);
    expect(same(tail, data.subarray(-8))).toBe(true);
    expect(await reader.seek(SeekFrom.end(-4))).toBe(data.byteLength - 4);
    expect(backend.metrics.snapshot()).toMatchObject({ heads: 1, gets: 1 });
  });

  it('an object replaced between requests is ConditionNotMatch, never stitched', async () => {
    const backend = memoryBackend({ obj: data });
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength });
    await reader.readAt(0, 100);
    backend.put('obj', patternBytes(data.byteLength, 9));
    await expect(reader.readAt(200_000, 100)).rejects.toMatchObject({ kind: 'ConditionNotMatch' });
    expect(same(await reader.readAt(0, 100), data.subarray(0, 100))).toBe(true); // still the first version
  });

  it('stats: hits, misses, joins, bytes from buffer vs fetched, and the request list with metrics: true', async () => {
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, gap: 0, metrics: true, size: data.byteLength });
    await reader.readAt(0, 1000); // miss
    await reader.readAt(10, 500); // hit
    await reader.readRanges([
      { offset: 0, length: 100 },
      { offset: 5000, length: 100 },
    ]); // miss (100 from buffer, 100 fetched)
    const s = reader.stats();
    expect(s).toMatchObject({ hits: 1, misses: 2, joins: 0, requests: 2, bytesFetched: 1100, bytesFromBuffer: 600, bytesStreamed: 0, evictions: 0 });
    expect(s.metrics?.requests.map((r) => r.rangeHeader)).toEqual(['bytes=0-999', 'bytes=5000-5099']);
  });

  it('adaptive: the model learns TTFB and bandwidth from completed requests, and moves the gap', async () => {
    // Slower first byte and bandwidth than the S3 defaults: the estimates can only move one way.
    const slow = withThrottle(memoryBackend({ obj: patternBytes(4 * MiB) }), { ttfbMs: 60, bytesPerSecond: 4 * MiB });
    const reader = new BufferReader(slow, 'obj', { size: 4 * MiB, gap: 0 });
    await reader.readRanges(Array.from({ length: 4 }, (_, i) => ({ offset: i * MiB, length: 300 * KiB })));
    const s = reader.stats();
    expect(s.model.samples).toBe(4);
    expect(s.model.ttfbMs).toBeGreaterThan(DEFAULT_TTFB_MS);
    expect(s.model.bytesPerSecond).toBeLessThan(DEFAULT_BYTES_PER_SECOND);
    expect(s.model.gap).toBe(gapFor(s.model.ttfbMs, s.model.bytesPerSecond));
    expect(reader.gap).toBe(0); // an explicit option wins over the model
    const fixed = new BufferReader(slow, 'obj', { adaptive: false, size: 4 * MiB });
    await fixed.readAt(0, 100);
    expect(fixed.stats().model.samples).toBe(0);
    expect(fixed.gap).toBe(DEFAULT_GAP);
    // One model shared by readers of the same store pools what they learn.
    const shared = new CostModel();
    const r1 = new BufferReader(slow, 'obj', { costModel: shared, size: 4 * MiB });
    await r1.readAt(0, 300 * KiB);
    expect(new BufferReader(slow, 'obj', { costModel: shared }).stats().model.samples).toBe(1);
  });
});

describe('ReadAhead (the state machine)', () => {
  it('doubles while sequential, up to max; background windows at the middle of the last', () => {
    const ra = new ReadAhead(100, 400);
    expect(ra.plan(0, false, 10)).toEqual([{ offset: 0, length: 100, sync: true }]);
    ra.advance(0, 10);
    expect(ra.plan(10, true, 10)).toEqual([]);
    ra.advance(10, 40);
    expect(ra.plan(50, true, 10)).toEqual([{ offset: 100, length: 200, sync: false }]);
    ra.advance(50, 150);
    expect(ra.plan(200, true, 10)).toEqual([{ offset: 300, length: 400, sync: false }]);
    ra.advance(200, 300);
    expect(ra.plan(500, true, 10)).toEqual([{ offset: 700, length: 400, sync: false }]);
  });

  it('resets on a jump, tolerates a small skip, stops at the size', () => {
    const ra = new ReadAhead(100, 400);
    ra.plan(0, false, 10);
    ra.advance(0, 60);
    expect(ra.plan(60 + READAHEAD_SEQUENTIAL_SLACK, true, 10)).toEqual([]); // skip within slack, past the window
    ra.advance(60 + READAHEAD_SEQUENTIAL_SLACK, 1);
    expect(ra.plan(50_000, false, 10)).toEqual([{ offset: 50_000, length: 100, sync: true }]); // jump: back to 100
    ra.advance(50_000, 60);
    expect(ra.plan(50_060, true, 10, 50_100)).toEqual([]); // next window would start at EOF
    expect(new ReadAhead(0, 0).plan(5, false, 1234)).toEqual([{ offset: 5, length: 1234, sync: true }]);
  });
});

describe('BufferReader: read-ahead off', () => {
  it('iterating without read-ahead fetches blocks of a first window, not single bytes', async () => {
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, readahead: false, maxMemory: 128 * KiB });
    const chunks: Uint8Array[] = [];
    for await (const c of reader) chunks.push(c);
    expect(same(Buffer.concat(chunks), data)).toBe(true);
    // Blocks of min(1 MiB, budget) = 128 KiB.
    expect(backend.metrics.snapshot().requests.map((r) => r.rangeHeader)).toEqual(['bytes=0-131071', 'bytes=131072-262143', 'bytes=262144-307199']);
  });
});
