/**
 * Reads that return only the matching rows. Row groups → pages → rows:
 * 1. the planner prunes row groups by min/max statistics and bloom filters, then pages by the page
 *    index (`prepareRowFilter` loads both first when the open's tail window already holds them: no
 *    request);
 * 2. the plan's bytes are fetched in one wave;
 * 3. rows are tested with the filter translated once by `toQueryFilter`: hyparquet decodes the
 *    candidate rows itself and tests each with its `matchFilter` (`readFilteredObjects`), or the
 *    Arrow record batches parquet-wasm decoded are tested column-wise (`filterMask` over the filter
 *    columns read as the JS values hyparquet decodes to, `keepMatching`), with `matchFilter`'s rules.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { parquetReadObjects, type ParquetQueryFilter, type SchemaTree } from 'hyparquet';
import { plainColumn } from './arrow-columns.js';
import { filterMask, maskRuns } from './filter-mask.js';
import { hyparquetError, toAsyncBuffer } from '../adapters/hyparquet.js';
import { keepRuns } from './arrow-take.js';
import type { ErrorContext } from '../errors.js';
import type { ReadPlan } from './planner.js';
import { checkFilter, filterFields, toQueryFilter, type ReadFilter } from './row-filter.js';
import type { BoundFile } from './bound-file.js';
import type { ReadObjectsOptions } from './source.js';

/**
 * The page index rides along with a filtered `readObjects` wave when it adds at most this share to
 * the wave's bytes: hyparquet then decodes only the pages that may match. It costs no round trip,
 * only bytes, so the bound caps the extra transfer at 12.5 %. A chosen bound, not a measured
 * optimum: a page index is usually a few percent of the chunks it describes, so it rarely binds.
 */
export const PAGE_INDEX_RIDE_ALONG_SHARE = 1 / 8;

/** A filter prepared for one read: hyparquet's form, and the top-level fields it reads. */
export interface RowFilter {
  query: ParquetQueryFilter;
  fields: string[];
}

function within(range: { offset: number; length: number }, held: { offset: number; length: number }): boolean {
  return range.offset >= held.offset && range.offset + range.length <= held.offset + held.length;
}

/**
 * What `loadHeldIndexes` needs of an open file: a `BoundFile` (one version), or a `ParquetSource`
 * (its current version; it forwards these to its `BoundFile`).
 */
export type IndexHolder = Pick<BoundFile, 'pages' | 'pageIndex' | 'held' | 'blooms' | 'bloomFilterRanges' | 'loadPageIndex' | 'loadBloomFilters'>;

/**
 * Loads what prunes for free: the page index and the bloom filters, when the open's tail window
 * holds them (no request). `source.plan()` then prunes pages and by bloom filters too.
 */
export async function loadHeldIndexes(source: IndexHolder): Promise<void> {
  if (!source.pages && source.pageIndex && within(source.pageIndex, source.held)) await source.loadPageIndex();
  if (!source.blooms && source.bloomFilterRanges.length > 0 && source.bloomFilterRanges.every((r) => within(r, source.held))) await source.loadBloomFilters();
}

/** Checks the filter, loads what prunes for free (`loadHeldIndexes`) and translates the filter once. */
/** What preparing a row filter reads of an open file (a `BoundFile` is one). */
export type FilterSource = IndexHolder & Pick<BoundFile, 'schema'>;

export async function prepareRowFilter(source: FilterSource, filter: ReadFilter): Promise<RowFilter> {
  checkFilter(filter, source.schema);
  await loadHeldIndexes(source);
  return { query: toQueryFilter(filter, source.schema), fields: filterFields(filter) };
}

/** The row groups overlapping the physical rows `[rowStart, rowEnd)` (an empty row group overlaps none). */
export function rowGroupsIn(source: Pick<BoundFile, 'rowGroups'>, rowStart = 0, rowEnd = Infinity): number[] {
  let first = 0;
  return source.rowGroups
    .filter((rg) => {
      const lo = first;
      first += rg.numRows;
      return rg.numRows > 0 && lo < rowEnd && first > rowStart;
    })
    .map((rg) => rg.index);
}

/** The plan's candidate rows as absolute `[start, end)` runs within `[rowStart, rowEnd)`, adjacent runs merged. */
export function candidateRuns(source: Pick<BoundFile, 'rowGroups'>, plan: ReadPlan, rowStart = 0, rowEnd = Infinity): [number, number][] {
  const starts: number[] = [];
  let at = 0;
  for (const g of source.rowGroups) {
    starts.push(at);
    at += g.numRows;
  }
  const out: [number, number][] = [];
  for (const g of plan.rowGroups) {
    const base = starts[g] as number;
    const rows = plan.rowRanges?.find((r) => r.rowGroup === g)?.rows ?? [[0, source.rowGroups[g]?.numRows ?? 0]];
    for (const [s, e] of rows) {
      const lo = Math.max(base + s, rowStart);
      const hi = Math.min(base + e, rowEnd);
      if (lo >= hi) continue;
      const last = out.at(-1);
      if (last && last[1] === lo) last[1] = hi;
      else out.push([lo, hi]);
    }
  }
  return out;
}

/** The columns to read: those asked for plus the filter's top-level fields (undefined: all columns). */
export function withFilterFields(columns: readonly string[] | undefined, filter: RowFilter | undefined): string[] | undefined {
  if (!columns) return undefined;
  return [...new Set([...columns, ...(filter?.fields ?? [])])];
}

/**
 * `readObjects({ filter })`: plan (pruned to row groups, then pages), fetch in one wave (the page
 * index along when it is small), then hyparquet decodes each run of candidate rows and keeps the
 * rows its `matchFilter` accepts. `rowStart`/`rowEnd` select physical rows before the filter, as in
 * hyparquet.
 */
export async function readFilteredObjects(source: BoundFile, opts: ReadObjectsOptions & { filter: ReadFilter }): Promise<Record<string, unknown>[]> {
  const context: ErrorContext = { backend: source.backend.kind, path: source.path };
  const filter = await prepareRowFilter(source, opts.filter);
  const columns = withFilterFields(opts.columns, filter);
  const selection = { ...(columns ? { columns } : {}), rowGroups: rowGroupsIn(source, opts.rowStart, opts.rowEnd), filter: opts.filter };
  let plan = source.plan(selection);
  const rideAlong = !source.pages && source.pageIndex !== undefined && source.pageIndex.length <= plan.bytesToFetch * PAGE_INDEX_RIDE_ALONG_SHARE;
  await source.prefetch(plan, { pageIndex: rideAlong });
  if (rideAlong) {
    await source.loadPageIndex(); // from the buffer: fetched with the wave
    plan = source.plan({ ...selection, pages: false }); // the same bytes; now with the candidate pages
  }
  const useOffsetIndex = source.pages !== undefined;
  const rows: Record<string, unknown>[] = [];
  try {
    for (const [rowStart, rowEnd] of candidateRuns(source, plan, opts.rowStart ?? 0, opts.rowEnd ?? Infinity)) {
      const part = await parquetReadObjects({ ...opts, filter: filter.query, rowStart, rowEnd, useOffsetIndex, file: toAsyncBuffer(source.reader, source.size), metadata: source.metadata });
      for (const row of part) rows.push(row);
    }
  } catch (err) {
    throw hyparquetError(err, context);
  }
  return rows;
}

/**
 * The rows of an Arrow table that match the filter: each record batch's mask computed column-wise
 * (`filterMask` over the filter columns read as hyparquet's values, `plainColumn`), so the Arrow
 * paths keep exactly the rows `readObjects` keeps; then zero-copy slices of the batch for a few runs
 * of consecutive matching rows, a compact copy for scattered ones (`keepRuns`).
 */
export async function keepMatching(table: Table, tree: SchemaTree, filter: RowFilter, context: ErrorContext = {}): Promise<Table> {
  const arrow = await import('apache-arrow');
  const out: RecordBatch[] = [];
  for (const batch of table.batches) {
    const mask = filterMask(filter.query, batch.numRows, (path) => plainColumn(arrow, batch, tree, path, context));
    out.push(...keepRuns(arrow, batch, maskRuns(mask)));
  }
  return new arrow.Table(table.schema, out);
}

/** The matching rows of a decoded table, then only the top-level `fields` asked for (all when undefined). */
export async function onlyMatching(table: Table, tree: SchemaTree, filter: RowFilter, fields: readonly string[] | undefined, context: ErrorContext = {}): Promise<Table> {
  const kept = await keepMatching(table, tree, filter, context);
  return fields && kept.schema.fields.length !== fields.length ? kept.select([...fields]) : kept;
}
