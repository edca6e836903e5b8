/**
 * The Parquet access pattern of issue 4, on the real generated fixtures, with exact request lists:
 * the 8-byte footer (seek from the end), the metadata, then every column chunk read with a relative
 * seek + reads, as a decoder does. BufferReader after the open (one tail GET inserted into the
 * buffer) and a prefetch of the chunk ranges: ≤ 2 GETs in all, and the 600 chunk reads cost none.
 * RangeReader on the same sequence is the baseline the issue note compares against.
 *
 * Request lists are `METHOD range` strings as the metrics layer records them (`GET bytes=-805306`);
 * every reader runs with `adaptive: false`, so plans do not depend on this machine's speed. A 1 ms
 * first byte keeps requests open long enough for round trips (waves) to be counted reliably.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader, DEFAULT_CONCURRENCY } from '../../src/buffer-reader/buffer-reader.js';
import { splitRange, spreadRequests } from '../../src/buffer-reader/coalesce.js';
import { minPartFor } from '../../src/buffer-reader/cost-model.js';
import { withMetrics, type MeteredBackend } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { DEFAULT_FOOTER_WINDOW, readTail, type Tail } from '../../src/parquet/footer.js';
import { columnChunkRanges, parseMetadata, type ColumnChunkRange } from '../../src/parquet/metadata.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { KiB, MiB, same } from './helpers.js';

interface Seekable {
  seek(to: SeekFrom): Promise<number>;
  read(buf: Uint8Array): Promise<number>;
  readonly position: number;
}

/** A file's layout, parsed once with the library's own footer and metadata code. */
interface Layout {
  bytes: Uint8Array;
  size: number;
  metadataLength: number;
  /** Every column chunk, row group by row group, in file order. */
  chunks: ColumnChunkRange[];
  /** First byte of the first chunk and end (exclusive) of the last. */
  dataStart: number;
  dataEnd: number;
}

async function layoutOf(bytes: Uint8Array): Promise<Layout> {
  const tail = await readTail(memoryBackend({ f: bytes }), 'f');
  const context = { backend: 'memory', op: 'open', path: 'f' };
  const chunks = columnChunkRanges(parseMetadata(tail, context), bytes.byteLength, tail.metadataLength, context).flat();
  const dataStart = Math.min(...chunks.map((c) => c.offset));
  const dataEnd = Math.max(...chunks.map((c) => c.offset + c.length));
  return { bytes, size: bytes.byteLength, metadataLength: tail.metadataLength, chunks, dataStart, dataEnd };
}

/** `Range` header text of `[offset, end)`. */
const bytesRange = (offset: number, end: number) => `bytes=${offset}-${end - 1}`;

/** The requests as `METHOD range` strings, in the order they were sent. */
function requestList(backend: MeteredBackend): string[] {
  return backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
}

/** Reads exactly `buf.length` bytes at the position (short reads are normal; 0 before the end is not). */
async function readFully(r: Seekable, buf: Uint8Array): Promise<void> {
  for (let at = 0; at < buf.byteLength; ) {
    const n = await r.read(buf.subarray(at));
    if (n === 0) throw new Error(`read returned 0 at ${r.position} before ${buf.byteLength - at} more bytes`);
    at += n;
  }
}

/** A seeded shuffle (mulberry-style LCG): a decoder that reads chunks out of file order. */
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

/**
 * What a Parquet decoder does through a seekable reader: footer (seek from the end, read 8 bytes),
 * metadata (seek, read, parse it with hyparquet: the chunk ranges come from the bytes read here), then
 * the column chunks `order` picks from the file's list (all, or a subset), each reached by a relative
 * seek and read whole. Every byte is checked. Returns the number of chunks read.
 */
async function decoderPattern(r: Seekable, layout: Layout, order: (chunks: ColumnChunkRange[]) => ColumnChunkRange[]): Promise<number> {
  const { bytes, size } = layout;
  expect(await r.seek(SeekFrom.end(-8))).toBe(size - 8);
  const footer = new Uint8Array(8);
  await readFully(r, footer);
  expect(same(footer, bytes.subarray(size - 8))).toBe(true);
  const metadataLength = new DataView(footer.buffer).getUint32(0, true);
  expect(metadataLength).toBe(layout.metadataLength);

  // The metadata sits just before the footer: a relative seek back over it and the footer.
  expect(await r.seek(SeekFrom.current(-8 - metadataLength))).toBe(size - 8 - metadataLength);
  const metadata = new Uint8Array(metadataLength);
  await readFully(r, metadata);
  // hyparquet parses the metadata followed by the footer it was found by.
  const withFooter = new Uint8Array(metadataLength + 8);
  withFooter.set(metadata);
  withFooter.set(footer, metadataLength);
  const parsed = parquetMetadata(withFooter.buffer);
  const fromBytes = parsed.row_groups.flatMap((rg) => rg.columns.map((c) => Number(c.meta_data?.total_compressed_size)));
  expect(fromBytes).toEqual(layout.chunks.map((c) => c.length));

  const chunks = order(layout.chunks);
  for (const c of chunks) {
    // Relative seeks, forward and (out of order) backward, as decoders that track a position do.
    expect(await r.seek(SeekFrom.current(c.offset - r.position))).toBe(c.offset);
    const buf = new Uint8Array(c.length);
    await readFully(r, buf);
    if (!same(buf, bytes.subarray(c.offset, c.offset + c.length))) throw new Error(`wrong bytes in chunk ${c.column} of row group ${c.rowGroup}`);
  }
  return chunks.length;
}

const fileOrder = (cs: ColumnChunkRange[]) => cs;
const outOfOrder = (cs: ColumnChunkRange[]) => shuffled(cs, 4);
/** Column by column across row groups (how a reader of one column at a time goes). */
const columnMajor = (cs: ColumnChunkRange[]) => [...cs].sort((a, b) => a.column.localeCompare(b.column) || a.rowGroup - b.rowGroup);

/** The open a Parquet reader does (one suffix GET), then a BufferReader seeded with the tail it got. */
async function openBuffered(backend: Backend, path: string, options: { footerSizeHint?: number; maxMemory?: number } = {}) {
  const tail: Tail = await readTail(backend, path, options.footerSizeHint === undefined ? {} : { footerSizeHint: options.footerSizeHint });
  const reader = new BufferReader(backend, path, {
    adaptive: false,
    size: tail.meta.size,
    ...(tail.meta.etag === undefined ? {} : { etag: tail.meta.etag }),
    ...(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory }),
  });
  expect(reader.insert(tail.offset, tail.bytes)).toBe(tail.bytes.byteLength);
  return { reader, tail };
}

type Row = { case: string; reader: string; gets: number; heads: number; roundTrips: number; bytes: number };
const rows: Row[] = [];

/** Notes a case's counts for the table printed at the end (the issue note compares them). */
function record(name: string, reader: string, backend: MeteredBackend): void {
  const s = backend.metrics.snapshot();
  rows.push({ case: name, reader, gets: s.gets, heads: s.heads, roundTrips: s.roundTrips, bytes: s.bytesReceived });
}

afterAll(() => {
  const lines = rows.map((r) => `| ${r.case} | ${r.reader} | ${r.gets} | ${r.heads} | ${r.roundTrips} | ${r.bytes} |`);
  console.log(['| pattern | reader | GETs | HEADs | round trips | bytes received |', '|---|---|---|---|---|---|', ...lines].join('\n'));
});

const remote = (bytes: Uint8Array) => withMetrics(withThrottle(memoryBackend({ 'f.parquet': bytes }), { ttfbMs: 1 }));

let seed: Layout;
let big: Layout;

beforeAll(async () => {
  [seed, big] = await Promise.all([fixture(FIXTURES.seed).then(layoutOf), fixture(FIXTURES.big).then(layoutOf)]);
}, 120_000);

describe('the seed file (50 row groups × 12 columns): BufferReader', () => {
  it('has the layout the pattern assumes: < 1 MiB, 600 contiguous chunks, page index between data and footer', () => {
    expect(seed.size).toBeLessThan(DEFAULT_FOOTER_WINDOW);
    expect(seed.chunks).toHaveLength(600);
    expect(seed.dataStart).toBe(4);
    // Contiguous in file order: a reader that merges can take them all in one request.
    for (let i = 1; i < seed.chunks.length; i++) {
      const [prev, next] = [seed.chunks[i - 1], seed.chunks[i]] as [ColumnChunkRange, ColumnChunkRange];
      expect(next.offset).toBe(prev.offset + prev.length);
    }
    expect(seed.dataEnd).toBeLessThan(seed.size - 8 - seed.metadataLength);
  });

  it('open with the default 1 MiB tail window: the whole pattern costs 1 GET, in every chunk order', async () => {
    const backend = remote(seed.bytes);
    const { reader } = await openBuffered(backend, 'f.parquet');
    // The tail window held the whole object: the prefetch has nothing left to fetch.
    expect(await reader.prefetch(seed.chunks)).toEqual({ requests: 0, bytes: 0 });
    for (const order of [fileOrder, outOfOrder, columnMajor]) expect(await decoderPattern(reader, seed, order)).toBe(600);
    expect(requestList(backend)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    expect(reader.stats()).toMatchObject({ requests: 0, misses: 0 });
    record('seed, 3 × (footer + metadata + 600 chunks)', 'BufferReader, open with the default tail + prefetch', backend);
    await reader.close();
  });

  it('open with a 64 KiB tail window (Arrow C++): 2 GETs in 2 round trips — the tail, then one prefetch of all 600 chunks', async () => {
    const backend = remote(seed.bytes);
    const { reader, tail } = await openBuffered(backend, 'f.parquet', { footerSizeHint: 64 * KiB });
    expect(tail.offset).toBe(seed.size - 64 * KiB); // footer + metadata (63,660 bytes) fit in the window
    expect(await reader.prefetch(seed.chunks)).toEqual({ requests: 1, bytes: seed.dataEnd - seed.dataStart });
    const afterPrefetch = requestList(backend);
    expect(afterPrefetch).toEqual([`GET bytes=-${64 * KiB}`, `GET ${bytesRange(seed.dataStart, seed.dataEnd)}`]);

    // 3 × (footer + metadata + 600 chunks), with relative seeks back and forth: all inside the buffer.
    for (const order of [outOfOrder, fileOrder, columnMajor]) await decoderPattern(reader, seed, order);
    expect(requestList(backend)).toEqual(afterPrefetch);
    expect(backend.metrics.snapshot().roundTrips).toBe(2);
    const s = reader.stats();
    record('seed, 3 × (footer + metadata + 600 chunks)', 'BufferReader, open with 64 KiB tail + prefetch', backend);
    expect(s).toMatchObject({ requests: 1, misses: 0, bytesFetched: seed.dataEnd - seed.dataStart });
    expect(s.hits).toBeGreaterThanOrEqual(3 * 602);
    await reader.close();
  });

  it('relative seeks inside the buffer cost 0 GETs, backward and forward, small and large', async () => {
    const backend = remote(seed.bytes);
    const { reader } = await openBuffered(backend, 'f.parquet', { footerSizeHint: 64 * KiB });
    await reader.prefetch(seed.chunks);
    backend.metrics.reset();
    const buf = new Uint8Array(1000);
    await reader.seek(SeekFrom.start(4));
    const steps = [0, 1, 12_345, -12_000, 700_000, -650_000, 3, -4_000, 500_000, -499_999, 80_000];
    for (const step of steps) {
      const at = await reader.seek(SeekFrom.current(step));
      const n = await reader.read(buf);
      expect(n).toBeGreaterThan(0);
      expect(same(buf.subarray(0, n), seed.bytes.subarray(at, at + n))).toBe(true);
    }
    // Into the tail (footer, metadata) relative to the end, then back into the metadata.
    await reader.seek(SeekFrom.end(-8));
    await reader.seek(SeekFrom.current(-20_000));
    await readFully(reader, buf);
    expect(same(buf, seed.bytes.subarray(seed.size - 20_008, seed.size - 19_008))).toBe(true);
    expect(requestList(backend)).toEqual([]);
    await reader.close();
  });

  it('without the open (a decoder alone on a cold reader): HEAD, footer, metadata, prefetch — why the open inserts its tail', async () => {
    const backend = remote(seed.bytes);
    const reader = new BufferReader(backend, 'f.parquet', { adaptive: false });
    const mdStart = seed.size - 8 - seed.metadataLength;
    // The footer read is clamped at EOF (8 bytes); the metadata read takes what is left before it.
    await reader.seek(SeekFrom.end(-8));
    await readFully(reader, new Uint8Array(8));
    await reader.seek(SeekFrom.start(mdStart));
    await readFully(reader, new Uint8Array(seed.metadataLength));
    await reader.prefetch(seed.chunks);
    expect(await decoderPattern(reader, seed, outOfOrder)).toBe(600);
    expect(requestList(backend)).toEqual([
      'HEAD',
      `GET ${bytesRange(seed.size - 8, seed.size)}`,
      `GET ${bytesRange(mdStart, seed.size - 8)}`,
      `GET ${bytesRange(seed.dataStart, seed.dataEnd)}`,
    ]);
    record('seed, footer + metadata + 600 chunks out of order', 'BufferReader, cold (no open), prefetch', backend);
    await reader.close();
  });
});

describe('the seed file: RangeReader on the same sequence (the baseline)', () => {
  const headFooterMetadata = () => ['HEAD', `GET bytes=${seed.size - 8}-`, `GET bytes=${seed.size - 8 - seed.metadataLength}-`];

  it('chunks in file order: one open GET streams through all 600 contiguous chunks (3 GETs + 1 HEAD)', async () => {
    const backend = remote(seed.bytes);
    await decoderPattern(new RangeReader(backend, 'f.parquet'), seed, fileOrder);
    expect(requestList(backend)).toEqual([...headFooterMetadata(), `GET bytes=${seed.dataStart}-`]);
    record('seed, footer + metadata + 600 chunks in file order', 'RangeReader', backend);
  });

  it('chunks out of order: a new GET for almost every chunk', async () => {
    const backend = remote(seed.bytes);
    await decoderPattern(new RangeReader(backend, 'f.parquet'), seed, outOfOrder);
    const list = requestList(backend);
    expect(list.slice(0, 3)).toEqual(headFooterMetadata());
    // Only a chunk that starts within the skip limit (8 KiB) after the open body's position, or inside
    // the last body chunk it kept, is served without a new request: 60 of the 600 in this order.
    expect(list.filter((r) => r.startsWith('GET'))).toHaveLength(2 + 540);
    record('seed, footer + metadata + 600 chunks out of order', 'RangeReader', backend);
  });

  it('chunks column by column: forward jumps over the other 11 columns, often within the skip limit', async () => {
    const backend = remote(seed.bytes);
    await decoderPattern(new RangeReader(backend, 'f.parquet'), seed, columnMajor);
    // Each column's 50 chunks lie in increasing order; the jump over the other columns of a row
    // group (~14 KiB on average) is often under 8 KiB and read through instead.
    expect(backend.metrics.snapshot()).toMatchObject({ heads: 1, gets: 2 + 24 });
    record('seed, footer + metadata + 600 chunks column by column', 'RangeReader', backend);
  });

  it('dropOnSeek (OpenDAL before 0.42): one GET per seek, 602 GETs + 1 HEAD in file order', async () => {
    const backend = remote(seed.bytes);
    await decoderPattern(new RangeReader(backend, 'f.parquet', { dropOnSeek: true }), seed, fileOrder);
    expect(requestList(backend)).toEqual([...headFooterMetadata(), ...seed.chunks.map((c) => `GET bytes=${c.offset}-`)]);
    record('seed, footer + metadata + 600 chunks in file order', 'RangeReader dropOnSeek (old OpenDAL)', backend);
  });
});

describe('the seed file over real HTTP and a real file', () => {
  let server: ObjectServer;
  let dir: string;
  let etag: string;
  beforeAll(async () => {
    server = await new ObjectServer({ ttfbMs: 1 }).start();
    etag = server.put('bucket/seed.parquet', seed.bytes);
    dir = await mkdtemp(join(tmpdir(), 'brr-pattern-'));
    await writeFile(join(dir, 'seed.parquet'), seed.bytes);
  });
  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('HTTP: 2 GETs (64 KiB tail, then the chunks), the same list on the client and on the server', async () => {
    const backend = withMetrics(httpBackend({ baseUrl: `${server.url}/bucket` }));
    server.resetLog();
    const { reader } = await openBuffered(backend, 'seed.parquet', { footerSizeHint: 64 * KiB });
    await reader.prefetch(seed.chunks);
    await decoderPattern(reader, seed, outOfOrder);
    const expected = [`GET bytes=-${64 * KiB}`, `GET ${bytesRange(seed.dataStart, seed.dataEnd)}`];
    expect(requestList(backend)).toEqual(expected);
    expect(server.requests.map((r) => `${r.method} ${r.range ?? ''}`.trim())).toEqual(expected);
    // The second request was pinned to the version the first one saw.
    expect(server.requests.map((r) => r.ifMatch)).toEqual([undefined, etag]);
    record('seed over HTTP, footer + metadata + 600 chunks out of order', 'BufferReader, open with 64 KiB tail + prefetch', backend);
    await reader.close();
  });

  it('fs: 1 GET with the default window, nothing after', async () => {
    const backend = withMetrics(fsBackend({ root: dir }));
    const { reader } = await openBuffered(backend, 'seed.parquet');
    await reader.prefetch(seed.chunks);
    await decoderPattern(reader, seed, columnMajor);
    expect(requestList(backend)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    await reader.close();
  });
});

describe('bigger than the tail window and the default budget (161 MB, 16 row groups × 9 columns)', () => {
  it('has the layout the pattern assumes', () => {
    expect(big.size).toBeGreaterThan(128 * MiB);
    expect(big.chunks).toHaveLength(16 * 9);
    expect(big.size - DEFAULT_FOOTER_WINDOW).toBeLessThan(big.dataEnd); // the tail window holds the last chunks
  });

  it('two columns of every row group, default budget: the tail, then one wave (one GET per row group); the pattern then costs nothing', async () => {
    const backend = remote(big.bytes);
    const { reader } = await openBuffered(backend, 'f.parquet');
    const wanted = big.chunks.filter((c) => c.column === 'x3' || c.column === 'x4');
    expect(await reader.prefetch(wanted)).toMatchObject({ requests: 16 });
    const afterPrefetch = requestList(backend);
    // x3 and x4 are adjacent in each row group (merged); row groups lie ~8 MiB apart (above the
    // 1.9 MiB gap): one request per row group, all in one wave.
    const perGroup = Array.from({ length: 16 }, (_, g) => {
      const [a, b] = wanted.filter((c) => c.rowGroup === g) as [ColumnChunkRange, ColumnChunkRange];
      return `GET ${bytesRange(a.offset, b.offset + b.length)}`;
    });
    expect(afterPrefetch[0]).toBe(`GET bytes=-${DEFAULT_FOOTER_WINDOW}`);
    expect(afterPrefetch.slice(1).sort()).toEqual([...perGroup].sort());
    expect(backend.metrics.snapshot().roundTrips).toBe(2);

    // Footer, metadata, then just the chunks of the two columns, out of order and in order.
    expect(await decoderPattern(reader, big, () => shuffled(wanted, 9))).toBe(32);
    expect(await decoderPattern(reader, big, () => wanted)).toBe(32);
    expect(requestList(backend)).toEqual(afterPrefetch);
    expect(reader.stats().memory.peak).toBeLessThanOrEqual(reader.stats().memory.budget);
    record('big, footer + metadata + 2 × 32 chunks (x3, x4 of 16 row groups)', 'BufferReader, open + prefetch', backend);
    await reader.close();
  });

  it('all 144 chunks with a budget that holds them: the tail, then one wave of parallel parts', async () => {
    const backend = remote(big.bytes);
    const { reader, tail } = await openBuffered(backend, 'f.parquet', { maxMemory: 256 * MiB });
    const res = await reader.prefetch(big.chunks);
    // Everything before the tail window as one merged span, split into ≤ 16 MiB parts and then
    // spread over the reader's connections (one wave, parts of at least one gap).
    const span = tail.offset - big.dataStart;
    const parts = spreadRequests(splitRange({ offset: big.dataStart, length: span }, 16 * MiB), {
      parallel: DEFAULT_CONCURRENCY,
      minPart: minPartFor(reader.gap),
    });
    expect(parts.length).toBeLessThanOrEqual(DEFAULT_CONCURRENCY);
    expect(parts.length).toBeGreaterThan(Math.ceil(span / (16 * MiB)));
    expect(res).toEqual({ requests: parts.length, bytes: span });
    const expectedParts = parts.map((p) => `GET ${bytesRange(p.offset, p.offset + p.length)}`);
    const afterPrefetch = requestList(backend);
    expect(afterPrefetch).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...expectedParts]);
    expect(backend.metrics.snapshot().roundTrips).toBe(2);
    expect(await decoderPattern(reader, big, outOfOrder)).toBe(144);
    expect(requestList(backend)).toEqual(afterPrefetch);
    record('big, footer + metadata + 144 chunks out of order', 'BufferReader (256 MiB budget), open + prefetch', backend);
    await reader.close();
  });

  it('RangeReader on the same sequence, all 144 chunks out of order: a GET for nearly every chunk', async () => {
    const backend = remote(big.bytes);
    await decoderPattern(new RangeReader(backend, 'f.parquet'), big, outOfOrder);
    const list = requestList(backend);
    expect(list.slice(0, 3)).toEqual(['HEAD', `GET bytes=${big.size - 8}-`, `GET bytes=${big.size - 8 - big.metadataLength}-`]);
    // Two chunks happen to follow the one before them in this order and stream on.
    expect(backend.metrics.snapshot()).toMatchObject({ heads: 1, gets: 2 + 142 });
    record('big, footer + metadata + 144 chunks out of order', 'RangeReader', backend);
  });
});
