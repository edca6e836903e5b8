/** The byte budget: accounting, eviction, stream-through, shared pools (catalogue case 24). */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { Part } from '../../src/buffer-reader/part.js';
import { BufferPool, blockEnd, blockOf, type Block } from '../../src/buffer-reader/pool.js';
import { SpanIndex } from '../../src/buffer-reader/span-index.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, MiB, gets, patternBytes, same } from './helpers.js';

describe('BufferReader: memory budget', () => {
  it('a long scan never exceeds a budget of N bytes by more than one block', async () => {
    const data = patternBytes(8 * MiB);
    const budget = 256 * KiB;
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, maxMemory: budget });
    const blockCap = Math.min(reader.maxRangeSize, budget);
    const buf = new Uint8Array(8 * KiB);
    let at = 0;
    for (;;) {
      const n = await reader.read(buf);
      if (n === 0) break;
      expect(same(buf.subarray(0, n), data.subarray(at, at + n))).toBe(true);
      at += n;
      const mem = reader.stats().memory;
      expect(mem.buffered + mem.inFlight).toBeLessThanOrEqual(budget);
      expect(mem.held).toBeLessThanOrEqual(budget + blockCap);
      expect(mem.held).toBeLessThanOrEqual(budget); // the block being read counts within the budget (issue 14)
    }
    expect(at).toBe(data.byteLength);
    const s = reader.stats();
    expect(s.memory.peak).toBeLessThanOrEqual(budget);
    expect(s.memory.peak).toBeGreaterThan(budget / 2); // the budget is used, not wasted
    // The scan lets blocks a window behind it go (the object is 32× the budget), before the LRU has to.
    expect(s.memory.buffered).toBeLessThanOrEqual(budget);
    expect(s.bytesFetched).toBe(data.byteLength); // windows of budget/2, each fetched once
  });

  it('random access under a tiny budget evicts on every step and stays correct', async () => {
    const data = patternBytes(64 * KiB);
    const budget = 2 * KiB;
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, maxMemory: budget, gap: 256 });
    for (let i = 0; i < 200; i++) {
      const offset = (i * 7919) % (data.byteLength - 1500);
      const length = 1 + ((i * 104_729) % 1500);
      expect(same(await reader.readAt(offset, length), data.subarray(offset, offset + length))).toBe(true);
      const mem = reader.stats().memory;
      expect(mem.held).toBeLessThanOrEqual(budget + budget);
    }
    expect(reader.stats().evictions).toBeGreaterThan(100);
  });

  it('a read larger than the budget streams through without being buffered', async () => {
    const data = patternBytes(1 * MiB);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, maxMemory: 64 * KiB, maxRangeSize: 256 * KiB, size: data.byteLength });
    await reader.readAt(0, 1000); // a buffered block, which must survive
    const big = await reader.readAt(10_000, 600 * KiB);
    expect(same(big, data.subarray(10_000, 10_000 + 600 * KiB))).toBe(true);
    const s = reader.stats();
    expect(s.bytesStreamed).toBe(600 * KiB);
    expect(s.memory.buffered).toBe(1000);
    expect(s.evictions).toBe(0);
    // Streamed parts are sized by maxRangeSize, not by the budget: the budget does not cost requests.
    expect(gets(backend.metrics.snapshot().requests)).toEqual([
      [0, 1000],
      [10_000, 200 * KiB],
      [10_000 + 200 * KiB, 200 * KiB],
      [10_000 + 400 * KiB, 200 * KiB],
    ]);
    expect(same(await reader.readAt(0, 1000), data.subarray(0, 1000))).toBe(true);
    expect(backend.metrics.snapshot().gets).toBe(4);
  });

  it('a budget smaller than one merged range: blocks are cut to the budget', async () => {
    const data = patternBytes(100 * KiB);
    const backend = withMetrics(memoryBackend({ obj: data }));
    const reader = new BufferReader(backend, 'obj', { adaptive: false, maxMemory: 16 * KiB, gap: 64 * KiB, size: data.byteLength, readahead: false });
    const ranges = [
      { offset: 0, length: 100 },
      { offset: 12_000, length: 100 },
    ];
    const out = await reader.readRanges(ranges); // 12.1 KiB merged fits; buffered as one block
    ranges.forEach((r, i) => expect(same(out[i] as Uint8Array, data.subarray(r.offset, r.offset + r.length))).toBe(true));
    await reader.seek(SeekFrom.start(20_000));
    const buf = new Uint8Array(40 * KiB);
    const n = await reader.read(buf); // readahead off: one block of at most the budget
    expect(n).toBe(16 * KiB);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([
      [0, 12_100],
      [20_000, 16 * KiB],
    ]);
    expect(reader.stats().memory.held).toBeLessThanOrEqual(16 * KiB + 16 * KiB);
  });

  it('read() joining a request streamed through (larger than the budget) keeps one block of it, not the whole', async () => {
    // Found by the fuzz (test/buffer-reader/fuzz.test.ts): a read() that joined a readAt's streamed
    // request pinned all of it, ten times the budget.
    const data = patternBytes(100 * KiB);
    const backend = withMetrics(withThrottle(memoryBackend({ obj: data }), { ttfbMs: 2 }));
    const budget = 1000;
    const reader = new BufferReader(backend, 'obj', { adaptive: false, maxMemory: budget, maxRangeSize: 16 * KiB, gap: 0, size: data.byteLength, readahead: false });
    const buf = new Uint8Array(100);
    const [big, n] = await Promise.all([reader.readAt(0, 10_000), reader.read(buf)]);
    expect(same(big, data.subarray(0, 10_000))).toBe(true);
    expect(n).toBe(100);
    expect(same(buf, data.subarray(0, 100))).toBe(true);
    expect(gets(backend.metrics.snapshot().requests)).toEqual([[0, 10_000]]); // the read joined it
    const mem = reader.stats().memory;
    expect(mem.pinned).toBe(budget); // one block (blockCap = the budget here) of it, from the position
    expect(mem.peak).toBeLessThanOrEqual(budget + budget);
    // The rest of that block serves the next reads; after it, a new request.
    for (let at = 100; at < 2000; at += 100) {
      expect(await reader.read(buf)).toBe(100);
      expect(same(buf, data.subarray(at, at + 100))).toBe(true);
    }
    expect(gets(backend.metrics.snapshot().requests)).toEqual([
      [0, 10_000],
      [1000, 100],
      [1100, 100],
      [1200, 100],
      [1300, 100],
      [1400, 100],
      [1500, 100],
      [1600, 100],
      [1700, 100],
      [1800, 100],
      [1900, 100],
    ]);
    await reader.close();
    expect(reader.stats().memory).toMatchObject({ buffered: 0, inFlight: 0, pinned: 0 });
  });

  it('eviction never breaks a read in progress', async () => {
    const data = patternBytes(64 * KiB);
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false, maxMemory: 4 * KiB, gap: 0, size: data.byteLength });
    await reader.readAt(0, 4 * KiB); // fills the budget
    // Served partly from that block and partly from new fetches that evict it.
    const ranges = [
      { offset: 0, length: 4 * KiB },
      { offset: 5 * KiB, length: 2 * KiB },
      { offset: 8 * KiB, length: 2 * KiB },
    ];
    const out = await reader.readRanges(ranges);
    ranges.forEach((r, i) => expect(same(out[i] as Uint8Array, data.subarray(r.offset, r.offset + r.length))).toBe(true));
    expect(reader.stats().evictions).toBeGreaterThan(0);
  });

  it('readers can share one pool: one budget, each keeps its own blocks', async () => {
    const a = patternBytes(256 * KiB, 1);
    const b = patternBytes(256 * KiB, 2);
    const backend = withMetrics(memoryBackend({ a, b }));
    const pool = new BufferPool({ maxMemory: 96 * KiB });
    const ra = new BufferReader(backend, 'a', { adaptive: false, pool, size: a.byteLength });
    const rb = new BufferReader(backend, 'b', { adaptive: false, pool, size: b.byteLength });
    expect(same(await ra.readAt(0, 64 * KiB), a.subarray(0, 64 * KiB))).toBe(true);
    expect(same(await rb.readAt(0, 64 * KiB), b.subarray(0, 64 * KiB))).toBe(true); // evicts a's block
    expect(pool.memory().buffered).toBe(64 * KiB);
    expect(ra.stats().evictions).toBe(1);
    expect(same(await rb.readAt(100, 100), b.subarray(100, 200))).toBe(true);
    expect(backend.metrics.snapshot().gets).toBe(2);
    await rb.close();
    expect(pool.memory().buffered).toBe(0);
    expect(same(await ra.readAt(0, 10), a.subarray(0, 10))).toBe(true);
    expect(pool.memory().peak).toBeLessThanOrEqual(96 * KiB);
  });
});

describe('store', () => {
  const owner = { onEvicted: () => undefined };
  const block = (offset: number, length: number): Block => blockOf(offset, Part.of(new Uint8Array(length)), owner, `t:${offset}`);

  it('SpanIndex finds by position, next start and overlap', () => {
    const idx = new SpanIndex<Block>(blockEnd);
    const b1 = block(100, 50);
    const b2 = block(0, 10);
    const b3 = block(300, 1);
    for (const b of [b1, b2, b3]) idx.insert(b);
    expect(idx.all().map((b) => b.offset)).toEqual([0, 100, 300]);
    expect(idx.find(0)).toBe(b2);
    expect(idx.find(9)).toBe(b2);
    expect(idx.find(10)).toBeUndefined();
    expect(idx.find(149)).toBe(b1);
    expect(idx.find(150)).toBeUndefined();
    expect(idx.nextStart(10)).toBe(100);
    expect(idx.nextStart(120)).toBe(300);
    expect(idx.nextStart(300)).toBe(Infinity);
    expect(idx.overlaps(10, 100)).toBe(false);
    expect(idx.overlaps(10, 101)).toBe(true);
    expect(idx.remove(b1)).toBe(true);
    expect(idx.remove(b1)).toBe(false);
    expect(idx.find(120)).toBeUndefined();
  });

  it('BufferPool reserves by evicting the least recently used, refuses when in-flight bytes fill it', () => {
    const evicted: number[] = [];
    const own = { onEvicted: (b: Block) => void evicted.push(b.offset) };
    const pool = new BufferPool({ maxMemory: 100 });
    const mk = (offset: number, length: number): Block => blockOf(offset, Part.of(new Uint8Array(length)), own, `p:${offset}`);
    const x = mk(0, 40);
    const y = mk(100, 40);
    pool.admit(x);
    pool.admit(y);
    pool.touch(x); // y is now the least recently used
    expect(pool.reserve(30)).toBe(true);
    expect(evicted).toEqual([100]);
    expect(pool.memory()).toMatchObject({ buffered: 40, inFlight: 30, held: 70, evictions: 1 });
    expect(pool.reserve(80)).toBe(false); // 30 in flight + 80 > 100: nothing evicted
    expect(evicted).toEqual([100]);
    pool.release(30);
    expect(pool.reserve(80)).toBe(true);
    expect(evicted).toEqual([100, 0]);
    expect(pool.memory().peak).toBeLessThanOrEqual(100);
    expect(pool.admit(mk(500, 101))).toBe(false); // larger than the budget
  });
});
