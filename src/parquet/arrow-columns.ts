/**
 * An Arrow column read as the plain JS values hyparquet decodes the same Parquet column to (see
 * `valueKind` in row-filter.ts), whole columns at a time, for the column-wise filter (filter-mask.ts):
 * numbers, bigints and booleans straight from the Arrow buffers, timestamps and dates as the epoch
 * milliseconds of the `Date` hyparquet makes (NaN for an Invalid Date), strings as UTF-8 bytes
 * decoded on demand, and anything else (decimals' big numbers, UUIDs, float16, nested values) row by
 * row through Arrow's own getter.
 */
import type { Data, DataType, RecordBatch } from 'apache-arrow';
import type { SchemaTree } from 'hyparquet';
import { DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import { ReaderError, type ErrorContext } from '../errors.js';
import { columnKind, type ValueKind } from './row-filter.js';

type Arrow = typeof import('apache-arrow');

/** Per row: 0 a value, 1 null, 2 undefined (a struct above the leaf is null: hyparquet's path resolves to undefined). */
export type Missing = Uint8Array | undefined;

/**
 * A column, in the form its values are cheapest to compare in:
 * - `values`: the exact JS value of each row that is not missing (a typed array or an array);
 * - `dates`: the epoch milliseconds of each row's `Date` (NaN: an Invalid Date);
 * - `utf8`: each row's string as UTF-8 bytes (`offsets[i]..offsets[i+1]` of `bytes`), `strings()` decoded;
 *   `ascii` when every byte is below 0x80 (then each byte is one UTF-16 code unit of the string);
 * - `rows`: each row's value as hyparquet has it (null, undefined, or the value).
 */
export type PlainColumn =
  | { form: 'values'; length: number; values: ArrayLike<number | bigint | boolean>; missing: Missing }
  | { form: 'dates'; length: number; ms: Float64Array; missing: Missing }
  | { form: 'utf8'; length: number; offsets: ArrayLike<number | bigint>; bytes: Uint8Array; ascii: boolean; missing: Missing; strings(): string[] }
  | { form: 'rows'; length: number; values: unknown[] };

/** Milliseconds per unit of an Arrow `TimeUnit` (SECOND, MILLISECOND, MICROSECOND, NANOSECOND), as divisors or a factor. */
const PER_MS: Record<number, { divisor?: number; bigDivisor?: bigint; factor?: number }> = {
  0: { factor: 1000 },
  1: { divisor: 1 },
  2: { divisor: 1_000, bigDivisor: 1_000n },
  3: { divisor: 1_000_000, bigDivisor: 1_000_000n },
};
const MS_PER_DAY = 86_400_000;
/** The largest |time value| a `Date` holds (ECMAScript TimeClip); beyond it `new Date(x)` is an Invalid Date. */
const MAX_DATE_MS = 8.64e15;
/** 2^32: the high word's weight when an int64 is read as two 32-bit words. */
const TWO_32 = 4_294_967_296;
/** A high word in [-2^21, 2^21) makes an int64 within ±2^53: exact as a double. */
const SAFE_HIGH = 2_097_152;

const decoder = new TextDecoder();

function clip(ms: number): number {
  return Math.abs(ms) <= MAX_DATE_MS ? ms + 0 : NaN;
}

/**
 * Epoch milliseconds of the Date hyparquet makes of an int64 in `unit`: `new Date(Number(x))` for
 * milliseconds, `new Date(Number(x / 1000n))` (truncating) for micro- and nanoseconds. Exact without
 * bigints while x is within ±2^53 (`(x - x % d) / d` divides a multiple of d exactly); beyond, the
 * bigint division itself.
 */
export function timestampMs(values: BigInt64Array, unit: number): Float64Array {
  const n = values.length;
  const out = new Float64Array(n);
  const words = new Int32Array(values.buffer, values.byteOffset, n * 2);
  const { divisor = 1, bigDivisor, factor } = PER_MS[unit] ?? { divisor: 1 };
  for (let i = 0; i < n; i++) {
    const hi = words[2 * i + 1] as number;
    let ms: number;
    if (hi >= -SAFE_HIGH && hi < SAFE_HIGH) {
      const x = hi * TWO_32 + ((words[2 * i] as number) >>> 0);
      ms = factor !== undefined ? x * factor : divisor === 1 ? x : (x - (x % divisor)) / divisor;
    } else {
      const b = values[i] as bigint;
      ms = factor !== undefined ? Number(b) * factor : bigDivisor ? Number(b / bigDivisor) : Number(b);
    }
    out[i] = clip(ms);
  }
  return out;
}

/** Epoch milliseconds of hyparquet's `new Date(days * 86400000)`. */
function dayMs(values: Int32Array): Float64Array {
  const out = new Float64Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = clip((values[i] as number) * MS_PER_DAY);
  return out;
}

function isValid(data: Data, i: number): boolean {
  const bitmap = data.nullBitmap;
  if (!bitmap || data.nullCount === 0) return true;
  const j = data.offset + i;
  return (((bitmap[j >> 3] as number) >> (j & 7)) & 1) === 1;
}

/** Which rows are null (1) or under a null struct (2); undefined when none is. */
function missingOf(path: readonly Data[]): Missing {
  const leaf = path[path.length - 1] as Data;
  if (path.every((d) => d.nullCount === 0)) return undefined;
  const out = new Uint8Array(leaf.length);
  for (let k = 0; k < path.length; k++) {
    const d = path[k] as Data;
    if (d.nullCount === 0) continue;
    const mark = k === path.length - 1 ? 1 : 2;
    for (let i = 0; i < leaf.length; i++) if (out[i] === 0 && !isValid(d, i)) out[i] = mark;
  }
  return out;
}

/** A column's Data along a dotted path from the batch (the struct levels, then the leaf); undefined when the batch lacks it. */
function dataPath(batch: RecordBatch, segments: readonly string[]): Data[] | undefined {
  const path: Data[] = [];
  let fields = batch.schema.fields;
  let children = batch.data.children as Data[];
  for (const seg of segments) {
    const k = fields.findIndex((f) => f.name === seg);
    const d = children[k];
    if (k < 0 || !d) return undefined;
    path.push(d);
    fields = (d.type as DataType & { children?: typeof fields }).children ?? [];
    children = d.children as Data[];
  }
  return path;
}

function rowsFrom(arrow: Arrow, batch: RecordBatch, segments: readonly string[], kind: ValueKind, scale: number, uuid: boolean, context: ErrorContext): PlainColumn {
  let vector = batch.getChild(segments[0] as string);
  for (const seg of segments.slice(1)) vector = vector?.getChild(seg) ?? null;
  const path = dataPath(batch, segments);
  const missing = path ? missingOf(path) : undefined;
  const values = new Array<unknown>(batch.numRows);
  try {
    for (let i = 0; i < batch.numRows; i++) {
      const m = missing?.[i] ?? 0;
      const v = m === 2 ? undefined : m === 1 ? null : vector ? vector.get(i) : undefined;
      values[i] = v === null || v === undefined ? v : normalise(arrow, v, kind, scale, uuid);
    }
  } catch (err) {
    if (err instanceof ReaderError) throw err;
    throw new ReaderError('InvalidData', `filter column ${segments.join('.')}: a value Arrow cannot read (${(err as Error).message})`, context, { code: 'DECODE_FAILED', cause: err });
  }
  return { form: 'rows', length: batch.numRows, values };
}

/** An Arrow value as hyparquet decodes the same Parquet value (see `valueKind`). */
function normalise(arrow: Arrow, v: unknown, kind: ValueKind, scale: number, uuid: boolean): unknown {
  switch (kind) {
    case 'date':
      return v instanceof Date ? v : new Date(Number(v));
    case 'bigint':
      return typeof v === 'bigint' ? v : BigInt(v as number);
    case 'number':
      if (typeof v === 'number') return v;
      if (typeof v === 'bigint') return Number(v);
      // A Decimal: hyparquet computes Number(unscaled) × 10^-scale.
      return Number(BigInt(arrow.util.bigNumToBigInt(v as never))) * 10 ** -scale;
    case 'string':
      if (v instanceof Uint8Array) return uuid ? DEFAULT_PARSERS.uuidFromBytes(v) : DEFAULT_PARSERS.stringFromBytes(v);
      return v;
    default:
      return v;
  }
}

function isAscii(bytes: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) if ((bytes[i] as number) >= 0x80) return false;
  return true;
}

/** Booleans of a bit-packed Arrow buffer from bit `offset`. */
function bits(values: Uint8Array, offset: number, n: number): boolean[] {
  const out = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const j = offset + i;
    out[i] = (((values[j >> 3] as number) >> (j & 7)) & 1) === 1;
  }
  return out;
}

/**
 * The filter column at the dotted `path` of a record batch, as hyparquet's values (see the module
 * comment). A column the batch lacks reads as undefined in every row, as hyparquet's path does.
 */
export function plainColumn(arrow: Arrow, batch: RecordBatch, tree: SchemaTree, path: string, context: ErrorContext = {}): PlainColumn {
  const { DataType: T } = arrow;
  const segments = path.split('.');
  const n = batch.numRows;
  const data = dataPath(batch, segments);
  if (!data) return { form: 'rows', length: n, values: new Array<unknown>(n).fill(undefined) };
  const leaf = data[data.length - 1] as Data;
  let node: SchemaTree | undefined = tree;
  for (const part of segments) node = node?.children.find((c) => c.element.name === part);
  const element = node?.element;
  const kind = columnKind(tree, path) ?? 'other';
  const uuid = element?.logical_type?.type === 'UUID';
  const type = leaf.type as DataType;
  const missing = missingOf(data);
  if (kind === 'date' && T.isTimestamp(type) && leaf.values instanceof BigInt64Array) {
    return { form: 'dates', length: n, ms: timestampMs(leaf.values, (type as unknown as { unit: number }).unit), missing };
  }
  if (kind === 'date' && T.isDate(type) && leaf.values instanceof Int32Array) return { form: 'dates', length: n, ms: dayMs(leaf.values), missing };
  if (kind === 'boolean' && T.isBool(type)) return { form: 'values', length: n, values: bits(leaf.values as Uint8Array, leaf.offset, n), missing };
  if (kind === 'bigint' && T.isInt(type) && (leaf.values instanceof BigInt64Array || leaf.values instanceof BigUint64Array)) return { form: 'values', length: n, values: leaf.values, missing };
  if (kind === 'number' && (T.isInt(type) || (T.isFloat(type) && (type as unknown as { precision: number }).precision !== 0))) {
    const v = leaf.values as ArrayLike<number | bigint>;
    if (v instanceof BigInt64Array || v instanceof BigUint64Array) return { form: 'values', length: n, values: Float64Array.from(v, Number), missing };
    return { form: 'values', length: n, values: v as ArrayLike<number>, missing };
  }
  if (kind === 'string' && !uuid && (T.isUtf8(type) || T.isBinary(type) || T.isLargeUtf8(type) || T.isLargeBinary(type))) {
    const offsets = leaf.valueOffsets as unknown as ArrayLike<number | bigint>;
    const bytes = leaf.values as Uint8Array;
    const from = n > 0 ? Number(offsets[0]) : 0;
    const to = n > 0 ? Number(offsets[n]) : 0;
    const ascii = isAscii(bytes, from, to);
    let decoded: string[] | undefined;
    const strings = (): string[] => {
      if (decoded) return decoded;
      decoded = new Array<string>(n);
      if (ascii) {
        // One decode of the whole range; each row's string is a slice (one byte, one code unit).
        const all = decoder.decode(bytes.subarray(from, to));
        for (let i = 0; i < n; i++) decoded[i] = all.slice(Number(offsets[i]) - from, Number(offsets[i + 1]) - from);
      } else {
        for (let i = 0; i < n; i++) decoded[i] = missing?.[i] ? '' : decoder.decode(bytes.subarray(Number(offsets[i]), Number(offsets[i + 1])));
      }
      return decoded;
    };
    return { form: 'utf8', length: n, offsets, bytes, ascii, missing, strings };
  }
  return rowsFrom(arrow, batch, segments, kind, element?.scale ?? 0, uuid, context);
}

/** Row i's value as hyparquet has it (for the per-row evaluator): a Date for `dates`, a decoded string for `utf8`. */
export function valueAt(col: PlainColumn, i: number): unknown {
  if (col.form === 'rows') return col.values[i];
  const m = col.missing?.[i] ?? 0;
  if (m !== 0) return m === 1 ? null : undefined;
  if (col.form === 'dates') return new Date(col.ms[i] as number);
  if (col.form === 'utf8') return col.strings()[i];
  return col.values[i];
}
