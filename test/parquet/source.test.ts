/** openParquet end to end over a real local HTTP server: exact request lists and equal results. */
import { parquetReadObjects } from 'hyparquet';
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { createMetadataCache, metadataCacheKey } from '../../src/parquet/cache.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';
import { testParquet } from '../support/parquet-files.js';

let server: ObjectServer;
let seed: Uint8Array;
let big: Uint8Array;
let wide: Uint8Array;

beforeAll(async () => {
  [seed, big, wide] = await Promise.all([fixture(FIXTURES.seed), fixture(FIXTURES.big), fixture(FIXTURES.wide)]);
  server = await new ObjectServer().start();
  server.put('seed.parquet', seed);
  server.put('big.parquet', big);
  server.put('wide.parquet', wide);
}, 120_000);
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, list };
}

/** The reference: parquet-wasm reading the whole file from memory. */
function reference(bytes: Uint8Array, rowGroups?: number[]): Table {
  return tableFromIPC(readParquet(bytes, rowGroups ? { rowGroups } : undefined).intoIPCStream());
}

function sameTable(a: Table, b: Table, columns?: string[]): void {
  const names = columns ?? b.schema.fields.map((f) => f.name);
  expect(a.numRows).toBe(b.numRows);
  expect(a.schema.fields.map((f) => f.name)).toEqual(names);
  // Spread, not toArray(): null slots hold arbitrary bytes in the values buffer.
  for (const n of names) expect([...(a.getChild(n) ?? [])]).toEqual([...(b.getChild(n) ?? [])]);
}

describe('openParquet + readTable (parquet-wasm → apache-arrow)', () => {
  it('the seed file (50 row groups × 12 columns, < 1 MiB) read fully costs 1 GET, 0 HEADs', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seed.parquet', { metadataCache: false });
    expect(source.rowGroups).toHaveLength(50);
    expect(source.columns).toHaveLength(12);
    const table = await source.readTable();
    sameTable(table, reference(seed));
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    await source.close();
  });

  it('2 columns of one row group of a file larger than the window cost 2 GETs', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'big.parquet', { metadataCache: false });
    const plan = source.plan({ columns: ['x3', 'x4'], rowGroups: [7] });
    expect(plan.requestCount).toBe(1);
    const table = await source.readTable({ columns: ['x3', 'x4'], rowGroups: [7] });
    const ref = reference(big, [7]);
    expect(table.numRows).toBe(ref.numRows);
    for (const c of ['x3', 'x4']) expect(table.getChild(c)?.toArray()).toEqual(ref.getChild(c)?.toArray());
    const reqs = list();
    expect(reqs).toHaveLength(2);
    expect(reqs[0]).toBe(`GET bytes=-${DEFAULT_FOOTER_WINDOW}`);
    const [r] = plan.requests;
    expect(reqs[1]).toBe(`GET bytes=${r?.offset}-${(r?.offset ?? 0) + (r?.length ?? 0) - 1}`);
    // Bytes moved for the data: what the two chunks need, nothing more.
    const moved = backend.metrics.snapshot().requests[1]?.bytes ?? 0;
    expect(moved).toBe(plan.bytesToFetch);
    expect(moved).toBeLessThanOrEqual(plan.bytesNeeded * 1.1);
    await source.close();
  });

  it('a wide file (320 columns, footer > 128 KiB) opens in 1 GET with the default window', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'wide.parquet', { metadataCache: false });
    expect(source.footerLength).toBeGreaterThan(128 * 1024);
    expect(source.columns).toHaveLength(320);
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    expect(source.openRequests).toBe(1);
  });

  it('a warm open costs 0 requests, and its reads are pinned to the cached ETag', async () => {
    const cache = createMetadataCache();
    const first = counted();
    await openParquet(first.backend, 'seed.parquet', { metadataCache: cache });
    const warm = await openParquet(first.backend, 'seed.parquet', { metadataCache: cache });
    expect(first.list()).toHaveLength(1);
    expect(warm.openRequests).toBe(0);
    const t = await warm.readTable({ columns: ['id'], rowGroups: [0] });
    expect(t.numRows).toBe(200);
    const after = first.backend.metrics.snapshot();
    // The data wave (the chunk, and the page index parquet-wasm reads, in parallel); the footer came from the cache.
    expect(after.requests.slice(1).every((r) => r.op === 'GET')).toBe(true);
    expect(after.roundTrips).toBe(2);
    // Replace the object: the cached footer is never used to read the new bytes. The first data
    // request (If-Match) finds the change; readTable re-opens once and reads the new version.
    server.put('seed-v.parquet', seed);
    const v = await openParquet(first.backend, 'seed-v.parquet', { metadataCache: cache });
    await v.close();
    const other = testParquet({ rows: 300, rowGroupSize: 100, idBase: 7 });
    const newTag = server.put('seed-v.parquet', other);
    const stale = await openParquet(first.backend, 'seed-v.parquet', { metadataCache: cache });
    expect(stale.openRequests).toBe(0);
    const t2 = await stale.readTable({ columns: ['id'], rowGroups: [0] });
    expect([t2.numRows, t2.getChild('id')?.get(0)]).toEqual([100, 7]);
    expect([stale.etag, stale.numRows, stale.size]).toEqual([newTag, 300, other.byteLength]);
    expect(cache.get(metadataCacheKey(first.backend, 'seed-v.parquet'))?.etag).toBe(newTag);
    await stale.close();
  });

  it('streams record batches row group by row group', async () => {
    const { backend } = counted();
    const source = await openParquet(backend, 'seed.parquet', { metadataCache: false });
    let rows = 0;
    let batches = 0;
    for await (const batch of source.readBatches({ columns: ['id', 'word'], filter: { column: 'id', lt: 1000 } })) {
      rows += batch.numRows;
      batches++;
    }
    expect(rows).toBe(1000);
    expect(batches).toBeGreaterThanOrEqual(4);
  });

  it('abort rejects with AbortError', async () => {
    const { backend } = counted();
    const source = await openParquet(backend, 'big.parquet', { metadataCache: false });
    const ac = new AbortController();
    ac.abort();
    await expect(source.readTable({ signal: ac.signal })).rejects.toMatchObject({ kind: 'Aborted', name: 'AbortError' });
  });
});

describe('hyparquet over toAsyncBuffer', () => {
  it('reads the same rows as hyparquet on the whole file, with 1 GET for the seed file', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seed.parquet', { metadataCache: false });
    const rows = await parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata, columns: ['id', 'word', 'ts'] });
    const whole = await parquetReadObjects({ file: seed.buffer.slice(seed.byteOffset, seed.byteOffset + seed.byteLength) as ArrayBuffer, columns: ['id', 'word', 'ts'] });
    expect(rows).toEqual(whole);
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
  });

  it('with a prefetched plan, hyparquet on the big file sends no request of its own', async () => {
    const { backend } = counted();
    const source = await openParquet(backend, 'big.parquet', { metadataCache: false });
    const plan = source.plan({ columns: ['id', 'x0'], rowGroups: [2, 3] });
    await source.prefetch(plan);
    const before = backend.metrics.snapshot().gets;
    const rows = await parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata, columns: ['id', 'x0'], rowStart: 260_000, rowEnd: 520_000 });
    expect(rows).toHaveLength(260_000);
    expect(rows[0]?.id).toBe(260_000n);
    expect(backend.metrics.snapshot().gets).toBe(before);
  });
});
