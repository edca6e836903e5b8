/**
 * The read planner: from a file's layout and a selection (columns, row groups, filter) to the exact
 * requests that will be made. Pure data in, pure data out: a plan can be inspected (and tested)
 * before any I/O. Its requests come from the BufferReader's own wave planner (`planWave`) with the
 * reader's caps, so `plan.requests` is the list `prefetch(plan)` sends.
 */
import type { FileMetaData } from 'hyparquet';
import { mapRequests, unionRanges, type PlannedRequest } from '../buffer-reader/coalesce.js';
import { DEFAULT_BYTES_PER_SECOND, DEFAULT_TTFB_MS, gapFor, maxRangeSizeFor } from '../buffer-reader/cost-model.js';
import { planWave } from '../buffer-reader/wave.js';
import { DEFAULT_CONCURRENCY } from '../connections.js';
import { ReaderError } from '../errors.js';
import type { ResolvedRange } from '../types.js';
import { bloomMayMatch, type BloomIndex } from './bloom.js';
import { rowGroupMayMatch, validateFilter, type RowGroupFilter } from './filter.js';
import { schemaOf, type ColumnChunkRange } from './metadata.js';
import { chunkRangesForRows, matchingRows, type PageIndex, type RowRanges } from './page-index.js';
import { checkFilter, toPruningFilter, type ReadFilter } from './row-filter.js';
import { expectedRows, type RowStages } from './row-estimate.js';

/** Parallel requests per wave when the plan is not told: the BufferReader's default, which executes it. */
export const DEFAULT_PLAN_CONCURRENCY = DEFAULT_CONCURRENCY;

/** S3 Standard GET price: $0.0004 per 1,000 requests (us-east-1). Transfer within a region is free. */
export const S3_GET_PRICE_USD = 0.0004 / 1000;

export interface PlanSelection {
  /** Columns to read: leaf paths (`a`, `s.x`) or a parent, which selects its leaves. Default: all. */
  columns?: readonly string[];
  /** Row group indices. Default: all. */
  rowGroups?: readonly number[];
  /**
   * Prune row groups whose min/max statistics (or bloom filters, for `eq`/`in`) cannot match, and
   * pages with a loaded page index; the read methods then keep only the matching rows. Our syntax
   * (`{ column, eq|gt|gte|lt|lte|in }`, `and`/`or`) or hyparquet's Mongo-style one.
   */
  filter?: ReadFilter;
  /**
   * With a filter and a loaded page index, plan only the pages that may match (default true). Set
   * false for decoders that read whole column chunks (parquet-wasm), or they fetch the rest anyway;
   * row groups none of whose pages may match are pruned either way.
   */
  pages?: boolean;
  /** Also fetch the page index region (parquet-wasm reads it), in the same wave. */
  pageIndex?: boolean;
  /**
   * The decoder reads the leading `PAR1` when it holds the whole object (parquet-wasm's synchronous
   * reader in `readTable`): when the plan then covers every other byte, the 4 bytes ride along in
   * the first request (touching it). Never a request of its own; default false.
   */
  leadingMagic?: boolean;
}

/** Bytes of the `PAR1` magic at the start of every Parquet file. */
const LEADING_MAGIC = 4;

/** The reader's caps and cost-model figures a plan is made with (default: the reader's defaults). */
export interface PlanOptions {
  /** Merge gap. Default: the model's TTFB × bandwidth. */
  gap?: number;
  /** Largest request. Default: the model's. */
  maxRangeSize?: number;
  concurrency?: number;
  /** The reader's memory budget: requests are capped at min(maxRangeSize, maxMemory). */
  maxMemory?: number;
  /** The cost model's first-byte estimate the caps came from (recorded in the plan). */
  ttfbMs?: number;
  /** The cost model's bandwidth estimate the caps came from (recorded in the plan). */
  bytesPerSecond?: number;
}

/** The figures a plan assumed: compare two plans (before and after the model learned) to explain a difference. */
export interface PlanModel {
  ttfbMs: number;
  bytesPerSecond: number;
  gap: number;
  maxRangeSize: number;
  concurrency: number;
  maxMemory?: number;
}

export interface ParquetLayout {
  metadata: FileMetaData;
  size: number;
  /** Every column chunk, by row group. */
  chunks: readonly (readonly ColumnChunkRange[])[];
  /** Row groups (default: `chunks.length`). */
  rowGroupCount?: number;
  /**
   * The chunks of some columns in a row group (default: those of `chunks[rowGroup]`): a layout that
   * reads its chunks on first use (an open's) reads only these.
   */
  chunksOf?(rowGroup: number, columns: ReadonlySet<string>): readonly ColumnChunkRange[];
  /** Leaf column paths in schema order. */
  columns: readonly string[];
  /** Bytes already held (the tail window of the open): chunks inside it need no request. */
  held?: ResolvedRange;
  /** The parsed page index, when loaded: filters then prune pages too. */
  pages?: PageIndex;
  /** Parsed bloom filters, when loaded: `eq`/`in` filters then prune row groups by them too. */
  blooms?: BloomIndex;
  /** Where the page index lives (for `pageIndex: true` selections). */
  pageIndexRange?: ResolvedRange;
}

export interface ReadPlan {
  columns: string[];
  rowGroups: number[];
  /** Row groups the filter pruned (by row group statistics, bloom filters, or page statistics). */
  prunedRowGroups: number[];
  /** Of those, the row groups only their bloom filters ruled out. */
  bloomPrunedRowGroups: number[];
  /**
   * With a filter and a loaded page index: for each planned row group, the rows (relative to the
   * group) whose pages may match. Only these pages are fetched unless `pages: false`.
   */
  rowRanges?: { rowGroup: number; rows: RowRanges }[];
  /** With a filter: rows left after each stage (row groups, pages) and an estimate of the matches. */
  rowsExpected?: RowStages;
  /** The column chunks to read, in file order. */
  chunks: ColumnChunkRange[];
  /** The byte ranges to fetch (the chunks minus what is already held), before coalescing. */
  ranges: ResolvedRange[];
  /** The requests after coalescing and splitting. */
  requests: PlannedRequest[];
  bytesNeeded: number;
  bytesToFetch: number;
  /** Bytes the plan needs that are already held (no request). */
  bytesHeld: number;
  requestCount: number;
  /** Waves of parallel requests for the data (0 when everything is held). */
  roundTrips: number;
  /** What the data requests cost on S3 Standard. */
  s3CostUsd: number;
  /** The cost-model figures and caps the plan assumed. */
  model: PlanModel;
}

function selectColumns(all: readonly string[], wanted: readonly string[] | undefined): string[] {
  if (wanted === undefined) return [...all];
  // One pass over the file's columns per wanted name, with no string or array made per column (a
  // wide file has hundreds; this runs between the open's answer and the data request).
  const out = new Set<string>();
  for (const w of wanted) {
    const prefix = `${w}.`;
    let hit = false;
    for (const c of all) {
      if (c === w || c.startsWith(prefix)) {
        out.add(c);
        hit = true;
      }
    }
    if (!hit) {
      throw new ReaderError('InvalidInput', `no column ${JSON.stringify(w)} in the file (columns: ${all.join(', ')})`, { op: 'plan' }, { code: 'COLUMN_NOT_FOUND' });
    }
  }
  return all.filter((c) => out.has(c));
}

/** `range` minus `held`: the parts still to fetch (0, 1 or 2 pieces). */
function subtract(range: ResolvedRange, held: ResolvedRange | undefined): ResolvedRange[] {
  if (!held) return [range];
  const a = range.offset;
  const b = range.offset + range.length;
  const h0 = held.offset;
  const h1 = held.offset + held.length;
  if (h1 <= a || h0 >= b) return [range];
  const out: ResolvedRange[] = [];
  if (a < h0) out.push({ offset: a, length: h0 - a });
  if (h1 < b) out.push({ offset: h1, length: b - h1 });
  return out;
}

/** Plans a read. Throws `InvalidInput` for unknown columns, row groups out of range or a bad filter. */
export function planRead(layout: ParquetLayout, selection: PlanSelection = {}, options: PlanOptions = {}): ReadPlan {
  const ttfbMs = options.ttfbMs ?? DEFAULT_TTFB_MS;
  const bytesPerSecond = options.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND;
  const gap = options.gap ?? gapFor(ttfbMs, bytesPerSecond);
  const maxRangeSize = options.maxRangeSize ?? maxRangeSizeFor(gap);
  const concurrency = options.concurrency ?? DEFAULT_PLAN_CONCURRENCY;
  if (!Number.isSafeInteger(concurrency) || concurrency < 1) throw new ReaderError('InvalidInput', 'concurrency must be an integer >= 1', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  const model: PlanModel = { ttfbMs, bytesPerSecond, gap, maxRangeSize, concurrency, ...(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory }) };
  const columns = selectColumns(layout.columns, selection.columns);
  const groupCount = layout.rowGroupCount ?? layout.chunks.length; // no need to touch the full metadata
  let rowGroups: number[];
  if (selection.rowGroups === undefined) rowGroups = Array.from({ length: groupCount }, (_, i) => i);
  else {
    for (const g of selection.rowGroups) {
      if (!Number.isSafeInteger(g) || g < 0 || g >= groupCount) {
        throw new ReaderError('InvalidInput', `row group ${g} does not exist (the file has ${groupCount})`, { op: 'plan' }, { code: 'ROW_GROUP_NOT_FOUND' });
      }
    }
    rowGroups = [...new Set(selection.rowGroups)].sort((a, b) => a - b);
  }
  const prunedRowGroups: number[] = [];
  const bloomPrunedRowGroups: number[] = [];
  const selectedRowGroups = rowGroups;
  let filter: RowGroupFilter | undefined;
  if (selection.filter) {
    // Only a filter needs the full metadata (statistics, the schema it converts by): a plan without one never parses it.
    checkFilter(selection.filter, schemaOf(layout.metadata));
    filter = toPruningFilter(selection.filter, layout.columns);
    if (filter) validateFilter(filter, layout.columns);
  }
  if (filter) {
    const f = filter;
    const tree = schemaOf(layout.metadata);
    rowGroups = rowGroups.filter((g) => {
      let keep = rowGroupMayMatch(f, layout.metadata.row_groups[g] as FileMetaData['row_groups'][number]);
      if (keep && !bloomMayMatch(f, layout.blooms?.[g], tree)) {
        keep = false;
        bloomPrunedRowGroups.push(g);
      }
      if (!keep) prunedRowGroups.push(g);
      return keep;
    });
  }
  const statsKept = rowGroups;
  let rowRanges: { rowGroup: number; rows: RowRanges }[] | undefined;
  if (filter && layout.pages) {
    const f = filter;
    const pages = layout.pages;
    rowRanges = [];
    rowGroups = rowGroups.filter((g) => {
      const rows = matchingRows(f, layout.metadata.row_groups[g] as FileMetaData['row_groups'][number], pages[g] ?? []);
      if (rows.length === 0) prunedRowGroups.push(g);
      else rowRanges?.push({ rowGroup: g, rows });
      return rows.length > 0;
    });
    prunedRowGroups.sort((a, b) => a - b);
  }
  const wanted = new Set(columns);
  const chunks = rowGroups.flatMap((g) => (layout.chunksOf ? layout.chunksOf(g, wanted) : (layout.chunks[g] ?? []).filter((c) => wanted.has(c.column)))).sort((a, b) => a.offset - b.offset);
  // What the plan needs: whole chunks, or with page pruning the pages of the matching rows.
  const needed = rowRanges && selection.pages !== false
    ? chunks.flatMap((c) => {
        const group = layout.chunks[c.rowGroup] ?? [];
        const rows = rowRanges?.find((r) => r.rowGroup === c.rowGroup)?.rows ?? [];
        const numRows = Number(layout.metadata.row_groups[c.rowGroup]?.num_rows ?? 0);
        return chunkRangesForRows(c, layout.pages?.[c.rowGroup]?.[group.indexOf(c)], rows, numRows);
      })
    : chunks.filter((c) => c.length > 0).map((c) => ({ offset: c.offset, length: c.length })); // 0-byte chunks: nothing to fetch
  const toRead = selection.pageIndex && layout.pageIndexRange ? [...needed, layout.pageIndexRange] : needed;
  const ranges = toRead.flatMap((r) => subtract(r, layout.held)).filter((r) => r.length > 0).sort((a, b) => a.offset - b.offset);
  // The reader's own wave planner, with its caps and what it holds: the requests prefetch sends.
  const held = layout.held ? [layout.held] : [];
  let wave = planWave(ranges, held, model);
  if (selection.leadingMagic && layout.size > LEADING_MAGIC) {
    // Covered as sent (merged requests span the holes between chunks), not as asked.
    const covered = unionRanges([...wave.requests, ...held]);
    const only = covered[0];
    // Everything but the first bytes (the magic, or part of it when a window held the rest of it).
    if (covered.length === 1 && only && only.offset > 0 && only.offset <= LEADING_MAGIC && only.offset + only.length === layout.size) {
      ranges.unshift({ offset: 0, length: only.offset });
      wave = planWave(ranges, held, model);
    }
  }
  const plan = mapRequests(ranges, wave.requests);
  const bytesNeeded = unionRanges(needed).reduce((n, r) => n + r.length, 0);
  const bytesHeld = bytesNeeded - unionRanges(needed.flatMap((r) => subtract(r, layout.held))).reduce((n, r) => n + r.length, 0);
  const requestCount = plan.requests.length;
  return {
    columns,
    rowGroups,
    prunedRowGroups,
    bloomPrunedRowGroups,
    ...(rowRanges ? { rowRanges } : {}),
    ...(selection.filter ? { rowsExpected: expectedRows(layout.metadata, filter, selectedRowGroups, statsKept, rowGroups, rowRanges) } : {}),
    chunks,
    ranges,
    requests: plan.requests,
    bytesNeeded,
    bytesToFetch: plan.bytesFetched,
    bytesHeld,
    requestCount,
    roundTrips: Math.ceil(requestCount / concurrency),
    s3CostUsd: requestCount * S3_GET_PRICE_USD,
    model,
  };
}
