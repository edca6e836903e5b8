/**
 * Row-group pruning by min/max statistics: pure, no I/O. A filter is kept only when a row group
 * *may* hold matching rows; missing or unusable statistics always keep the group (never a wrong
 * answer, only a missed saving).
 */
import type { ColumnChunk, RowGroup, Statistics } from 'hyparquet';

type MinMaxType = NonNullable<Statistics['min_value']>;
import { ReaderError } from '../errors.js';

/** A value a column filter compares with. */
export type Value = number | bigint | string | boolean | Date;

/** A comparison on one column (leaf path joined with '.'); several bounds in one object are ANDed. */
export interface ColumnFilter {
  column: string;
  eq?: Value;
  gt?: Value;
  gte?: Value;
  lt?: Value;
  lte?: Value;
  in?: readonly Value[];
}
export type RowGroupFilter = ColumnFilter | { and: readonly RowGroupFilter[] } | { or: readonly RowGroupFilter[] };

type Cmp = -1 | 0 | 1;

/** Compares two statistic values of compatible types; undefined when they cannot be compared. */
function compare(a: MinMaxType | Value, b: MinMaxType | Value): Cmp | undefined {
  const norm = (v: MinMaxType | Value): number | bigint | string | boolean | undefined => {
    if (v instanceof Date) return v.getTime();
    if (v instanceof Uint8Array) return undefined; // raw bytes: ordering depends on the logical type
    return v;
  };
  let x = norm(a);
  let y = norm(b);
  if (x === undefined || y === undefined) return undefined;
  if (typeof x === 'bigint' && typeof y === 'number') {
    if (!Number.isInteger(y)) return Number(x) < y ? -1 : Number(x) > y ? 1 : 0;
    y = BigInt(y);
  } else if (typeof x === 'number' && typeof y === 'bigint') {
    if (!Number.isInteger(x)) return x < Number(y) ? -1 : x > Number(y) ? 1 : 0;
    x = BigInt(x);
  }
  if (typeof x !== typeof y) return undefined;
  if (typeof x === 'number' && (Number.isNaN(x) || Number.isNaN(y as number))) return undefined;
  // Statistics order strings by UTF-8 bytes (code points), JS by UTF-16 code units: the two differ
  // once a surrogate pair (or U+E000 and above) is involved, and then they cannot be compared.
  if (typeof x === 'string' && (UTF16_ORDER_DIFFERS.test(x) || UTF16_ORDER_DIFFERS.test(y as string))) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** Code units from U+D800 on: where UTF-16 order and code point order part. */
const UTF16_ORDER_DIFFERS = /[\uD800-\uFFFF]/;

/** A page's or chunk's statistics. */
export interface MinMax {
  min: MinMaxType;
  max: MinMaxType;
}

function statsOf(chunk: ColumnChunk | undefined): MinMax | undefined {
  const st = chunk?.meta_data?.statistics;
  if (!st) return undefined;
  const min = st.min_value ?? st.min;
  const max = st.max_value ?? st.max;
  if (min === undefined || max === undefined) return undefined;
  return { min, max };
}

/** May some value v with min ≤ v ≤ max satisfy the comparison? */
export function mayMatch(f: ColumnFilter, s: MinMax): boolean {
  const lt = (a: MinMaxType | Value, b: MinMaxType | Value) => compare(a, b) === -1;
  const le = (a: MinMaxType | Value, b: MinMaxType | Value) => {
    const c = compare(a, b);
    return c === undefined ? undefined : c <= 0;
  };
  const checks: (boolean | undefined)[] = [];
  if (f.eq !== undefined) checks.push(rangeHolds(f.eq, s));
  if (f.in !== undefined) checks.push(f.in.length === 0 ? false : f.in.some((v) => rangeHolds(v, s) !== false));
  if (f.gt !== undefined) checks.push(compare(s.max, f.gt) === undefined ? undefined : lt(f.gt, s.max));
  if (f.gte !== undefined) checks.push(le(f.gte, s.max));
  if (f.lt !== undefined) checks.push(compare(s.min, f.lt) === undefined ? undefined : lt(s.min, f.lt));
  if (f.lte !== undefined) checks.push(le(s.min, f.lte));
  return checks.every((c) => c !== false);
}

function rangeHolds(v: Value, s: MinMax): boolean | undefined {
  const a = compare(s.min, v);
  const b = compare(v, s.max);
  if (a === undefined || b === undefined) return undefined;
  return a <= 0 && b <= 0;
}

/** Checks a filter's shape against the file's columns; unknown columns are an InvalidInput error. */
export function validateFilter(filter: RowGroupFilter, columns: readonly string[]): void {
  if ('and' in filter || 'or' in filter) {
    const parts = 'and' in filter ? filter.and : filter.or;
    if (!Array.isArray(parts)) throw new ReaderError('InvalidInput', 'filter and/or needs an array', {}, { code: 'INVALID_ARGUMENT' });
    parts.forEach((p) => validateFilter(p, columns));
    return;
  }
  if (typeof filter.column !== 'string' || !columns.includes(filter.column)) {
    throw new ReaderError('InvalidInput', `filter column ${JSON.stringify(filter.column)} is not a column of the file (${columns.join(', ')})`, {}, { code: 'COLUMN_NOT_FOUND' });
  }
  const ops = ['eq', 'gt', 'gte', 'lt', 'lte', 'in'] as const;
  if (!ops.some((op) => filter[op] !== undefined)) {
    throw new ReaderError('InvalidInput', `filter on ${filter.column} has no comparison (eq, gt, gte, lt, lte, in)`, {}, { code: 'INVALID_ARGUMENT' });
  }
}

/** Whether a row group may contain rows matching `filter` (true when the statistics cannot tell). */
export function rowGroupMayMatch(filter: RowGroupFilter, rowGroup: RowGroup): boolean {
  if ('and' in filter) return filter.and.every((f) => rowGroupMayMatch(f, rowGroup));
  if ('or' in filter) return filter.or.some((f) => rowGroupMayMatch(f, rowGroup));
  const chunk = rowGroup.columns.find((c) => c.meta_data?.path_in_schema.join('.') === filter.column);
  const stats = statsOf(chunk);
  if (!stats) return true;
  return mayMatch(filter, stats);
}
