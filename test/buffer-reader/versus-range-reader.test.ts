/**
 * The scripted cases of issue 4 run on BufferReader and on RangeReader (the honest baseline), with
 * the same backend and the same sequence: GETs, bytes received and round trips side by side. The
 * table is printed; BufferReader's own counts are asserted exactly in requests.test.ts.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { withMetrics, type MeteredBackend } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, MiB, patternBytes, same } from './helpers.js';

interface Seekable {
  seek(to: SeekFrom): Promise<number>;
  read(buf: Uint8Array): Promise<number>;
}

/** Exactly `length` bytes at `offset` through the drop-in surface (seek + reads). */
async function readExactly(r: Seekable, offset: number, length: number): Promise<Uint8Array> {
  await r.seek(SeekFrom.start(offset));
  const out = new Uint8Array(length);
  for (let at = 0; at < length; ) {
    const n = await r.read(out.subarray(at));
    if (n === 0) break;
    at += n;
  }
  return out;
}

async function scanAll(r: Seekable, bufSize: number): Promise<number> {
  const buf = new Uint8Array(bufSize);
  let total = 0;
  for (let n = await r.read(buf); n > 0; n = await r.read(buf)) total += n;
  return total;
}

type Row = { case: string; reader: string; gets: number; heads: number; bytes: number; roundTrips: number };
const rows: Row[] = [];

function record(name: string, reader: string, backend: MeteredBackend): Row {
  const s = backend.metrics.snapshot();
  const row = { case: name, reader, gets: s.gets, heads: s.heads, bytes: s.bytesReceived, roundTrips: s.roundTrips };
  rows.push(row);
  return row;
}

/** A 2 ms first byte so that round trips (waves of overlapping requests) are visible. */
const remote = (objects: Record<string, Uint8Array>) => withMetrics(withThrottle(memoryBackend(objects), { ttfbMs: 2 }));

const sequential = patternBytes(4196 * KiB, 1);
const oneMiB = patternBytes(1 * MiB, 2);
const eightMiB = patternBytes(8 * MiB, 3);
const small = Array.from({ length: 600 }, (_, i) => ({ offset: i * 1747, length: 100 + (i % 13) }));
const farApart = Array.from({ length: 16 }, (_, i) => ({ offset: i * 512 * KiB + 100, length: 1000 }));
/** A seeded shuffle (a decoder that does not read in file order). */
function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const out = [...xs];
  let x = seed;
  for (let i = out.length - 1; i > 0; i--) {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    const j = x % (i + 1);
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}
const smallShuffled = shuffled(small, 42);
/** Jumps back and forth inside the first 256 KiB, further than one body chunk and the skip limit. */
const seekScript: [number, number][] = [
  [0, 1000],
  [200_000, 1000],
  [5, 1000],
  [150_000, 1000],
  [70_000, 1000],
  [1001, 1000],
  [250_000, 2000],
];

describe('BufferReader vs RangeReader on the same sequences', () => {
  afterAll(() => {
    const lines = rows.map((r) => `| ${r.case} | ${r.reader} | ${r.gets} | ${r.heads} | ${r.bytes} | ${r.roundTrips} |`);
    console.log(['| case | reader | GETs | HEADs | bytes received | round trips |', '|---|---|---|---|---|---|', ...lines].join('\n'));
  });

  it('sequential scan of 4196 KiB in 16 KiB reads', async () => {
    const rb = remote({ obj: sequential });
    const br = new BufferReader(rb, 'obj', { adaptive: false, gap: 0, maxRangeSize: 512 * KiB, readahead: { initial: 64 * KiB, max: 1 * MiB } });
    expect(await scanAll(br, 16 * KiB)).toBe(sequential.byteLength);
    const b = record('sequential scan 4196 KiB', 'BufferReader (64 KiB→1 MiB, 512 KiB parts)', rb);
    const rd = remote({ obj: sequential });
    const bd = new BufferReader(rd, 'obj', { adaptive: false });
    expect(await scanAll(bd, 16 * KiB)).toBe(sequential.byteLength);
    record('sequential scan 4196 KiB', 'BufferReader (defaults)', rd);
    const rr = remote({ obj: sequential });
    expect(await scanAll(new RangeReader(rr, 'obj'), 16 * KiB)).toBe(sequential.byteLength);
    const r = record('sequential scan 4196 KiB', 'RangeReader', rr);
    expect(b.bytes).toBe(r.bytes); // both read each byte once; RangeReader streams one open GET
  });

  it('seeks back and forth inside 256 KiB', async () => {
    const run = async (reader: Seekable) => {
      for (const [off, len] of seekScript) expect(same(await readExactly(reader, off, len), oneMiB.subarray(off, off + len))).toBe(true);
    };
    const rb = remote({ obj: oneMiB });
    await run(new BufferReader(rb, 'obj', { adaptive: false, readahead: { initial: 256 * KiB } }));
    const b = record('7 reads jumping inside 256 KiB', 'BufferReader (first window 256 KiB)', rb);
    const rd = remote({ obj: oneMiB });
    await run(new BufferReader(rd, 'obj', { adaptive: false }));
    record('7 reads jumping inside 256 KiB', 'BufferReader (defaults)', rd);
    const rr = remote({ obj: oneMiB });
    await run(new RangeReader(rr, 'obj'));
    const r = record('7 reads jumping inside 256 KiB', 'RangeReader', rr);
    expect(b.gets).toBe(1);
    expect(r.gets).toBeGreaterThan(b.gets);
  });

  for (const [order, ranges] of [
    ['file order', small],
    ['shuffled', smallShuffled],
  ] as const) {
    it(`600 small ranges of a 1 MiB object, ${order}`, async () => {
      const name = `600 ranges of 1 MiB, ${order}`;
      const check = (s: { offset: number; length: number }, got: Uint8Array) => expect(same(got, oneMiB.subarray(s.offset, s.offset + s.length))).toBe(true);
      const rb = remote({ obj: oneMiB });
      const out = await new BufferReader(rb, 'obj', { adaptive: false, size: oneMiB.byteLength }).readRanges(ranges);
      ranges.forEach((s, i) => check(s, out[i] as Uint8Array));
      const b = record(name, 'BufferReader.readRanges', rb);
      const rs = remote({ obj: oneMiB });
      const seq = new BufferReader(rs, 'obj', { adaptive: false });
      for (const s of ranges) check(s, await readExactly(seq, s.offset, s.length));
      record(name, 'BufferReader seek+read', rs);
      const rr = remote({ obj: oneMiB });
      const rangeReader = new RangeReader(rr, 'obj');
      for (const s of ranges) check(s, await readExactly(rangeReader, s.offset, s.length));
      const r = record(name, 'RangeReader seek+read', rr);
      expect(b.gets).toBe(1);
      expect(r.gets).toBeGreaterThanOrEqual(b.gets);
    });
  }

  it('16 far-apart 1000-byte ranges of an 8 MiB object', async () => {
    const rb = remote({ obj: eightMiB });
    await new BufferReader(rb, 'obj', { adaptive: false, gap: 64 * KiB, size: eightMiB.byteLength }).readRanges(farApart);
    const b = record('16 far-apart ranges of 8 MiB', 'BufferReader.readRanges (gap 64 KiB)', rb);
    const rd = remote({ obj: eightMiB });
    await new BufferReader(rd, 'obj', { adaptive: false, size: eightMiB.byteLength }).readRanges(farApart);
    record('16 far-apart ranges of 8 MiB', 'BufferReader.readRanges (defaults)', rd);
    const rr = remote({ obj: eightMiB });
    const rangeReader = new RangeReader(rr, 'obj');
    for (const s of farApart) await readExactly(rangeReader, s.offset, s.length);
    const r = record('16 far-apart ranges of 8 MiB', 'RangeReader seek+read', rr);
    expect(b.gets).toBe(16);
    expect(b.roundTrips).toBe(1);
    expect(r.roundTrips).toBeGreaterThan(b.roundTrips);
  });
});
