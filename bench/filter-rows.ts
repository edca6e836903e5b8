/**
 * The row filter's cost on the Arrow paths (issue 14, item 4): the column-wise filter
 * (`keepMatching`: `filterMask` over whole columns, then `keepRuns`) against the per-row evaluator
 * the library used before (hyparquet's `matchFilter` on a record of each row's values, then the
 * same `keepRuns`), on the same decoded record batches in the same run, interleaved so both see
 * the same machine. The per-row side reads its values with the same column reader
 * (`plainColumn`), which is cheaper than the Arrow getters main used: the ratio is a lower bound.
 * Then end to end: `readTable({ filter })` against `readTable()` of the same row groups and columns
 * (the decode the filter adds to), over a memory backend.
 *
 *   npm run bench:filter              9 timed rounds per filter
 *   npm run bench:filter -- --check   5 rounds; exits 1 unless on every filter the column-wise mask
 *                                     beats the per-row one by COLUMNWISE_MIN_RATIO and mask + take
 *                                     (`keepMatching`) beats per-row + the same take
 *
 * Writes bench/results/filter-rows.json (git-ignored).
 */
import '../src/runtime-node.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import * as arrow from 'apache-arrow';
import type { RecordBatch, Table } from 'apache-arrow';
import { parquetMetadata, parquetSchema, type ParquetQueryFilter, type SchemaTree } from 'hyparquet';
import { matchFilter, pathsNeededForFilter } from 'hyparquet/src/filter.js';
import * as wasm from 'parquet-wasm';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { plainColumn, valueAt } from '../src/parquet/arrow-columns.js';
import { keepRuns } from '../src/parquet/arrow-take.js';
import type { RowGroupFilter } from '../src/parquet/filter.js';
import { keepMatching } from '../src/parquet/filtered-read.js';
import { filterMask, maskRuns, type Mask } from '../src/parquet/filter-mask.js';
import { toQueryFilter } from '../src/parquet/row-filter.js';
import { openParquet } from '../src/parquet/source.js';
import { FIXTURES, fixture } from './fixtures.js';

/**
 * --check fails unless the column-wise filter is at least this many times faster than per-row on
 * every filter. Measured 16–25× (the fastest of 5–9 rounds, 2 shared cores under load); 3 leaves room while still
 * catching a return to per-row work (a per-row fallback measures ≈ 1×).
 */
export const COLUMNWISE_MIN_RATIO = 3;

const { values: args } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const ROUNDS = args.check ? 5 : 9;
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'filter-rows.json');
const ROWS_PER_GROUP = 130_000;
const T0 = 1_700_000_000_000; // the fixture's first timestamp (mixedColumn: one per second by row)

const FILTERS: { id: string; label: string; filter: RowGroupFilter }[] = [
  { id: 'id-range', label: 'id in one row group (int64 range; big/filter)', filter: { column: 'id', gte: ROWS_PER_GROUP, lt: 2 * ROWS_PER_GROUP } },
  { id: 'double-half', label: 'price < 500 (double; half the rows, scattered)', filter: { column: 'price', lt: 500 } },
  { id: 'string-eq', label: "word = 'delta' (string equality; 1/12 scattered)", filter: { column: 'word', eq: 'delta' } },
  { id: 'string-range', label: "token > 'm' (string order)", filter: { column: 'token', gt: 'm' } },
  {
    id: 'mixed-or',
    label: 'ts in the last 10,000 s, or qty in 8 values, and flag (timestamp, int32 in, boolean)',
    filter: { and: [{ or: [{ column: 'ts', gte: new Date(T0 + (4 * ROWS_PER_GROUP - 10_000) * 1000) }, { column: 'qty', in: [1, 2, 3, 5, 8, 13, 21, 34] }] }, { column: 'flag', eq: true }] },
  },
];

/** The per-row evaluator's mask of one batch: each row's values in a record (nested for dotted paths), hyparquet's `matchFilter`. */
function perRowMask(batch: RecordBatch, tree: SchemaTree, query: ParquetQueryFilter): Mask {
  const paths = pathsNeededForFilter(query);
  const cols = paths.map((p) => plainColumn(arrow, batch, tree, p));
  const record: Record<string, unknown> = {};
  const holders = paths.map((p) => {
    let obj = record;
    for (const seg of p.split('.').slice(0, -1)) obj = (obj[seg] ??= {}) as Record<string, unknown>;
    return obj;
  });
  const leaves = paths.map((p) => p.split('.').at(-1) as string);
  const mask = new Uint8Array(batch.numRows);
  for (let i = 0; i < batch.numRows; i++) {
    for (let k = 0; k < paths.length; k++) (holders[k] as Record<string, unknown>)[leaves[k] as string] = valueAt(cols[k] as never, i);
    mask[i] = matchFilter(record, query, true) ? 1 : 0;
  }
  return mask;
}

/** The column-wise mask of one batch (what `keepMatching` computes before it keeps the rows). */
function columnwiseMask(batch: RecordBatch, tree: SchemaTree, query: ParquetQueryFilter): Mask {
  return filterMask(query, batch.numRows, (p) => plainColumn(arrow, batch, tree, p));
}

/** The per-row path: its mask, then the same `keepRuns` as `keepMatching`. */
function perRowKeep(table: Table, tree: SchemaTree, query: ParquetQueryFilter): Table {
  return new arrow.Table(table.schema, table.batches.flatMap((b) => keepRuns(arrow, b, maskRuns(perRowMask(b, tree, query)))));
}

function masks(table: Table, tree: SchemaTree, query: ParquetQueryFilter, mask: typeof perRowMask): number {
  let kept = 0;
  for (const b of table.batches) {
    const m = mask(b, tree, query);
    for (let i = 0; i < m.length; i++) kept += m[i] as number;
  }
  return kept;
}

/**
 * The fastest of the rounds: on a shared machine noise (other work, a collection of the previous
 * round's garbage) only adds time, so the minimum is the steadiest estimate of each side's cost;
 * the medians are in the JSON too.
 */
function best(xs: number[]): number {
  return Math.min(...xs);
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

async function timed<T>(f: () => Promise<T> | T): Promise<{ ms: number; value: T }> {
  const t0 = performance.now();
  const value = await f();
  return { ms: performance.now() - t0, value };
}

async function main(): Promise<void> {
  const bytes = await fixture(FIXTURES.filterRows);
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const tree = parquetSchema(parquetMetadata(file));
  const table = arrow.tableFromIPC(wasm.readParquet(bytes).intoIPCStream());
  const backend = memoryBackend({ 'f.parquet': bytes });
  const source = await openParquet(backend, 'f.parquet', { metadataCache: false });
  console.log(`${FIXTURES.filterRows.file}: ${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB, ${table.numRows.toLocaleString('en-US')} rows in ${table.batches.length} batches, ${table.schema.fields.length} columns; ${ROUNDS} rounds, the fastest of each`);
  const rows = [];
  for (const f of FILTERS) {
    const query = toQueryFilter(f.filter, tree);
    const filter = { query, fields: [] };
    const columnwise: number[] = [];
    const perRow: number[] = [];
    const maskColumnwise: number[] = [];
    const maskPerRow: number[] = [];
    let kept = -1;
    for (let r = 0; r < ROUNDS + 1; r++) {
      const m1 = await timed(() => masks(table, tree, query, columnwiseMask));
      const m2 = await timed(() => masks(table, tree, query, perRowMask));
      const a = await timed(() => keepMatching(table, tree, filter));
      const b = await timed(() => perRowKeep(table, tree, query));
      if (a.value.numRows !== b.value.numRows || m1.value !== m2.value || m1.value !== a.value.numRows) {
        throw new Error(`${f.id}: column-wise kept ${a.value.numRows} rows (mask ${m1.value}), per-row ${b.value.numRows} (mask ${m2.value})`);
      }
      kept = a.value.numRows;
      if (r === 0) continue; // the first round warms both up
      maskColumnwise.push(m1.ms);
      maskPerRow.push(m2.ms);
      columnwise.push(a.ms);
      perRow.push(b.ms);
    }
    // End to end: the filtered read against the unfiltered read of the same row groups and columns.
    const plan = source.plan({ filter: f.filter });
    const e2eFiltered: number[] = [];
    const e2ePlain: number[] = [];
    for (let r = 0; r < Math.min(ROUNDS, 3) + 1; r++) {
      const a = await timed(() => source.readTable({ filter: f.filter }));
      const b = await timed(() => source.readTable({ rowGroups: plan.rowGroups }));
      if (a.value.numRows !== kept) throw new Error(`${f.id}: readTable kept ${a.value.numRows} rows, keepMatching ${kept}`);
      if (r === 0) continue;
      e2eFiltered.push(a.ms);
      e2ePlain.push(b.ms);
    }
    const row = {
      id: f.id,
      label: f.label,
      rows: table.numRows,
      kept,
      mask: {
        columnwiseMs: best(maskColumnwise),
        perRowMs: best(maskPerRow),
        ratio: best(maskPerRow) / best(maskColumnwise),
        nsPerRow: { columnwise: (best(maskColumnwise) * 1e6) / table.numRows, perRow: (best(maskPerRow) * 1e6) / table.numRows },
        medianMs: { columnwise: median(maskColumnwise), perRow: median(maskPerRow) },
      },
      columnwiseMs: best(columnwise),
      perRowMs: best(perRow),
      ratio: best(perRow) / best(columnwise),
      medianMs: { columnwise: median(columnwise), perRow: median(perRow) },
      readTable: { rowGroups: plan.rowGroups.length, filteredMs: best(e2eFiltered), unfilteredMs: best(e2ePlain), overFloor: best(e2eFiltered) / best(e2ePlain) },
    };
    rows.push(row);
    console.log(
      `  ${f.id.padEnd(13)} kept ${String(kept).padStart(7)}   mask: column-wise ${row.mask.columnwiseMs.toFixed(1).padStart(5)} ms (${row.mask.nsPerRow.columnwise.toFixed(0)} ns/row), per-row ${row.mask.perRowMs.toFixed(0).padStart(5)} ms (${row.mask.nsPerRow.perRow.toFixed(0)} ns/row): ${row.mask.ratio.toFixed(1)}×` +
        `   mask + take: ${row.columnwiseMs.toFixed(0)} vs ${row.perRowMs.toFixed(0)} ms: ${row.ratio.toFixed(1)}×` +
        `   readTable(filter) ${row.readTable.filteredMs.toFixed(0)} ms vs unfiltered ${row.readTable.unfilteredMs.toFixed(0)} ms of ${row.readTable.rowGroups} rg (${row.readTable.overFloor.toFixed(2)}×)`,
    );
  }
  await source.close();
  const slowMask = rows.filter((r) => r.mask.ratio < COLUMNWISE_MIN_RATIO);
  const slowKeep = rows.filter((r) => r.ratio <= 1);
  const ok = slowMask.length === 0 && slowKeep.length === 0;
  const min = (xs: number[]) => Math.min(...xs).toFixed(1);
  console.log(`${slowMask.length === 0 ? 'PASS' : 'FAIL'}  the column-wise mask is ≥ ${COLUMNWISE_MIN_RATIO}× faster than per-row on every filter: ${slowMask.length === 0 ? `min ${min(rows.map((r) => r.mask.ratio))}×` : slowMask.map((r) => `${r.id} ${r.mask.ratio.toFixed(1)}×`).join(', ')}`);
  console.log(`${slowKeep.length === 0 ? 'PASS' : 'FAIL'}  mask + take (keepMatching) is faster than per-row + the same take on every filter: ${slowKeep.length === 0 ? `min ${min(rows.map((r) => r.ratio))}×` : slowKeep.map((r) => `${r.id} ${r.ratio.toFixed(1)}×`).join(', ')}`);
  await mkdir(dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify({ when: new Date().toISOString(), file: FIXTURES.filterRows.file, rounds: ROUNDS, minRatio: COLUMNWISE_MIN_RATIO, ok, filters: rows }, null, 2)}\n`);
  console.log('wrote bench/results/filter-rows.json');
  if (args.check && !ok) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
