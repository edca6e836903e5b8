/**
 * Filtered reads end to end over a real local HTTP server: readObjects, readTable and readBatches
 * return exactly the rows the reference computes (hyparquet over the local bytes with no filter,
 * filtered in plain JS), on files with and without a page index, and the exact request lists show
 * the pruning (row groups → pages → rows).
 */
import type { RecordBatch, Table } from 'apache-arrow';
import fc from 'fast-check';
import type { ParquetQueryFilter } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { hasErrorCode } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import type { RowGroupFilter } from '../../src/parquet/filter.js';
import { PAGE_INDEX_RIDE_ALONG_SHARE, candidateRuns } from '../../src/parquet/filtered-read.js';
import { openParquet, type OpenParquetOptions } from '../../src/parquet/source.js';
import { FILTER_ROWS, T0, WORDS, allRows, rowMatches, writeFilterFixture } from '../support/filter-fixture.js';
import { testingFile } from '../support/parquet-testing.js';

let server: ObjectServer;
const files: Record<string, Uint8Array> = {};
const everything: Record<string, Record<string, unknown>[]> = {};

beforeAll(async () => {
  files['indexed.parquet'] = writeFilterFixture({ bloomFilter: true });
  files['plain.parquet'] = writeFilterFixture({ columnIndex: false });
  files['tiny.parquet'] = testingFile('data/alltypes_tiny_pages.parquet');
  files['tiny_plain.parquet'] = testingFile('data/alltypes_tiny_pages_plain.parquet');
  server = await new ObjectServer().start();
  for (const [name, bytes] of Object.entries(files)) {
    server.put(name, bytes);
    everything[name] = await allRows(bytes);
  }
}, 60_000);
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, list };
}

async function open(name: string, opts: OpenParquetOptions = {}) {
  const c = counted();
  const source = await openParquet(c.backend, name, { metadataCache: false, ...opts });
  return { ...c, source };
}

/** A tail window that holds the page index and bloom filters (written after the data) but no data. */
async function indexWindow(name: string): Promise<number> {
  const { source } = await open(name, { footerSizeHint: 16 * 1024 });
  const from = Math.min(source.pageIndex?.offset ?? Infinity, ...source.bloomFilterRanges.map((r) => r.offset));
  await source.close();
  return source.size - from;
}

const ids = (rows: Record<string, unknown>[]) => rows.map((r) => Number(r.id));
const tableIds = (t: Table | RecordBatch) => [...(t.getChild('id') ?? [])].map(Number);

async function batchIds(gen: AsyncGenerator<RecordBatch>): Promise<number[]> {
  const out: number[] = [];
  for await (const b of gen) out.push(...tableIds(b));
  return out;
}

const FIXTURE_FILTERS: RowGroupFilter[] = [
  { column: 'id', gte: 4_000, lt: 4_100 },
  { column: 'word', eq: 'delta' },
  { and: [{ column: 'k', in: [1, 2, 3, 500] }, { column: 'price', gt: 50 }] },
  { or: [{ column: 'id', lt: 10 }, { column: 'ts', gte: new Date(T0 + (FILTER_ROWS - 10) * 60_000) }] },
  { column: 'id', eq: 9_007_199_254_740_993n },
  { column: 'id', gt: 11_998.5 },
  { column: 'word', lt: 'c' },
  { column: 'ts', lt: T0 + 30 * 60_000 }, // a number is epoch milliseconds for a timestamp column
  { column: 'k', eq: 'abc' }, // incomparable: no row
];

const TINY_FILTERS: RowGroupFilter[] = [
  { column: 'id', gte: 7_250 },
  { and: [{ column: 'bigint_col', eq: 10 }, { column: 'month', in: [1, 2] }] },
  { column: 'timestamp_col', lt: new Date('2009-01-05T00:00:00Z') }, // INT96
  { and: [{ column: 'bool_col', eq: true }, { column: 'id', lt: 100 }] },
  { column: 'float_col', gt: 5.5 },
  { column: 'string_col', eq: '3' },
  { column: 'tinyint_col', in: [0, 9] },
];

describe('filtered reads return exactly the reference rows', () => {
  for (const [name, filters] of [
    ['indexed.parquet', FIXTURE_FILTERS],
    ['plain.parquet', FIXTURE_FILTERS],
    ['tiny.parquet', TINY_FILTERS],
    ['tiny_plain.parquet', TINY_FILTERS],
  ] as const) {
    it(`${name}: readObjects, readTable and readBatches, ${filters.length} filters`, async () => {
      const { source } = await open(name, { footerSizeHint: 64 * 1024 });
      for (const filter of filters) {
        const want = (everything[name] ?? []).filter((r) => rowMatches(r, filter));
        const got = await source.readObjects({ filter });
        expect(got, JSON.stringify(filter, (_, v) => (typeof v === 'bigint' ? `${v}n` : v))).toEqual(want);
        expect(tableIds(await source.readTable({ filter }))).toEqual(ids(want));
        expect(await batchIds(source.readBatches({ filter, columns: ['id'] }))).toEqual(ids(want));
      }
      await source.close();
    }, 60_000);
  }

  it('with a projection, the filter columns are read but not returned', async () => {
    const { source } = await open('indexed.parquet');
    const filter: RowGroupFilter = { column: 'word', eq: 'echo' };
    const want = (everything['indexed.parquet'] ?? []).filter((r) => rowMatches(r, filter));
    const t = await source.readTable({ columns: ['id', 'price'], filter });
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'price']);
    expect(tableIds(t)).toEqual(ids(want));
    expect([...(t.getChild('price') ?? [])]).toEqual(want.map((r) => r.price ?? null));
    // Scattered matches come back as one compact batch per decoded batch, every type intact.
    expect(t.batches.length).toBeLessThanOrEqual((await source.readTable({ columns: ['id', 'price'] })).batches.length);
    const all = await source.readTable({ filter: { column: 'price', lt: 10 } });
    const cheap = (everything['indexed.parquet'] ?? []).filter((r) => r.price !== null && (r.price as number) < 10);
    expect([...(all.getChild('word') ?? [])]).toEqual(cheap.map((r) => r.word));
    expect([...(all.getChild('ts') ?? [])].map(Number)).toEqual(cheap.map((r) => (r.ts as Date).getTime()));
    expect([...(all.getChild('k') ?? [])]).toEqual(cheap.map((r) => r.k));
    const objects = await source.readObjects({ columns: ['id'], filter });
    expect(objects).toEqual(want.map((r) => ({ id: r.id })));
    await source.close();
  });

  it("hyparquet's Mongo-style filter is accepted too, and prunes what it can", async () => {
    const { source } = await open('indexed.parquet');
    const filter: ParquetQueryFilter = { word: { $eq: 'echo' }, id: { $lt: 3_000n, $ne: 5n } };
    const want = (everything['indexed.parquet'] ?? []).filter((r) => r.word === 'echo' && (r.id as bigint) < 3_000n && r.id !== 5n);
    expect(source.plan({ filter }).rowGroups).toEqual([0]); // $lt prunes by statistics, $ne is left out
    expect(await source.readObjects({ filter })).toEqual(want);
    expect(tableIds(await source.readTable({ filter }))).toEqual(ids(want));
    await source.close();
  });

  it('property: random filters (and/or trees over five types) match the reference on every read path', async () => {
    const { source } = await open('indexed.parquet');
    const rows = everything['indexed.parquet'] ?? [];
    const op = fc.constantFrom('eq', 'gt', 'gte', 'lt', 'lte');
    const leaf: fc.Arbitrary<RowGroupFilter> = fc.oneof(
      fc.tuple(op, fc.oneof(fc.integer({ min: -5, max: FILTER_ROWS + 5 }), fc.bigInt({ min: -5n, max: BigInt(FILTER_ROWS + 5) }), fc.double({ min: -5, max: FILTER_ROWS + 5, noNaN: true }))).map(([o, v]) => ({ column: 'id', [o]: v }) as RowGroupFilter),
      fc.tuple(op, fc.integer({ min: -1, max: 1_000 })).map(([o, v]) => ({ column: 'k', [o]: v }) as RowGroupFilter),
      fc.array(fc.integer({ min: 0, max: 999 }), { maxLength: 4 }).map((vs) => ({ column: 'k', in: vs })),
      fc.tuple(op, fc.constantFrom(...WORDS, 'a', 'delta0', 'zz')).map(([o, v]) => ({ column: 'word', [o]: v }) as RowGroupFilter),
      fc.tuple(op, fc.integer({ min: -10, max: FILTER_ROWS + 10 })).map(([o, m]) => ({ column: 'ts', [o]: new Date(T0 + m * 60_000) }) as RowGroupFilter),
      fc.tuple(op, fc.double({ min: 0, max: 100, noNaN: true })).map(([o, v]) => ({ column: 'price', [o]: v }) as RowGroupFilter),
    );
    const tree = fc.letrec<{ node: RowGroupFilter }>((tie) => ({
      node: fc.oneof(
        { depthSize: 'small', withCrossShrink: true },
        leaf,
        fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
        fc.array(tie('node'), { minLength: 1, maxLength: 3 }).map((or) => ({ or })),
      ),
    })).node;
    await fc.assert(
      fc.asyncProperty(tree, async (filter) => {
        const want = ids(rows.filter((r) => rowMatches(r, filter)));
        expect(ids(await source.readObjects({ filter, columns: ['id'] }))).toEqual(want);
        expect(tableIds(await source.readTable({ filter, columns: ['id'] }))).toEqual(want);
      }),
      { numRuns: 40, seed: 14 },
    );
    await source.close();
  }, 120_000);
});

describe('row groups → pages → rows: the exact requests', () => {
  const filter: RowGroupFilter = { column: 'id', gte: 4_000, lt: 4_100 }; // inside row group 1 (rows 3000–5999)

  it('page index in the tail window: readObjects fetches only the matching pages, in one wave', async () => {
    const window = await indexWindow('indexed.parquet');
    // A small merge gap, as for a far-away store with big pages: the holes between pages stay unread.
    const { source, list, backend } = await open('indexed.parquet', { footerSizeHint: window, reader: { gap: 256 } });
    const rows = await source.readObjects({ filter, columns: ['id', 'word'] });
    expect(ids(rows)).toEqual(Array.from({ length: 100 }, (_, i) => 4_000 + i));
    // The open's window held the page index: it was loaded for free, and the plan is page level.
    const plan = source.plan({ filter, columns: ['id', 'word'] });
    expect(plan.rowGroups).toEqual([1]);
    expect(plan.prunedRowGroups).toEqual([0, 2, 3]);
    const [ranges] = plan.rowRanges ?? [];
    expect(ranges?.rowGroup).toBe(1);
    const kept = (ranges?.rows ?? []).reduce((n, [s, e]) => n + e - s, 0);
    expect(kept).toBeGreaterThanOrEqual(100);
    expect(kept).toBeLessThan(1_000);
    expect(plan.rowsExpected).toEqual({ selected: FILTER_ROWS, rowGroups: 3_000, pages: kept, estimate: 100 });
    const whole = source.plan({ columns: ['id', 'word'], rowGroups: [1] });
    expect(plan.bytesToFetch).toBeLessThan(whole.bytesToFetch / 3);
    expect(plan.requestCount).toBeGreaterThan(1); // the dictionary page, then the pages of rows 4000–4099, per column
    expect(list()).toEqual([`GET bytes=-${window}`, ...plan.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    expect(backend.metrics.snapshot().roundTrips).toBe(2);
    await source.close();
  });

  it('the same on readTable: whole chunks of the kept row group (parquet-wasm reads chunks), only the matching rows', async () => {
    const window = await indexWindow('indexed.parquet');
    const { source, list } = await open('indexed.parquet', { footerSizeHint: window });
    const t = await source.readTable({ filter, columns: ['id', 'word'] });
    expect(tableIds(t)).toEqual(Array.from({ length: 100 }, (_, i) => 4_000 + i));
    const plan = source.plan({ filter, columns: ['id', 'word'], pages: false });
    expect(plan.rowGroups).toEqual([1]);
    expect(list()).toEqual([`GET bytes=-${window}`, ...plan.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    await source.close();
  });

  it('a page index outside the window rides along with the data wave: no extra round trip', async () => {
    const { source, backend } = await open('indexed.parquet', { footerSizeHint: 8 * 1024 });
    expect(source.pages).toBeUndefined();
    // Ids across the first two row groups: a wave big enough that the page index is within
    // PAGE_INDEX_RIDE_ALONG_SHARE of its bytes (one row group's chunks alone are not).
    const wide: RowGroupFilter = { column: 'id', gte: 2_950, lt: 3_050 };
    const chunkPlan = source.plan({ filter: wide });
    expect(chunkPlan.rowGroups).toEqual([0, 1]);
    expect(source.pageIndex?.length ?? Infinity).toBeLessThanOrEqual(chunkPlan.bytesToFetch * PAGE_INDEX_RIDE_ALONG_SHARE);
    const rows = await source.readObjects({ filter: wide });
    expect(rows).toEqual((everything['indexed.parquet'] ?? []).filter((r) => rowMatches(r, wide)));
    expect(source.pages).toBeDefined(); // parsed from the wave's bytes
    const snap = backend.metrics.snapshot();
    expect(snap.roundTrips).toBe(2); // the open, then one wave: chunks and page index together
    expect(snap.requests.slice(1).map((r) => r.rangeHeader)).toContain(`bytes=${source.pageIndex?.offset}-${(source.pageIndex?.offset ?? 0) + (source.pageIndex?.length ?? 0) - 1}`);
    expect(snap.requests.length).toBe(1 + chunkPlan.requestCount + 1);
    await source.close();
  });

  it('without a column index: statistics prune row groups, rows are filtered, no page pruning', async () => {
    const { source, list } = await open('plain.parquet', { footerSizeHint: 8 * 1024 });
    const rows = await source.readObjects({ filter, columns: ['id'] });
    expect(ids(rows)).toEqual(Array.from({ length: 100 }, (_, i) => 4_000 + i));
    const plan = source.plan({ filter, columns: ['id'] });
    expect(plan.rowRanges).toEqual([{ rowGroup: 1, rows: [[0, 3_000]] }]); // offset index only: every page may match
    expect(plan.rowsExpected).toMatchObject({ rowGroups: 3_000, pages: 3_000 });
    expect(list()).toEqual([`GET bytes=-${8 * 1024}`, ...plan.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    await source.close();
  });

  it('bloom filters in the tail window rule out a value statistics cannot: no data request at all', async () => {
    const window = await indexWindow('indexed.parquet');
    const { source, list } = await open('indexed.parquet', { footerSizeHint: window });
    const absent: RowGroupFilter = { column: 'word', eq: 'delta0' }; // between alpha and hotel in every row group
    expect(source.plan({ filter: absent }).rowGroups).toEqual([0, 1, 2, 3]); // not loaded yet: statistics keep all
    expect(await source.readObjects({ filter: absent })).toEqual([]);
    expect(source.blooms).toBeDefined();
    const plan = source.plan({ filter: absent });
    expect(plan.bloomPrunedRowGroups).toEqual([0, 1, 2, 3]);
    expect(plan.rowsExpected).toMatchObject({ selected: FILTER_ROWS, rowGroups: 0, pages: 0, estimate: 0 });
    expect(tableIds(await source.readTable({ filter: { column: 'word', in: ['delta0', 'zulu'] } }))).toEqual([]);
    expect(list()).toEqual([`GET bytes=-${window}`]);
    // A present value is kept by its bloom filter.
    expect(source.plan({ filter: { column: 'word', eq: 'delta' } }).rowGroups).toEqual([0, 1, 2, 3]);
    await source.close();
  });

  it('candidate runs merge across row groups and clip to rowStart/rowEnd', async () => {
    const { source } = await open('indexed.parquet');
    const plan = source.plan({ filter: { column: 'id', gte: 2_500, lt: 6_500 } });
    expect(plan.rowGroups).toEqual([0, 1, 2]);
    expect(candidateRuns(source, plan)).toEqual([[0, 9_000]]);
    expect(candidateRuns(source, plan, 2_000, 7_000)).toEqual([[2_000, 7_000]]);
    await source.close();
    // rowStart/rowEnd: only the row groups holding those rows are planned and fetched.
    const small = await open('indexed.parquet', { footerSizeHint: 8 * 1024, reader: { gap: 256 } });
    const rows = await small.source.readObjects({ filter: { column: 'id', gte: 2_500, lt: 6_500 }, rowStart: 3_000, rowEnd: 3_010, columns: ['id'] });
    expect(ids(rows)).toEqual(Array.from({ length: 10 }, (_, i) => 3_000 + i));
    const chunk = small.source.columnChunks[1]?.[0];
    const index = small.source.pageIndex;
    for (const r of small.backend.metrics.snapshot().requests.slice(1)) {
      const [a, b] = (r.rangeHeader ?? '').replace('bytes=', '').split('-').map(Number);
      const inChunk = chunk !== undefined && (a as number) >= chunk.offset && (b as number) < chunk.offset + chunk.length;
      const inIndex = index !== undefined && (a as number) >= index.offset && (b as number) < index.offset + index.length;
      expect(inChunk || inIndex, r.rangeHeader).toBe(true);
    }
    await small.source.close();
  });
});

describe('bad filters are typed errors', () => {
  it('null values, repeated columns and unknown Mongo columns: InvalidInput / INVALID_FILTER, before any request', async () => {
    const { source, list } = await open('indexed.parquet');
    const before = list().length;
    for (const filter of [{ column: 'id', eq: null }, { column: 'k', in: 5 }, { nope: { $gt: 1 } }] as unknown as RowGroupFilter[]) {
      const err = await source.readObjects({ filter }).catch((e: unknown) => e);
      expect(hasErrorCode(err, 'INVALID_FILTER'), String(err)).toBe(true);
      expect(() => source.plan({ filter })).toThrow(/filter/);
    }
    expect(list().length).toBe(before);
    await source.close();
  });
});
