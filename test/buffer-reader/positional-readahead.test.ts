/**
 * Read-ahead for positional reads: a `readAt` that starts where the previous one ended (or within
 * READAHEAD_SEQUENTIAL_SLACK after it) gets read-ahead windows as `read()` does; one after a jump
 * fetches exactly what it asks. Request lists asserted exactly; `adaptive: false` throughout.
 */
import { parquetReadObjects } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { toAsyncBuffer } from '../../src/adapters/hyparquet.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { READAHEAD_SEQUENTIAL_SLACK, ReadAhead } from '../../src/buffer-reader/readahead.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { readTail } from '../../src/parquet/footer.js';
import { columnChunkRanges, parseMetadata } from '../../src/parquet/metadata.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { randomBytes } from '../support/data.js';
import { KiB, MiB, gets, same } from './helpers.js';

const inKiB = (list: [number, number][]) => list.map(([o, l]) => [o / KiB, l / KiB]);

describe('BufferReader.readAt: read-ahead for reads that follow each other', () => {
  it('sequential 4 KiB readAts: the first is exact, then a window, then doubling background windows', async () => {
    const data = randomBytes(4 * MiB, 21);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, maxRangeSize: 512 * KiB, readahead: { initial: 64 * KiB, max: 1 * MiB } });
    for (let at = 0; at < data.byteLength; at += 4 * KiB) {
      if (!same(await reader.readAt(at, 4 * KiB), data.subarray(at, at + 4 * KiB))) throw new Error(`wrong bytes at ${at}`);
    }
    // Before: 1024 GETs of 4 KiB. Windows of 64, 128, 256, 512 KiB, then 1 MiB as two 512 KiB
    // parts; each next window starts when the reads reach the middle of the last one.
    expect(inKiB(gets(backend.metrics.snapshot().requests))).toEqual([
      [0, 4],
      [4, 64],
      [68, 128],
      [196, 256],
      [452, 512],
      [964, 512],
      [1476, 512],
      [1988, 512],
      [2500, 512],
      [3012, 512],
      [3524, 512],
      [4036, 60], // the size is known by now: clamped at EOF
    ]);
    expect(backend.metrics.snapshot().bytesReceived).toBe(data.byteLength); // nothing twice, nothing past EOF
    // Misses: the first read and the one that waited for the first window, plus reads that caught up
    // with a background window still in flight (joins: a hit is served at once, without a turn, so
    // how many depends on when the memory backend's bodies land).
    const st = reader.stats();
    expect(st.requests).toBe(12);
    expect(st.hits + st.misses).toBe(1024);
    expect(st.misses - st.joins).toBe(2);
    await reader.close();
  });

  it('readAts issued together (Promise.all, as hyparquet does): one batch, the first read and the window for the rest as one request', async () => {
    const data = randomBytes(1 * MiB, 22);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 1 }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, size: data.byteLength });
    const chunks = Array.from({ length: 600 }, (_, i) => ({ offset: 4 + i * 1500, length: 1500 }));
    const out = await Promise.all(chunks.map((c) => reader.readAt(c.offset, c.length)));
    chunks.forEach((c, i) => expect(same(out[i] as Uint8Array, data.subarray(c.offset, c.offset + c.length))).toBe(true));
    // Before batching: the first read exact, then a 1 MiB window (2 GETs); before read-ahead: 600 GETs.
    // Planned together, the first read and the second read's window touch: one request to EOF.
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[4, data.byteLength - 4]]);
    expect(backend.metrics.snapshot().roundTrips).toBe(1);
    await reader.close();
  });

  it('random readAts (backward, or forward beyond the slack) fetch exactly what they ask', async () => {
    const data = randomBytes(1 * MiB, 23);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength });
    const script: [number, number][] = [
      [500_000, 100],
      [400_000, 100], // backward
      [400_100 + READAHEAD_SEQUENTIAL_SLACK + 1, 100], // forward, one byte past the slack
      [10, 100],
      [900_000, 5000],
    ];
    for (const [o, l] of script) expect(same(await reader.readAt(o, l), data.subarray(o, o + l))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual(script);
    await reader.close();
  });

  it('a small forward skip (≤ slack) still counts as sequential', async () => {
    const data = randomBytes(1 * MiB, 24);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength, readahead: { initial: 32 * KiB } });
    await reader.readAt(1000, 100);
    const next = 1100 + READAHEAD_SEQUENTIAL_SLACK; // a skipped header or padding
    expect(same(await reader.readAt(next, 100), data.subarray(next, next + 100))).toBe(true);
    expect(same(await reader.readAt(next + 200, 20_000), data.subarray(next + 200, next + 20_200))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([
      [1000, 100],
      [next, 32 * KiB],
    ]);
    await reader.close();
  });

  it('readahead: false keeps positional reads exact', async () => {
    const data = randomBytes(64 * KiB, 25);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, readahead: false });
    for (let at = 0; at < 16 * KiB; at += 4 * KiB) await reader.readAt(at, 4 * KiB);
    expect(inKiB(gets(backend.metrics.snapshot().requests))).toEqual([
      [0, 4],
      [4, 4],
      [8, 4],
      [12, 4],
    ]);
    await reader.close();
  });

  it('bounded by the budget: windows never exceed half of it, memory stays within it', async () => {
    const data = randomBytes(512 * KiB, 26);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, maxMemory: 64 * KiB, size: data.byteLength });
    for (let at = 0; at < data.byteLength; at += 4 * KiB) {
      if (!same(await reader.readAt(at, 4 * KiB), data.subarray(at, at + 4 * KiB))) throw new Error(`wrong bytes at ${at}`);
    }
    const list = gets(backend.metrics.snapshot().requests);
    // The default 1 MiB first window is capped at half the 64 KiB budget.
    expect(inKiB(list.slice(0, 4))).toEqual([
      [0, 4],
      [4, 32],
      [36, 32],
      [68, 32],
    ]);
    expect(Math.max(...list.map(([, l]) => l))).toBe(32 * KiB);
    expect(backend.metrics.snapshot().bytesReceived).toBe(data.byteLength);
    const mem = reader.stats().memory;
    expect(mem.peak).toBeLessThanOrEqual(mem.budget);
    await reader.close();
  });

  it('after a prefetch, sequential readAts inside it cost nothing; leaving it starts a window', async () => {
    const data = randomBytes(1 * MiB, 27);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, size: data.byteLength, readahead: { initial: 64 * KiB } });
    await reader.prefetch([{ offset: 0, length: 100_000 }]);
    for (let at = 0; at < 100_000; at += 10_000) await reader.readAt(at, 10_000);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[0, 100_000]]);
    expect(same(await reader.readAt(100_000, 10_000), data.subarray(100_000, 110_000))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([
      [0, 100_000],
      [100_000, 64 * KiB],
    ]);
    await reader.close();
  });

  it('positional reads never disturb the read() scan: its windows are those of the scan alone', async () => {
    const data = randomBytes(2 * MiB, 28);
    const options = { adaptive: false, gap: 0, readahead: { initial: 16 * KiB, max: 128 * KiB } } as const;
    const scan = async (interleave: boolean) => {
      const backend = withMetrics(memoryBackend({ obj: data }));
      const reader = new BufferReader(backend, 'obj', options);
      const buf = new Uint8Array(4 * KiB);
      for (let i = 0; i < 128; i++) {
        const at = reader.position;
        const n = await reader.read(buf);
        if (!same(buf.subarray(0, n), data.subarray(at, at + n))) throw new Error(`wrong bytes at ${at}`);
        // Random positional reads in the second MiB between the reads of the scan.
        if (interleave) await reader.readAt(1 * MiB + ((i * 7919) % 1000) * 1000, 100);
      }
      await reader.close();
      return gets(backend.metrics.snapshot().requests);
    };
    const alone = await scan(false);
    const mixed = await scan(true);
    expect(mixed.filter(([o]) => o < 1 * MiB)).toEqual(alone);
    // The positional reads were exact (jumps), never windows.
    expect(mixed.filter(([o]) => o >= 1 * MiB).every(([, l]) => l === 100)).toBe(true);
  });

  it('hyparquet reading the seed file through a cold reader: 2 GETs (its metadata read, then one batch) instead of one per row group', async () => {
    const bytes = await fixture(FIXTURES.seed);
    const size = bytes.byteLength;
    const run = async (readahead: boolean, columns?: string[]) => {
      const backend = withMetrics(memoryBackend({ 'seed.parquet': bytes }));
      const reader = new BufferReader(backend, 'seed.parquet', { adaptive: false, size, readahead });
      const rows = await parquetReadObjects({ file: toAsyncBuffer(reader, size), ...(columns ? { columns } : {}) });
      await reader.close();
      return { rows, requests: gets(backend.metrics.snapshot().requests) };
    };
    // hyparquet reads the last 512 KiB for the metadata, then one slice per row group (its columns
    // merged), all issued at once; row groups inside the first slice are already buffered.
    const footerStart = size - 512 * KiB;
    const tail = await readTail(memoryBackend({ f: bytes }), 'f');
    const chunks = columnChunkRanges(parseMetadata(tail, {}), size, tail.metadataLength, {});
    const groupStarts = chunks.map((rg) => Math.min(...rg.map((c) => c.offset)));
    const below = groupStarts.filter((g) => g < footerStart);
    const exact = await run(false);
    const ahead = await run(true);
    expect(ahead.rows).toEqual(exact.rows);
    expect(ahead.rows).toHaveLength(50 * 200);
    // hyparquet fires every row group's slice in one loop: one batch, merged over the small holes
    // between row groups into one request (before batching: one GET per row group below the slice).
    expect(below.length).toBe(18);
    expect(exact.requests).toEqual([
      [footerStart, 512 * KiB],
      [4, footerStart - 4],
    ]);
    expect(ahead.requests).toEqual(exact.requests);

    // Two columns: slices per column chunk, all in one batch: one request again (before: 46 GETs).
    const twoExact = await run(false, ['id', 'label']);
    const twoAhead = await run(true, ['id', 'label']);
    expect(twoAhead.rows).toEqual(twoExact.rows);
    const idLabel = chunks.flatMap((rg) => rg.filter((c) => c.column === 'id' || c.column === 'label'));
    const lastBelow = Math.max(...idLabel.filter((c) => c.offset < footerStart).map((c) => c.offset + c.length));
    expect(twoExact.requests).toEqual([
      [footerStart, 512 * KiB],
      [4, Math.min(lastBelow, footerStart) - 4],
    ]);
    // With read-ahead, a window rides along to the start of the metadata slice: still one request.
    expect(twoAhead.requests).toEqual([
      [footerStart, 512 * KiB],
      [4, footerStart - 4],
    ]);
  });
});

describe('BufferReader.readAt next to seek + read', () => {
  it('a readAt after read() does not reset the scan position or its windows', async () => {
    const data = randomBytes(256 * KiB, 29);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, gap: 0, readahead: { initial: 16 * KiB, max: 64 * KiB } });
    const buf = new Uint8Array(4 * KiB);
    await reader.read(buf);
    await reader.readAt(200 * KiB, 10);
    expect(reader.position).toBe(4 * KiB);
    await reader.seek(SeekFrom.current(0));
    for (let i = 0; i < 3; i++) await reader.read(buf);
    expect(inKiB(gets(backend.metrics.snapshot().requests))).toEqual([
      [0, 16],
      [200, 10 / KiB],
      [16, 64], // the scan's window (one 64 KiB part), opened by the read at 4 KiB, as without the readAt
    ]);
  });
});

describe("ReadAhead with onJump: 'exact' (the state machine of positional reads)", () => {
  it('no window after a jump; a window once reads follow each other, doubling from the middle', () => {
    const ra = new ReadAhead(64 * KiB, 256 * KiB);
    expect(ra.plan(1000, false, 100, undefined, 'exact')).toEqual([]); // the first read is a jump
    ra.advance(1000, 100);
    expect(ra.plan(1100, false, 100, undefined, 'exact')).toEqual([{ offset: 1100, length: 64 * KiB, sync: true }]);
    ra.advance(1100, 100);
    expect(ra.plan(1200, true, 100, undefined, 'exact')).toEqual([]); // first half of the window
    ra.advance(1200, 32 * KiB);
    expect(ra.plan(1200 + 32 * KiB, true, 100, undefined, 'exact')).toEqual([{ offset: 1100 + 64 * KiB, length: 128 * KiB, sync: false }]);
    ra.advance(1200 + 32 * KiB, 100);
    // A jump back resets: nothing for it, and the next sequential read starts from the first size.
    expect(ra.plan(0, false, 10, undefined, 'exact')).toEqual([]);
    ra.advance(0, 10);
    expect(ra.plan(10, false, 10, undefined, 'exact')).toEqual([{ offset: 10, length: 64 * KiB, sync: true }]);
    ra.advance(10, 10);
    // Never past a known size.
    expect(ra.plan(5000, false, 10, 5000, 'exact')).toEqual([]);
  });
});
