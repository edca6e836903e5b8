/**
 * Rows a filtered plan expects at each stage: row groups kept (statistics, bloom filters), pages kept
 * (page index), and an estimate of the matching rows. Pure; from the metadata only.
 *
 * The estimate assumes values spread uniformly between a chunk's min and max (and `distinct_count`
 * distinct values when the writer gave it, else one per integer of the range, else all distinct):
 * the classic System R selectivities. It is a guide for cost decisions and for people, never a
 * bound: skewed data can have many more or fewer matches.
 */
import type { FileMetaData, RowGroup } from 'hyparquet';
import type { ColumnFilter, RowGroupFilter, Value } from './filter.js';
import type { RowRanges } from './page-index.js';

export interface RowStages {
  /** Rows in the selected row groups, before the filter. */
  selected: number;
  /** Rows in the row groups that min/max statistics and bloom filters keep. */
  rowGroups: number;
  /** Rows in the pages that may match (the row groups' rows without a loaded page index). */
  pages: number;
  /** Estimated matching rows (uniform values between min and max; see the module comment). */
  estimate: number;
}

function num(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  return undefined;
}

/** Share of a column chunk's rows estimated to satisfy all of `fs` (column filters on one column, ANDed). */
function columnSelectivity(fs: readonly ColumnFilter[], rg: RowGroup): number {
  const column = fs[0]?.column;
  const chunk = rg.columns.find((c) => c.meta_data?.path_in_schema.join('.') === column);
  const st = chunk?.meta_data?.statistics;
  const rows = Number(rg.num_rows);
  if (!st || rows === 0) return 1;
  const nonNull = st.null_count === undefined ? 1 : Math.max(0, 1 - Number(st.null_count) / rows);
  const min = num(st.min_value ?? st.min);
  const max = num(st.max_value ?? st.max);
  const integral = typeof (st.min_value ?? st.min) === 'bigint' || (Number.isInteger(min) && Number.isInteger(max));
  const ndv = st.distinct_count !== undefined && st.distinct_count > 0n ? Number(st.distinct_count) : min !== undefined && max !== undefined && integral ? max - min + 1 : rows;
  let s = 1;
  const eq = fs.find((f) => f.eq !== undefined || f.in !== undefined);
  const points = eq?.eq !== undefined ? 1 : (eq?.in?.length ?? 0);
  if (points > 0) s = Math.min(1, points / Math.max(1, ndv));
  if (min !== undefined && max !== undefined && max > min) {
    const bounds = (vs: (Value | undefined)[], pick: (a: number, b: number) => number, start: number) =>
      vs.reduce<number>((acc, v) => {
        const n = num(v);
        return n === undefined ? acc : pick(acc, n);
      }, start);
    const lo = bounds(fs.flatMap((f) => [f.gt, f.gte]), Math.max, min);
    const hi = bounds(fs.flatMap((f) => [f.lt, f.lte]), Math.min, max);
    s *= Math.max(0, Math.min(1, (hi - lo) / (max - min)));
  }
  return s * nonNull;
}

function selectivity(filter: RowGroupFilter, rg: RowGroup): number {
  if ('or' in filter) return 1 - filter.or.reduce((acc, f) => acc * (1 - selectivity(f, rg)), 1);
  if (!('and' in filter)) return columnSelectivity([filter], rg);
  // Bounds on one column narrow one range (`id >= 10 AND id < 20`), they are not independent events.
  const byColumn = new Map<string, ColumnFilter[]>();
  let rest = 1;
  for (const f of filter.and) {
    if ('and' in f || 'or' in f) rest *= selectivity(f, rg);
    else byColumn.set(f.column, [...(byColumn.get(f.column) ?? []), f]);
  }
  return [...byColumn.values()].reduce((acc, fs) => acc * columnSelectivity(fs, rg), rest);
}

/** The row counts of each stage of a filtered plan. */
export function expectedRows(
  metadata: FileMetaData,
  filter: RowGroupFilter | undefined,
  selected: readonly number[],
  statsKept: readonly number[],
  kept: readonly number[],
  rowRanges: readonly { rowGroup: number; rows: RowRanges }[] | undefined,
): RowStages {
  const rowsOf = (g: number) => Number(metadata.row_groups[g]?.num_rows ?? 0);
  const sum = (gs: readonly number[]) => gs.reduce((n, g) => n + rowsOf(g), 0);
  let pages = 0;
  let estimate = 0;
  for (const g of kept) {
    const ranges = rowRanges?.find((r) => r.rowGroup === g)?.rows;
    const rows = ranges ? ranges.reduce((n, [s, e]) => n + e - s, 0) : rowsOf(g);
    pages += rows;
    const rg = metadata.row_groups[g];
    // The matches lie in the kept pages: the group's estimate, but never more than those rows.
    estimate += rg && filter ? Math.min(rows, rowsOf(g) * selectivity(filter, rg)) : rows;
  }
  return { selected: sum(selected), rowGroups: sum(statsKept), pages, estimate: Math.round(estimate) };
}
