/**
 * Pruning a dataset: a filter (the language of src/parquet/filter.ts) is split per file into what
 * the partition values decide exactly and what is left for the file's statistics. Pure, no I/O.
 */
import { ReaderError } from '../errors.js';
import { mayMatch, validateFilter, type RowGroupFilter, type Value } from '../parquet/filter.js';
import type { PartitionSchema, PartitionType, PartitionValue } from './hive.js';

/**
 * `filter` with every comparison on a partition column replaced by its answer for `values`:
 * `true` (the file may hold matches and no condition is left), `false` (no row of the file can
 * match: skip it before its footer is fetched), or the filter left for the file's own columns.
 * A null partition value matches no comparison (as in SQL).
 */
export function bindPartitions(filter: RowGroupFilter, values: Readonly<Record<string, PartitionValue>>): RowGroupFilter | boolean {
  if ('and' in filter || 'or' in filter) {
    const isAnd = 'and' in filter;
    const parts = (isAnd ? filter.and : filter.or).map((f) => bindPartitions(f, values));
    if (isAnd ? parts.includes(false) : parts.includes(true)) return !isAnd;
    const left = parts.filter((p): p is RowGroupFilter => typeof p !== 'boolean');
    if (left.length === 0) return isAnd; // every part answered: true for and (none false), false for or (none true)
    if (left.length === 1) return left[0] as RowGroupFilter;
    return isAnd ? { and: left } : { or: left };
  }
  if (!Object.hasOwn(values, filter.column)) return filter;
  const v = values[filter.column] ?? null;
  if (v === null) return false;
  return mayMatch(filter, { min: v, max: v } as Parameters<typeof mayMatch>[1]);
}

const FITS: Record<PartitionType, (v: Value) => boolean> = {
  int: (v) => typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v)),
  date: (v) => v instanceof Date,
  string: (v) => typeof v === 'string',
};

/**
 * Checks a dataset filter: its columns must be file columns (when `columns` is given) or partition fields, and a comparison on
 * a partition must use its type (an int with numbers, a date with Dates, a string with strings), so
 * partition pruning is exact instead of silently keeping every file.
 */
export function validateDatasetFilter(filter: RowGroupFilter, columns: readonly string[] | undefined, partitions: PartitionSchema): void {
  const names = partitions.fields.map((f) => f.name);
  try {
    if (columns) validateFilter(filter, [...columns, ...names]);
  } catch (err) {
    if (err instanceof ReaderError) throw new ReaderError(err.kind, `${err.detail} or a partition (${names.join(', ') || 'none'})`, err.context, { code: 'COLUMN_NOT_FOUND', cause: err });
    throw err;
  }
  const check = (f: RowGroupFilter): void => {
    if ('and' in f || 'or' in f) return ('and' in f ? f.and : f.or).forEach(check);
    const field = partitions.fields.find((p) => p.name === f.column);
    if (!field) return;
    const given = [f.eq, f.gt, f.gte, f.lt, f.lte, ...(f.in ?? [])].filter((v): v is Value => v !== undefined);
    const bad = given.find((v) => !FITS[field.type](v));
    if (bad !== undefined) {
      throw new ReaderError('InvalidInput', `filter on partition ${field.name} (${field.type}) compares with ${typeof bad === 'object' ? 'a Date' : `a ${typeof bad}`} ${String(bad)}`, {}, { code: 'BAD_PARTITION' });
    }
  };
  check(filter);
}
