/**
 * The column-wise filter against the per-row reference: random columns of every type a filter
 * compares (nulls, NaN, ±0, int64 beyond 2^53, timestamps in ms/µs/ns beyond what a Date holds,
 * out-of-range dates, strings past the BMP, decimals), written by hyparquet-writer, decoded by
 * parquet-wasm; the mask `filterMask` computes over the Arrow batches equals, row for row, our
 * filter applied in plain JS to hyparquet's rows of the same bytes (`rowMatches`), and a Mongo-style
 * filter's mask equals hyparquet's own `matchFilter` on those rows.
 */
import type { Table } from 'apache-arrow';
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import { parquetMetadata, parquetReadObjects, parquetSchema, type ParquetQueryFilter, type SchemaTree } from 'hyparquet';
import { matchFilter } from 'hyparquet/src/filter.js';
import * as wasm from 'parquet-wasm';
import { beforeAll, describe, expect, it } from 'vitest';
import { plainColumn } from '../../src/parquet/arrow-columns.js';
import type { RowGroupFilter, Value } from '../../src/parquet/filter.js';
import { filterMask, maskRuns } from '../../src/parquet/filter-mask.js';
import { toQueryFilter } from '../../src/parquet/row-filter.js';
import { rowMatches } from '../support/filter-fixture.js';
import { testingFile } from '../support/parquet-testing.js';
import { TYPED_COLUMNS, TYPED_NAMES, writeTypedColumns } from '../support/typed-columns.js';

const POOLS = Object.values(TYPED_COLUMNS).map((c) => c.pool.length);
/** Values of another type than a column's: each must match what hyparquet's semantics say (mostly nothing). */
const CROSS: Value[] = [0, 1, -1, 1.5, 3, NaN, 2n, 9_007_199_254_740_993n, 'a', 'é', true, false, new Date(0), new Date(1), new Date(NaN), 1_704_067_200_000];

/** Per column, the distinct values hyparquet decodes from its pool (the targets that hit rows), then CROSS. */
const targets: Record<string, unknown[]> = {};

async function decodeBoth(bytes: Uint8Array): Promise<{ table: Table; rows: Record<string, unknown>[]; tree: SchemaTree }> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = await parquetReadObjects({ file });
  const table = arrow.tableFromIPC(wasm.readParquet(bytes).intoIPCStream());
  return { table, rows, tree: parquetSchema(parquetMetadata(file)) };
}

/** The rows of a whole table a filter keeps, computed batch by batch. */
function maskOf(table: Table, tree: SchemaTree, query: ParquetQueryFilter): boolean[] {
  const out: boolean[] = [];
  for (const batch of table.batches) {
    const mask = filterMask(query, batch.numRows, (path) => plainColumn(arrow, batch, tree, path));
    for (const m of mask) out.push(m === 1);
  }
  return out;
}

beforeAll(async () => {
  const n = Math.max(...POOLS);
  const { rows } = await decodeBoth(writeTypedColumns(Array.from({ length: n }, (_, i) => POOLS.map((p) => i % p))));
  for (const name of TYPED_NAMES) {
    const seen: unknown[] = [];
    for (const r of rows) {
      const v = r[name];
      if (v !== null && v !== undefined && !seen.some((s) => Object.is(s, v) || (s instanceof Date && v instanceof Date && Object.is(s.getTime(), v.getTime())))) seen.push(v);
    }
    targets[name] = [...seen, ...CROSS];
  }
});

const rowsArb = fc.array(fc.tuple(...POOLS.map((p) => fc.nat(p - 1))), { minLength: 1, maxLength: 60 });
const column = fc.constantFrom(...TYPED_NAMES);
const target = (name: string) => fc.constantFrom(...(targets[name] as unknown[]));

const ours: fc.Arbitrary<RowGroupFilter> = fc.letrec<{ f: RowGroupFilter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    column.chain((name) =>
      fc
        .record(
          {
            eq: target(name),
            gt: target(name),
            gte: target(name),
            lt: target(name),
            lte: target(name),
            in: fc.array(target(name), { maxLength: 6 }),
          },
          { requiredKeys: [] },
        )
        .filter((ops) => Object.keys(ops).length > 0)
        .map((ops) => ({ column: name, ...ops }) as RowGroupFilter),
    ),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((and) => ({ and })),
    fc.array(tie('f'), { minLength: 1, maxLength: 3 }).map((or) => ({ or })),
  ),
})).f;

/** hyparquet's own syntax, its values as written (uncoerced): null targets, $ne/$nin/$not/$nor, implicit equality. */
const mongo: fc.Arbitrary<ParquetQueryFilter> = fc.letrec<{ q: ParquetQueryFilter }>((tie) => ({
  q: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    column.chain((name) => {
      const t = fc.oneof(target(name), fc.constant(null));
      const op = fc.oneof(
        t,
        fc.record({ $eq: t, $ne: t, $gt: t, $gte: t, $lt: t, $lte: t, $in: fc.array(t, { maxLength: 5 }), $nin: fc.array(t, { maxLength: 5 }) }, { requiredKeys: [] }),
        fc.record({ $gt: t, $ne: t }, { requiredKeys: [] }).map(($not) => ({ $not })),
        t.map(($not) => ({ $not })),
      );
      return op.map((condition) => ({ [name]: condition }) as ParquetQueryFilter);
    }),
    fc.array(tie('q') as fc.Arbitrary<ParquetQueryFilter>, { minLength: 1, maxLength: 3 }).map(($and) => ({ $and }) as ParquetQueryFilter),
    fc.array(tie('q') as fc.Arbitrary<ParquetQueryFilter>, { minLength: 1, maxLength: 3 }).map(($or) => ({ $or }) as ParquetQueryFilter),
    fc.array(tie('q') as fc.Arbitrary<ParquetQueryFilter>, { minLength: 1, maxLength: 2 }).map(($nor) => ({ $nor }) as ParquetQueryFilter),
  ),
})).q;

const show = (v: unknown) => JSON.stringify(v, (_, x) => (typeof x === 'bigint' ? `${x}n` : typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));

describe('filterMask equals the per-row reference', () => {
  it('property: our filter over random typed columns == rowMatches over hyparquet rows', async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.array(ours, { minLength: 1, maxLength: 6 }), fc.constantFrom(7, 1_000), async (data, filters, rowGroupSize) => {
        const { table, rows, tree } = await decodeBoth(writeTypedColumns(data, rowGroupSize));
        expect(table.numRows).toBe(rows.length);
        for (const filter of filters) {
          const want = rows.map((r) => rowMatches(r, filter));
          expect(maskOf(table, tree, toQueryFilter(filter, tree)), show(filter)).toEqual(want);
        }
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it("property: a Mongo-style filter over random typed columns == hyparquet's matchFilter over its rows", async () => {
    await fc.assert(
      fc.asyncProperty(rowsArb, fc.array(mongo, { minLength: 1, maxLength: 6 }), async (data, filters) => {
        const { table, rows, tree } = await decodeBoth(writeTypedColumns(data, 7));
        for (const query of filters) {
          const want = rows.map((r) => matchFilter(r, query, true));
          expect(maskOf(table, tree, toQueryFilter(query, tree)), show(query)).toEqual(want);
        }
      }),
      { numRuns: 80 },
    );
  }, 120_000);

  it('edges by hand: timestamps past a Date, int64 past 2^53, NaN and -0, null targets, a Date as a whole condition', async () => {
    const n = Math.max(...POOLS);
    const { table, rows, tree } = await decodeBoth(writeTypedColumns(Array.from({ length: n }, (_, i) => POOLS.map((p) => i % p))));
    const cases: ParquetQueryFilter[] = [
      { tms: { $gt: new Date(0) } }, // 2^63 - 1 ms: an Invalid Date in hyparquet, never greater
      { tus: { $gte: new Date(-1) } }, // -999 µs truncates to 0 ms (toward zero), not -1
      { tns: { $lt: new Date(1) } },
      { i64: { $gt: 9_007_199_254_740_992n } },
      { i64: { $gt: 0n, $lte: 3 } }, // near 0: doubles stand in for the int64s, ±Infinity past 2^53
      { i64: { $lt: -1 } },
      { i64: { $in: [0n, 2n ** 63n - 1n, 3] } },
      { i64: { $in: [1n, 3n, -1n] } },
      { i64: 9_007_199_254_740_993n } as unknown as ParquetQueryFilter,
      { f64: { $eq: 0 } }, // 0 and -0
      { f64: { $in: [NaN, Infinity] } },
      { s: { $ne: null } },
      { s: null } as unknown as ParquetQueryFilter,
      { day: { $lte: new Date(0) } },
      { tms: new Date(0) } as unknown as ParquetQueryFilter, // an object without operators: every row
      { dec: { $gt: 1 } },
      { b: { $nin: [true] } },
    ];
    for (const query of cases) expect(maskOf(table, tree, query), show(query)).toEqual(rows.map((r) => matchFilter(r, query, true)));
  });
});

describe('filterMask on nested columns of parquet-testing files', () => {
  it('a null struct above the leaf (hyparquet: no value, undefined) and a null leaf (null) as matchFilter tells them apart', async () => {
    for (const [name, path] of [
      ['data/nulls.snappy.parquet', 'b_struct.b_c_int'],
      ['data/nullable.impala.parquet', 'nested_struct.A'],
    ] as const) {
      const { table, rows, tree } = await decodeBoth(testingFile(name));
      for (const query of [{ [path]: null }, { [path]: { $ne: null } }, { [path]: { $eq: undefined } }, { [path]: { $gt: 0 } }, { [path]: { $in: [7, null] } }] as ParquetQueryFilter[]) {
        expect(maskOf(table, tree, query), `${name} ${show(query)}`).toEqual(rows.map((r) => matchFilter(r, query, true)));
      }
    }
  });
});

describe('maskRuns', () => {
  it('turns a mask into sorted [start, end) runs', () => {
    expect(maskRuns(Uint8Array.from([]))).toEqual([]);
    expect(maskRuns(Uint8Array.from([1, 1, 0, 1, 0, 0, 1]))).toEqual([
      [0, 2],
      [3, 4],
      [6, 7],
    ]);
    fc.assert(
      fc.property(fc.array(fc.boolean()), (bits) => {
        const runs = maskRuns(Uint8Array.from(bits, Number));
        const back = new Array<boolean>(bits.length).fill(false);
        for (const [s, e] of runs) for (let i = s; i < e; i++) back[i] = true;
        expect(back).toEqual(bits);
      }),
    );
  });
});
