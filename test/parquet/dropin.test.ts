/**
 * Drop-in file objects (`openAsyncBuffer`, `openBlob`) handed to the decoders as they are, over a
 * real local HTTP server: request lists from the server's own log, asserted exactly.
 */
import { tableFromIPC } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { ParquetFile } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { hasErrorCode } from '../../src/errors.js';
import { countRoundTrips } from '../../src/layers/metrics.js';
import { createMetadataCache } from '../../src/parquet/cache.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openAsyncBuffer, openBlob } from '../../src/parquet/dropin.js';
import { openParquet } from '../../src/parquet/source.js';
import { testParquet, testRows } from '../support/parquet-files.js';

let server: ObjectServer;
const files: Record<string, Uint8Array> = {};
const TAIL = `GET bytes=-${DEFAULT_FOOTER_WINDOW}`;

beforeAll(async () => {
  for (const f of [FIXTURES.seed, FIXTURES.seedPlus, FIXTURES.big]) files[f.name] = await fixture(f);
  // A first byte of 20 ms, as a remote store: parallel requests overlap, so round trips are waves.
  server = await new ObjectServer({ ttfbMs: 20 }).start();
  for (const [name, bytes] of Object.entries(files)) server.put(`${name}.parquet`, bytes);
}, 300_000);
afterAll(() => server.stop());

const url = (name: string) => `${server.url}/${name}.parquet`;
const opts = { metadataCache: false as const, url: { retry: false as const } };

/** What the server saw since the last call: `GET bytes=a-b` lines, and the round trips. */
function wire(): { list: string[]; heads: number; roundTrips: number } {
  const log = [...server.requests];
  server.resetLog();
  return {
    list: log.filter((r) => r.method === 'GET').map((r) => `GET ${r.range ?? ''}`),
    heads: log.filter((r) => r.method === 'HEAD').length,
    roundTrips: countRoundTrips(log),
  };
}

const bytesRange = (r: { offset: number; length: number }) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`;

describe('hyparquet on openAsyncBuffer(url): no metadata passed, nothing prefetched', () => {
  for (const columns of [undefined, ['price', 'word']]) {
    const what = columns ? '2 columns' : 'full read';
    it(`seed-like file (740 KiB), ${what}: 1 GET, 0 HEADs, 1 round trip`, async () => {
      wire();
      const file = await openAsyncBuffer(url('seed'), opts);
      const rows = await parquetReadObjects({ file, ...(columns ? { columns } : {}) });
      const ref = await parquetReadObjects({ file: files.seed?.buffer as ArrayBuffer, ...(columns ? { columns } : {}) });
      expect(rows).toEqual(ref);
      expect(wire()).toEqual({ list: [TAIL], heads: 0, roundTrips: 1 });
      await file.close();
    });

    it(`seed-like file just over the tail window (~1.1 MB), ${what}: 2 GETs, 0 HEADs, 2 round trips`, async () => {
      wire();
      const file = await openAsyncBuffer(url('seedPlus'), opts);
      const rows = await parquetReadObjects({ file, ...(columns ? { columns } : {}) });
      expect(rows).toHaveLength(75 * 200);
      const tailStart = file.byteLength - DEFAULT_FOOTER_WINDOW;
      const plan = file.source.plan(columns ? { columns } : {});
      const w = wire();
      expect(w.heads).toBe(0);
      expect(w.roundTrips).toBe(2);
      expect(w.list).toHaveLength(2);
      expect(w.list[0]).toBe(TAIL);
      // The data request: hyparquet's slices of this read, planned as one batch. It starts at the
      // plan's first byte and ends at the tail window, or earlier where the plan ends (a read-ahead
      // window rides along only up to what is held).
      const first = plan.requests[0] as { offset: number; length: number };
      const last = plan.requests.at(-1) as { offset: number; length: number };
      expect(plan.requests).toHaveLength(1);
      const end = Number(/-(\d+)$/.exec(w.list[1] as string)?.[1]) + 1;
      expect(w.list[1]).toBe(`GET bytes=${first.offset}-${end - 1}`);
      expect(end).toBeGreaterThanOrEqual(last.offset + last.length);
      expect(end).toBeLessThanOrEqual(tailStart);
      await file.close();
    });
  }

  it('150 MB file, 2-column projection: planned requests + 1 GETs, 2 round trips, the requests of the plan', async () => {
    wire();
    const file = await openAsyncBuffer(url('big'), opts);
    const plan = file.source.plan({ columns: ['x2', 'x6'] });
    // The wave's answers wait until all of its requests have arrived (5 s at most): round trips are
    // counted from the log's overlaps, and on a loaded machine opening the connections can take longer
    // than one answer. A reader that sent them in two waves still shows two.
    server.holdUntil(plan.requestCount, 5000);
    const rows = await parquetReadObjects({ file, columns: ['x2', 'x6'] });
    expect(rows).toHaveLength(16 * 130_000);
    const w = wire();
    expect(w.heads).toBe(0);
    expect(w.roundTrips).toBe(2);
    expect(w.list[0]).toBe(TAIL);
    expect([...w.list.slice(1)].sort()).toEqual(plan.requests.map(bytesRange).sort());
    expect(w.list).toHaveLength(plan.requestCount + 1);
    await file.close();
  }, 120_000);

  it('(backend, path) works too; a backend without a path is InvalidInput', async () => {
    const { httpBackend } = await import('../../src/backends/http/backend.js');
    const backend = httpBackend({ baseUrl: server.url });
    const file = await openAsyncBuffer(backend, 'seed.parquet', { metadataCache: false });
    expect(file.byteLength).toBe(files.seed?.byteLength);
    await file.close();
    await expect(openAsyncBuffer(backend as never)).rejects.toMatchObject({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' });
  });
});

describe('parquet-wasm on ParquetFile.fromFile(await openBlob(url))', () => {
  it('seed-like file, 2 columns: 1 GET (≤ 3), 0 HEADs', async () => {
    wire();
    const blob = await openBlob(url('seed'), opts);
    const file = await ParquetFile.fromFile(blob as never);
    const table = tableFromIPC((await file.read({ columns: ['price', 'word'] })).intoIPCStream());
    file.free();
    expect(table.numRows).toBe(50 * 200);
    expect(wire()).toEqual({ list: [TAIL], heads: 0, roundTrips: 1 });
    await blob.close();
  });

  it('seed-like file over the tail window, full read: ≤ 3 GETs, 0 HEADs', async () => {
    wire();
    const blob = await openBlob(url('seedPlus'), opts);
    const file = await ParquetFile.fromFile(blob as never);
    const table = tableFromIPC((await file.read({})).intoIPCStream());
    file.free();
    expect(table.numRows).toBe(75 * 200);
    const w = wire();
    expect(w.heads).toBe(0);
    expect(w.list[0]).toBe(TAIL);
    // parquet-wasm reads row group 0 first, then the rest: that read's window covers the rest.
    const tailStart = blob.size - DEFAULT_FOOTER_WINDOW;
    const rg1 = Math.min(...(blob.source.columnChunks[1] ?? []).map((c) => c.offset));
    expect(w.list).toEqual([TAIL, `GET bytes=4-${rg1 - 1}`, `GET bytes=${rg1}-${tailStart - 1}`]);
    await blob.close();
  });
});

describe('readTable on a file larger than the tail window', () => {
  it('readTable({ rowGroups: [k] }): 2 GETs — the tail and the row group; no GET for the leading magic', async () => {
    wire();
    const source = await openParquet(url('seedPlus'), opts);
    const plan = source.plan({ rowGroups: [7], pages: false, pageIndex: true, leadingMagic: true });
    const table = await source.readTable({ rowGroups: [7] });
    expect(table.numRows).toBe(200);
    const w = wire();
    expect(w.list).toEqual([TAIL, ...plan.requests.map(bytesRange)]);
    expect(w.list).toHaveLength(2);
    expect(w.list.some((l) => l === 'GET bytes=0-3')).toBe(false);
    await source.close();
  });
});

describe('the drop-in objects open through openParquet: the versioned footer cache applies to them', () => {
  it('a cached footer costs no request; once the object changed, the read fails ETAG_CHANGED and the footer leaves the cache; the next open reads the new version', async () => {
    const v1 = testParquet({ rows: 3000, rowGroupSize: 1000, idBase: 1000 });
    const v2 = testParquet({ rows: 4000, rowGroupSize: 1000, idBase: 100_000 });
    server.put('versioned.parquet', v1);
    const cache = createMetadataCache();
    // A window smaller than the file: data is fetched after the open, not held by it.
    const o = { metadataCache: cache, footerSizeHint: 2048, url: { retry: false as const } };
    const at = url('versioned');
    const cold = await openAsyncBuffer(at, o);
    expect(await parquetReadObjects({ file: cold, rowStart: 0, rowEnd: 2 })).toEqual(testRows(2, 1000));
    await cold.close();
    expect(cache.size).toBe(1);

    wire();
    const warm = await openAsyncBuffer(at, o);
    expect(warm.source.openRequests).toBe(0);
    expect(wire().list).toEqual([]);
    server.put('versioned.parquet', v2);
    const err = await parquetReadObjects({ file: warm }).catch((e: unknown) => e);
    expect(hasErrorCode(err, 'ETAG_CHANGED'), String(err)).toBe(true);
    expect(cache.size).toBe(0);
    await warm.close();

    wire();
    const blob = await openBlob(at, o);
    expect([blob.source.openRequests, blob.source.size, blob.source.numRows]).toEqual([1, v2.byteLength, 4000]);
    const file = await ParquetFile.fromFile(blob as never);
    try {
      const table = tableFromIPC((await file.read({ columns: ['id'] })).intoIPCStream());
      expect([table.numRows, table.getChild('id')?.get(0)]).toEqual([4000, 100_000]);
    } finally {
      file.free();
    }
    expect(wire().list[0]).toBe('GET bytes=-2048');
    await blob.close();
    expect(cache.size).toBe(1);
  });
});
