/**
 * A Parquet file for filter tests, written by hyparquet-writer: `id` sorted (so statistics and the
 * page index prune), the other columns spread, small pages (many per chunk), a column index and
 * bloom filters where asked. And the reference a filtered read must equal: every row decoded by
 * hyparquet from local bytes with no filter, then filtered in plain JS.
 */
import { parquetReadObjects } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';
import type { ColumnFilter, RowGroupFilter, Value } from '../../src/parquet/filter.js';
import { prng } from './data.js';

export const FILTER_ROWS = 12_000;
export const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel'];
export const T0 = Date.UTC(2024, 0, 1);

export interface FixtureOptions {
  /** Write column indexes (the page index's min/max): default true. */
  columnIndex?: boolean;
  bloomFilter?: boolean;
  rowGroupSize?: number;
}

/** Columns: id INT64 (sorted), k INT32 (0..999, spread), word STRING (8 values, nullable), ts TIMESTAMP (sorted), price DOUBLE (nulls). */
export function writeFilterFixture(opts: FixtureOptions = {}): Uint8Array {
  const rand = prng(7);
  const n = FILTER_ROWS;
  const columnIndex = opts.columnIndex ?? true;
  const bloomFilter = opts.bloomFilter ?? false;
  const buf = parquetWriteBuffer({
    columnData: [
      { name: 'id', data: Array.from({ length: n }, (_, i) => BigInt(i)), type: 'INT64', nullable: false, columnIndex, bloomFilter },
      { name: 'k', data: Array.from({ length: n }, () => Math.floor(rand() * 1000)), type: 'INT32', nullable: false, columnIndex, bloomFilter },
      { name: 'word', data: Array.from({ length: n }, (_, i) => (i % 13 === 0 ? null : (WORDS[Math.floor(rand() * WORDS.length)] as string))), type: 'STRING', columnIndex, bloomFilter },
      { name: 'ts', data: Array.from({ length: n }, (_, i) => new Date(T0 + i * 60_000)), type: 'TIMESTAMP', nullable: false, columnIndex },
      { name: 'price', data: Array.from({ length: n }, (_, i) => (i % 7 === 0 ? null : Math.round(rand() * 10_000) / 100)), type: 'DOUBLE', columnIndex },
    ],
    rowGroupSize: opts.rowGroupSize ?? 3_000,
    pageSize: 1_024,
  });
  return new Uint8Array(buf);
}

/** Every row, decoded by hyparquet from the bytes, no filter. */
export async function allRows(bytes: Uint8Array, columns?: string[]): Promise<Record<string, unknown>[]> {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  return parquetReadObjects({ file, ...(columns ? { columns } : {}) });
}

/** Plain JS order of a row value against a filter value: numbers and bigints exactly, dates by time (a number as epoch ms), strings as JS does; undefined when incomparable. */
function order(actual: unknown, target: Value): number | undefined {
  if (actual === null || actual === undefined) return undefined;
  if (target instanceof Date && !(actual instanceof Date)) return undefined; // a Date compares with dates only
  const a = actual instanceof Date ? actual.getTime() : actual;
  const b = target instanceof Date ? target.getTime() : target;
  const numeric = (v: unknown) => typeof v === 'number' || typeof v === 'bigint';
  if (numeric(a) && numeric(b)) {
    if (Number.isNaN(a) || Number.isNaN(b)) return undefined;
    return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
  }
  if (typeof a !== typeof b) return undefined;
  return (a as string) < (b as string) ? -1 : (a as string) > (b as string) ? 1 : 0;
}

function valueAt(row: Record<string, unknown>, path: string): unknown {
  let v: unknown = row;
  for (const seg of path.split('.')) v = v === null || v === undefined ? undefined : (v as Record<string, unknown>)[seg];
  return v;
}

/** Does a row satisfy our filter? (The reference: written apart from the library's evaluator.) */
export function rowMatches(row: Record<string, unknown>, f: RowGroupFilter): boolean {
  if ('and' in f) return f.and.every((g) => rowMatches(row, g));
  if ('or' in f) return f.or.some((g) => rowMatches(row, g));
  const c = f as ColumnFilter;
  const v = valueAt(row, c.column);
  const holds = (t: Value, ok: (o: number) => boolean) => {
    const o = order(v, t);
    return o !== undefined && ok(o);
  };
  if (c.eq !== undefined && !holds(c.eq, (o) => o === 0)) return false;
  if (c.gt !== undefined && !holds(c.gt, (o) => o > 0)) return false;
  if (c.gte !== undefined && !holds(c.gte, (o) => o >= 0)) return false;
  if (c.lt !== undefined && !holds(c.lt, (o) => o < 0)) return false;
  if (c.lte !== undefined && !holds(c.lte, (o) => o <= 0)) return false;
  if (c.in !== undefined && !c.in.some((t) => holds(t, (o) => o === 0))) return false;
  return true;
}
