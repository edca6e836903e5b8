/**
 * The row filter, column-wise: hyparquet's filter (ours translated by `toQueryFilter`) evaluated over
 * whole columns at once into a mask (1: the row matches), each operator one loop over a column's
 * plain values (arrow-columns.ts) with the JS comparison hyparquet's `matchFilter` makes per row —
 * `>`/`>=`/`<`/`<=` on non-null values, `equals` for `$eq`/`$in` — so the mask keeps exactly the rows
 * `matchFilter` keeps. What has no column-wise loop here (a condition whose target is an object other
 * than a Date, a column of values only Arrow's getter reads) is `matchFilter` itself, row by row, on
 * that column's values: one evaluator, never a second set of rules.
 */
import type { ParquetQueryFilter } from 'hyparquet';
import { matchFilter } from 'hyparquet/src/filter.js';
import { valueAt, type PlainColumn } from './arrow-columns.js';

/** Rows of a column-wise filter: 1 where the row matches. */
export type Mask = Uint8Array<ArrayBuffer>;

type Rel = '$gt' | '$gte' | '$lt' | '$lte';
const RELATIONAL = new Set<string>(['$gt', '$gte', '$lt', '$lte']);

const encoder = new TextEncoder();

function ones(n: number): Mask {
  return new Uint8Array(n).fill(1);
}

function andInto(a: Mask, b: Mask): Mask {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) & (b[i] as number);
  return a;
}

function orInto(a: Mask, b: Mask): Mask {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) | (b[i] as number);
  return a;
}

function invert(a: Mask): Mask {
  for (let i = 0; i < a.length; i++) a[i] = (a[i] as number) ^ 1;
  return a;
}

/** `matchFilter` on one column, row by row: the evaluator for what has no loop here. */
function perRow(col: PlainColumn, condition: unknown): Mask {
  const out = new Uint8Array(col.length);
  const record: { v: unknown } = { v: undefined };
  const query = { v: condition } as unknown as ParquetQueryFilter;
  for (let i = 0; i < col.length; i++) {
    record.v = valueAt(col, i);
    out[i] = matchFilter(record, query, true) ? 1 : 0;
  }
  return out;
}

/** A target a relational loop compares with as it is: JS compares a primitive with a primitive (or a Date's time) without calling user code. */
type Primitive = number | bigint | string | boolean | null | undefined;
function isPrimitive(t: unknown): t is Primitive {
  return t === null || (typeof t !== 'object' && typeof t !== 'function' && typeof t !== 'symbol');
}

/** |t| below 2^53: an int64 within it is exact as a double, one beyond it is farther from 0 than t (see `int64Numbers`). */
const EXACT = 2 ** 53;
const EXACT_BIG = 2n ** 53n;

/**
 * An int64 column as doubles that order and equal like the bigints against any target of |t| <
 * 2^53: exact within ±2^53, ±Infinity beyond (no bigint made per row). Made once per column.
 */
const asNumbers = new WeakMap<object, Float64Array>();
function int64Numbers(values: BigInt64Array): Float64Array {
  let out = asNumbers.get(values);
  if (out) return out;
  const words = new Int32Array(values.buffer, values.byteOffset, values.length * 2);
  out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const hi = words[2 * i + 1] as number;
    out[i] = hi >= -SAFE_HIGH && hi < SAFE_HIGH ? hi * TWO_32 + ((words[2 * i] as number) >>> 0) : hi > 0 ? Infinity : -Infinity;
  }
  asNumbers.set(values, out);
  return out;
}
const TWO_32 = 4_294_967_296;
/** A high word in [-2^21, 2^21): the int64 is within [-2^53, 2^53). */
const SAFE_HIGH = 2_097_152;

function nearZero(t: unknown): boolean {
  return (typeof t === 'number' && Math.abs(t) < EXACT) || (typeof t === 'bigint' && t > -EXACT_BIG && t < EXACT_BIG);
}

type NumberArray = Float64Array | Float32Array | Int32Array | Int16Array | Int8Array | Uint32Array | Uint16Array | Uint8Array;
function isNumberArray(v: ArrayLike<unknown>): v is NumberArray {
  return ArrayBuffer.isView(v) && !(v instanceof BigInt64Array) && !(v instanceof BigUint64Array);
}

/** `v OP t` for number values and a number target: the loop V8 compiles to float compares. */
function orderNumbers(vs: NumberArray, op: Rel, t: number, out: Mask): void {
  const n = out.length;
  if (op === '$gt') for (let i = 0; i < n; i++) out[i] = (vs[i] as number) > t ? 1 : 0;
  else if (op === '$gte') for (let i = 0; i < n; i++) out[i] = (vs[i] as number) >= t ? 1 : 0;
  else if (op === '$lt') for (let i = 0; i < n; i++) out[i] = (vs[i] as number) < t ? 1 : 0;
  else for (let i = 0; i < n; i++) out[i] = (vs[i] as number) <= t ? 1 : 0;
}

/** `v OP t` for anything else (bigints, strings, booleans, mixed types): JS's own comparison. */
function orderAny(vs: ArrayLike<unknown>, op: Rel, t: Primitive, out: Mask): void {
  const n = out.length;
  const a = vs as ArrayLike<number>; // any primitive: JS orders mixed types itself
  const b = t as number;
  if (op === '$gt') for (let i = 0; i < n; i++) out[i] = (a[i] as number) > b ? 1 : 0;
  else if (op === '$gte') for (let i = 0; i < n; i++) out[i] = (a[i] as number) >= b ? 1 : 0;
  else if (op === '$lt') for (let i = 0; i < n; i++) out[i] = (a[i] as number) < b ? 1 : 0;
  else for (let i = 0; i < n; i++) out[i] = (a[i] as number) <= b ? 1 : 0;
}

/** `v OP t` over the rows that are not missing (hyparquet: a null or undefined value never satisfies an order). */
function relational(values: ArrayLike<unknown>, missing: Uint8Array | undefined, op: Rel, t: Primitive, n: number): Mask {
  const out = new Uint8Array(n);
  if (typeof t === 'number' && isNumberArray(values)) orderNumbers(values, op, t, out);
  else if (values instanceof BigInt64Array && nearZero(t)) orderNumbers(int64Numbers(values), op, Number(t), out);
  else orderAny(values, op, t, out);
  if (missing) for (let i = 0; i < n; i++) if (missing[i]) out[i] = 0;
  return out;
}

/**
 * Rows whose value `equals` one of `targets` (strict): a primitive value equals a primitive target
 * by `===` (so never NaN), a Date one a Date target of the same time, a null (undefined) row a null
 * (undefined) target; nothing else is equal.
 */
function equalsAny(col: Exclude<PlainColumn, { form: 'rows' }>, targets: readonly unknown[]): Mask {
  const n = col.length;
  const out = new Uint8Array(n);
  const missing = col.missing;
  const nullOk = targets.includes(null);
  const undefinedOk = targets.includes(undefined);
  if (missing && (nullOk || undefinedOk)) for (let i = 0; i < n; i++) if ((missing[i] === 1 && nullOk) || (missing[i] === 2 && undefinedOk)) out[i] = 1;
  let keys: unknown[];
  if (col.form === 'dates') keys = targets.filter((t): t is Date => t instanceof Date).map((t) => t.getTime());
  else keys = targets.filter((t) => t !== null && t !== undefined && isPrimitive(t));
  keys = keys.filter((k) => !(typeof k === 'number' && Number.isNaN(k))); // NaN === NaN is false; a Set would find it
  if (keys.length === 0) return out;
  if (col.form === 'utf8') {
    const strings = keys.filter((k): k is string => typeof k === 'string');
    if (strings.length === 0) return out;
    if (strings.length <= BYTE_COMPARE_TARGETS_MAX && strings.every(bytesDecideEquality)) {
      for (const s of strings) equalBytes(col, encoder.encode(s), out);
    } else {
      const set = new Set(strings);
      const decoded = col.strings();
      for (let i = 0; i < n; i++) if (!missing?.[i] && set.has(decoded[i] as string)) out[i] = 1;
    }
    return out;
  }
  let values: ArrayLike<unknown> = col.form === 'dates' ? col.ms : col.values;
  if (values instanceof BigInt64Array) {
    // Only a bigint equals a bigint (===); near 0 they compare as the doubles of `int64Numbers`.
    keys = keys.filter((k) => typeof k === 'bigint');
    if (keys.length === 0) return out;
    if (keys.every(nearZero)) {
      values = int64Numbers(values);
      keys = keys.map(Number);
    }
  }
  if (keys.length === 1) {
    const k = keys[0] as number;
    for (let i = 0; i < n; i++) if ((values[i] as number) === k && !missing?.[i]) out[i] = 1;
  } else {
    const set = new Set(keys);
    for (let i = 0; i < n; i++) if (set.has(values[i]) && !missing?.[i]) out[i] = 1;
  }
  return out;
}

/**
 * Up to this many string targets are compared as UTF-8 bytes, each a pass over the column's bytes;
 * more are looked up in a Set of the decoded strings (one decode of the column, then a hash per row).
 */
const BYTE_COMPARE_TARGETS_MAX = 4;

/**
 * Whether comparing UTF-8 bytes decides `decode(bytes) === s`: s is well-formed (no lone surrogate,
 * which encodes as U+FFFD) and holds no U+FFFD (which invalid bytes decode to). Then the decode is
 * one-to-one on the bytes that could equal s.
 */
function bytesDecideEquality(s: string): boolean {
  return !LONE_SURROGATE_OR_REPLACEMENT.test(s);
}
const LONE_SURROGATE_OR_REPLACEMENT = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]|\uFFFD/;

function equalBytes(col: Extract<PlainColumn, { form: 'utf8' }>, want: Uint8Array, out: Mask): void {
  const { offsets, bytes, missing } = col;
  const len = want.length;
  const first = want[0];
  for (let i = 0; i < col.length; i++) {
    const s = Number(offsets[i]);
    if (Number(offsets[i + 1]) - s !== len || missing?.[i]) continue;
    if (len > 0 && bytes[s] !== first) continue;
    let k = 1;
    while (k < len && bytes[s + k] === want[k]) k++;
    if (k >= len) out[i] = 1;
  }
}

/**
 * `s OP t` for an ASCII column without decoding it: JS orders strings by UTF-16 code units, and
 * each byte of an ASCII string is one, so the bytes compare with t's code units directly.
 */
function asciiOrder(col: Extract<PlainColumn, { form: 'utf8' }>, op: Rel, t: string): Mask {
  const { offsets, bytes, missing } = col;
  const n = col.length;
  const units = new Uint16Array(t.length);
  for (let k = 0; k < t.length; k++) units[k] = t.charCodeAt(k);
  const tl = units.length;
  const out = new Uint8Array(n);
  const sign = op === '$gt' || op === '$gte' ? 1 : -1; // the order that satisfies op
  const orEqual = op === '$gte' || op === '$lte';
  for (let i = 0; i < n; i++) {
    const s = Number(offsets[i]);
    const len = Number(offsets[i + 1]) - s;
    const m = len < tl ? len : tl;
    let k = 0;
    while (k < m && bytes[s + k] === units[k]) k++;
    const c = k < m ? ((bytes[s + k] as number) < (units[k] as number) ? -1 : 1) : len < tl ? -1 : len > tl ? 1 : 0;
    out[i] = c === sign || (orEqual && c === 0) ? 1 : 0;
  }
  if (missing) for (let i = 0; i < n; i++) if (missing[i]) out[i] = 0;
  return out;
}

/** One operator of a field condition on a column (hyparquet's `matchFilter` cases, column-wise). */
function opMask(col: PlainColumn, op: string, target: unknown): Mask {
  const n = col.length;
  if (col.form === 'rows') return perRow(col, { [op]: target });
  if (RELATIONAL.has(op)) {
    // A Date orders by its time (its valueOf); another object would be converted by its own code: per row.
    const t = target instanceof Date ? target.getTime() : target;
    if (!isPrimitive(t)) return perRow(col, { [op]: target });
    if (col.form === 'utf8') return col.ascii && typeof t === 'string' ? asciiOrder(col, op as Rel, t) : relational(col.strings(), col.missing, op as Rel, t, n);
    return relational(col.form === 'dates' ? col.ms : col.values, col.missing, op as Rel, t, n);
  }
  switch (op) {
    case '$eq':
      return equalsOrPerRow(col, target);
    case '$ne':
      return invert(equalsOrPerRow(col, target));
    case '$in':
      return Array.isArray(target) ? inOrPerRow(col, target) : new Uint8Array(n);
    case '$nin':
      return Array.isArray(target) ? invert(inOrPerRow(col, target)) : new Uint8Array(n);
    case '$not':
      return invert(conditionMask(col, target));
    default:
      return ones(n); // hyparquet ignores an operator it does not know
  }
}

/** Targets `equalsAny` decides: primitives and Dates (an array or another object compares by its contents: per row). */
function plainTarget(t: unknown): boolean {
  return isPrimitive(t) || t instanceof Date;
}

function equalsOrPerRow(col: Exclude<PlainColumn, { form: 'rows' }>, target: unknown): Mask {
  return plainTarget(target) ? equalsAny(col, [target]) : perRow(col, { $eq: target });
}

function inOrPerRow(col: Exclude<PlainColumn, { form: 'rows' }>, targets: readonly unknown[]): Mask {
  return targets.every(plainTarget) ? equalsAny(col, targets) : perRow(col, { $in: targets });
}

/**
 * A field's condition: an implicit `$eq` for a primitive, null or an array, else an object whose own
 * keys are operators, ANDed (a Date has none: it matches every row, as in hyparquet).
 */
function conditionMask(col: PlainColumn, condition: unknown): Mask {
  if (typeof condition !== 'object' || condition === null || Array.isArray(condition)) {
    return col.form === 'rows' ? perRow(col, condition) : equalsOrPerRow(col, condition);
  }
  let out: Mask | undefined;
  for (const [op, target] of Object.entries(condition)) {
    const m = opMask(col, op, target);
    out = out ? andInto(out, m) : m;
  }
  return out ?? ones(col.length);
}

/**
 * The rows of `n` that match `filter` (hyparquet's syntax), each filter path's values given by
 * `column` (read once per path). Equal, row for row, to `matchFilter(row, filter, true)`.
 */
export function filterMask(filter: ParquetQueryFilter, n: number, column: (path: string) => PlainColumn): Mask {
  const cache = new Map<string, PlainColumn>();
  const columnOf = (path: string): PlainColumn => {
    let col = cache.get(path);
    if (!col) cache.set(path, (col = column(path)));
    return col;
  };
  const walk = (f: ParquetQueryFilter): Mask => {
    const q = f as Record<string, unknown>;
    if (Array.isArray(q.$and)) return combine(q.$and as ParquetQueryFilter[], andInto) ?? ones(n);
    if (Array.isArray(q.$or)) return combine(q.$or as ParquetQueryFilter[], orInto) ?? new Uint8Array(n);
    if (Array.isArray(q.$nor)) return invert(combine(q.$nor as ParquetQueryFilter[], orInto) ?? new Uint8Array(n));
    let out: Mask | undefined;
    for (const [field, condition] of Object.entries(q)) {
      const m = conditionMask(columnOf(field), condition);
      out = out ? andInto(out, m) : m;
    }
    return out ?? ones(n);
  };
  const combine = (parts: readonly ParquetQueryFilter[], into: (a: Mask, b: Mask) => Mask): Mask | undefined => {
    let out: Mask | undefined;
    for (const g of parts) out = out ? into(out, walk(g)) : walk(g);
    return out;
  };
  return walk(filter);
}

/** The `[start, end)` runs of matching rows of a mask. */
export function maskRuns(mask: Mask): [number, number][] {
  const runs: [number, number][] = [];
  const n = mask.length;
  let i = 0;
  while (i < n) {
    while (i < n && mask[i] === 0) i++;
    if (i >= n) break;
    const start = i;
    while (i < n && mask[i] === 1) i++;
    runs.push([start, i]);
  }
  return runs;
}
