/**
 * One filter language for planning and for rows. Callers write our filter (`{ column, eq|gt|gte|lt|lte|in }`,
 * `and`/`or`) or hyparquet's Mongo-style one (`{ col: { $gt: 5 } }`, `$and`/`$or`/`$nor`); both prune
 * row groups and pages (the planner) and select rows (hyparquet's `matchFilter`, the one row
 * evaluator of this library). Two pure translations connect them:
 * - `toQueryFilter`: ours → hyparquet's, each value coerced to the JS type hyparquet decodes that
 *   column to (an INT64 column is bigint, a TIMESTAMP column Date, ...), so `{ column: 'id', eq: 5 }`
 *   matches the row whose `id` is `5n`, and a value of an incomparable type matches no row.
 * - `toPruningFilter`: anything → ours, for the planner; the Mongo operators the planner cannot use
 *   (`$ne`, `$nin`, `$not`, `$nor`) are left out (a weaker filter still prunes correctly).
 */
import type { ParquetQueryFilter, SchemaElement, SchemaTree } from 'hyparquet';
import { ReaderError } from '../errors.js';
import type { ColumnFilter, RowGroupFilter, Value } from './filter.js';

/** A filter in our syntax or in hyparquet's Mongo-style syntax (each function also takes a Mongo-style part inside our `and`/`or`). */
export type ReadFilter = RowGroupFilter | ParquetQueryFilter;

/** The JS type hyparquet decodes a leaf column to (with its default parsers and `utf8: true`). */
export type ValueKind = 'boolean' | 'number' | 'bigint' | 'date' | 'string' | 'other';

const OPS = ['eq', 'gt', 'gte', 'lt', 'lte', 'in'] as const;
const MONGO_OPS: Record<string, (typeof OPS)[number]> = { $eq: 'eq', $gt: 'gt', $gte: 'gte', $lt: 'lt', $lte: 'lte', $in: 'in' };

/** A condition no row satisfies (hyparquet: `$in` of nothing). */
const NOTHING = { $in: [] };

function isOurs(f: object): f is RowGroupFilter {
  const o = f as Record<string, unknown>;
  return typeof o.column === 'string' || Array.isArray(o.and) || Array.isArray(o.or);
}

/** The schema node of a leaf path (`a`, `s.x`), if there is one. */
function nodeAt(tree: SchemaTree, path: string): SchemaTree | undefined {
  let node: SchemaTree | undefined = tree;
  for (const part of path.split('.')) node = node?.children.find((c) => c.element.name === part);
  return node;
}

/** What hyparquet's `convert` makes of a leaf column's values (src/convert.js in hyparquet 1.31). */
export function valueKind(element: SchemaElement): ValueKind {
  const { type, converted_type: ctype, logical_type: ltype } = element;
  if (ctype === 'DECIMAL') return 'number';
  if (type === 'INT96' || ctype === 'DATE' || ctype === 'TIMESTAMP_MILLIS' || ctype === 'TIMESTAMP_MICROS' || ltype?.type === 'TIMESTAMP') return 'date';
  if (ctype === 'JSON' || ctype === 'BSON' || ctype === 'INTERVAL') return 'other';
  if (ltype?.type === 'GEOMETRY' || ltype?.type === 'GEOGRAPHY' || ltype?.type === 'VARIANT') return 'other';
  if (ltype?.type === 'UUID' || ctype === 'UTF8' || ltype?.type === 'STRING' || type === 'BYTE_ARRAY') return 'string';
  if (ltype?.type === 'FLOAT16') return 'number';
  switch (type) {
    case 'BOOLEAN':
      return 'boolean';
    case 'INT32':
    case 'FLOAT':
    case 'DOUBLE':
      return 'number';
    case 'INT64':
      return 'bigint';
    default:
      return 'other';
  }
}

/** The value kind of a leaf column path, or undefined when it is not a leaf of the schema. */
export function columnKind(tree: SchemaTree, column: string): ValueKind | undefined {
  const node = nodeAt(tree, column);
  return node && node.children.length === 0 ? valueKind(node.element) : undefined;
}

/**
 * A filter value as the column's rows hold it, or undefined when no row can equal (`exact`) or be
 * ordered against it. Integers cross number/bigint exactly; a number is epoch milliseconds for a
 * date column (an order keeps it as it is: JS compares a Date's time with it exactly). JS compares
 * bigint with number exactly, so order comparisons keep a non-integer against a bigint column (and
 * a bigint against a number column) as it is.
 */
/** The largest |time| a Date holds (ECMAScript TimeClip): no Date equals a time past it. */
const MAX_DATE_MS = 8.64e15;

function coerce(v: Value, kind: ValueKind, exact: boolean): Value | undefined {
  switch (kind) {
    case 'other':
      return v;
    case 'boolean':
    case 'string':
      return typeof v === kind ? v : undefined;
    case 'number':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return !exact ? v : BigInt(Number(v)) === v ? Number(v) : undefined;
      return undefined;
    case 'bigint':
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number') return Number.isInteger(v) ? BigInt(v) : exact || Number.isNaN(v) ? undefined : v;
      return undefined;
    case 'date': {
      if (v instanceof Date) return Number.isNaN(v.getTime()) ? undefined : v;
      if (typeof v !== 'number' && typeof v !== 'bigint') return undefined;
      // An order compares a Date's time with the number or bigint itself (JS does, exactly): a
      // fraction of a millisecond or a time past what a Date holds orders as it is.
      if (!exact) return typeof v === 'number' && Number.isNaN(v) ? undefined : v;
      const ms = Number(v);
      return (typeof v === 'bigint' ? BigInt(ms) === v : Number.isInteger(v)) && Math.abs(ms) <= MAX_DATE_MS ? new Date(ms) : undefined;
    }
  }
}

function columnCondition(f: ColumnFilter, kind: ValueKind): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const op of OPS) {
    const target = f[op];
    if (target === undefined) continue;
    if (op === 'in') {
      out.$in = (target as readonly Value[]).map((v) => coerce(v, kind, true)).filter((v) => v !== undefined);
      continue;
    }
    const v = coerce(target as Value, kind, op === 'eq');
    if (v === undefined) return NOTHING;
    out[`$${op}`] = v;
  }
  return out;
}

/**
 * Our filter as hyparquet's, values coerced to each column's decoded type (see `valueKind`); a
 * Mongo-style part is passed through as written (hyparquet's semantics, values uncoerced).
 */
export function toQueryFilter(filter: ReadFilter, tree: SchemaTree): ParquetQueryFilter {
  if (!isOurs(filter)) return filter;
  if ('and' in filter) return { $and: filter.and.map((f) => toQueryFilter(f, tree)) };
  if ('or' in filter) return { $or: filter.or.map((f) => toQueryFilter(f, tree)) };
  const kind = columnKind(tree, filter.column) ?? 'other';
  return { [filter.column]: columnCondition(filter, kind) } as ParquetQueryFilter;
}

function isValue(v: unknown): v is Value {
  return typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string' || typeof v === 'boolean' || v instanceof Date;
}

/** One Mongo field condition as ours, keeping only what the planner can use. */
function fromMongoCondition(column: string, condition: unknown): ColumnFilter | undefined {
  if (isValue(condition)) return { column, eq: condition };
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) return undefined;
  const out: Record<string, unknown> = { column };
  for (const [op, target] of Object.entries(condition)) {
    const ours = MONGO_OPS[op];
    if (ours === 'in') {
      if (Array.isArray(target) && target.every(isValue)) out.in = target;
    } else if (ours && isValue(target)) out[ours] = target;
  }
  return Object.keys(out).length > 1 ? (out as unknown as ColumnFilter) : undefined;
}

function combine(kind: 'and' | 'or', parts: (RowGroupFilter | undefined)[]): RowGroupFilter | undefined {
  if (kind === 'or' && parts.some((p) => p === undefined)) return undefined; // a branch that may match anything
  const kept = parts.filter((p): p is RowGroupFilter => p !== undefined);
  if (kept.length === 0) return undefined;
  if (kept.length === 1) return kept[0];
  return kind === 'and' ? { and: kept } : { or: kept };
}

/**
 * The filter the planner prunes with: ours as it is (checked by the planner), a Mongo-style one
 * translated where it can be (`$eq`, `$gt`, `$gte`, `$lt`, `$lte`, `$in`, implicit equality,
 * `$and`, `$or` on leaf columns). Undefined when nothing of it can prune.
 */
export function toPruningFilter(filter: ReadFilter, columns: readonly string[]): RowGroupFilter | undefined {
  if (isOurs(filter)) {
    if ('and' in filter) return combine('and', filter.and.map((f) => toPruningFilter(f, columns)));
    if ('or' in filter) return combine('or', filter.or.map((f) => toPruningFilter(f, columns)));
    return filter;
  }
  const q = filter as Record<string, unknown>;
  if (Array.isArray(q.$and)) return combine('and', (q.$and as ParquetQueryFilter[]).map((f) => toPruningFilter(f, columns)));
  if (Array.isArray(q.$or)) return combine('or', (q.$or as ParquetQueryFilter[]).map((f) => toPruningFilter(f, columns)));
  if ('$nor' in q) return undefined;
  return combine(
    'and',
    Object.entries(q).map(([column, condition]) => (columns.includes(column) ? fromMongoCondition(column, condition) : undefined)),
  );
}

/** The leaf or top-level column names a filter reads (for projection: parquet-wasm and hyparquet read top-level fields). */
export function filterFields(filter: ReadFilter): string[] {
  const out = new Set<string>();
  const walk = (f: ReadFilter): void => {
    if (isOurs(f)) {
      if ('and' in f) f.and.forEach(walk);
      else if ('or' in f) f.or.forEach(walk);
      else out.add(f.column.split('.')[0] as string);
      return;
    }
    const q = f as Record<string, unknown>;
    for (const key of ['$and', '$or', '$nor']) if (Array.isArray(q[key])) (q[key] as ReadFilter[]).forEach(walk);
    for (const key of Object.keys(q)) if (!key.startsWith('$')) out.add(key.split('.')[0] as string);
  };
  walk(filter);
  return [...out];
}

/**
 * Checks what the planner's `validateFilter` does not: every value of our filter is a `Value` (not
 * null, `in` an array), no column is repeated (a list element has no single value per row), and a
 * Mongo-style filter names top-level columns of the file. `INVALID_FILTER` otherwise.
 */
export function checkFilter(filter: ReadFilter, tree: SchemaTree): void {
  const fail = (message: string): never => {
    throw new ReaderError('InvalidInput', message, { op: 'plan' }, { code: 'INVALID_FILTER' });
  };
  if (typeof filter !== 'object' || filter === null) fail(`a filter is an object, got ${String(filter)}`);
  if (!isOurs(filter)) {
    for (const field of filterFields(filter)) {
      if (!tree.children.some((c) => c.element.name === field)) fail(`filter column ${JSON.stringify(field)} is not a column of the file`);
    }
    return;
  }
  if ('and' in filter || 'or' in filter) {
    ('and' in filter ? filter.and : filter.or).forEach((f) => checkFilter(f, tree));
    return;
  }
  let node: SchemaTree | undefined = tree;
  for (const part of filter.column.split('.')) {
    node = node?.children.find((c) => c.element.name === part);
    if (node?.element.repetition_type === 'REPEATED') fail(`filter column ${filter.column} is repeated (a list or map): filters compare one value per row`);
  }
  for (const op of OPS) {
    const v = filter[op];
    if (v === undefined) continue;
    if (op === 'in' ? !Array.isArray(v) || !(v as unknown[]).every(isValue) : !isValue(v)) {
      fail(`filter on ${filter.column}: ${op} needs ${op === 'in' ? 'an array of ' : ''}numbers, bigints, strings, booleans or Dates`);
    }
  }
}
