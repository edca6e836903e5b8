/**
 * The Thrift TCompactProtocol primitives the footer layout walk (footer-layout.ts) reads and skips
 * with: field and list headers, integers, strings, truthiness and skipping, each as hyparquet's
 * `deserializeTCompactProtocol` reads the same bytes (same values, same errors): its `readVarInt`
 * and `readZigZag` re-done on the bytes (the hot path: tens of thousands of calls on a wide footer),
 * its own `readZigZagBigInt` for i64s past 49 bits. Skipping (most of a wide footer) makes no values
 * at all: a struct's fields, varints and binaries are walked over in tight loops on the bytes.
 */
import { readZigZagBigInt } from 'hyparquet/src/thrift.js';

/** Where a walk is: the bytes (as a DataView and as bytes, for the hot loops) and the offset it has reached. */
export interface ThriftCursor {
  view: DataView;
  /** The same bytes as `view`, for the hot loops. */
  bytes: Uint8Array;
  offset: number;
}

// TCompactProtocol types (as hyparquet's thrift.js names them).
export const STOP = 0;
const TRUE = 1;
const FALSE = 2;
const BYTE = 3;
const I16 = 4;
const I32 = 5;
const I64 = 6;
const DOUBLE = 7;
export const BINARY = 8;
export const LIST = 9;
export const STRUCT = 12;

/** A varint of at most this many bytes (49 bits) is exact as a double; longer ones go through hyparquet's bigint reader. */
const EXACT_VARINT_BYTES = 7;

const decoder = new TextDecoder();

/**
 * The next field header of a struct, as hyparquet's `deserializeTCompactProtocol` reads it (same
 * field ids, same errors): `(fid << 4) | type`, or STOP (0) at the end of the struct. `fid` is the
 * previous field's id (the header holds a delta from it).
 */
export function nextField(r: ThriftCursor, fid: number): number {
  const bytes = r.bytes;
  if (r.offset >= bytes.length) throw new Error('thrift struct ended without STOP');
  const byte = bytes[r.offset++] as number;
  const type = byte & 0x0f;
  if (type === STOP) return STOP;
  const delta = byte >> 4;
  return ((delta ? fid + delta : zigzag(r)) << 4) | type;
}

/**
 * hyparquet's `readVarInt` (32-bit, as it shifts), on the bytes rather than through the DataView: the
 * walk reads tens of thousands of them on a wide footer. Past the end it throws what hyparquet's
 * `getUint8` throws.
 */
function varint(r: ThriftCursor): number {
  const bytes = r.bytes;
  let at = r.offset;
  let result = 0;
  let shift = 0;
  for (;;) {
    if (at >= bytes.length) throw new RangeError('Offset is outside the bounds of the DataView');
    const byte = bytes[at++] as number;
    result |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) {
      r.offset = at;
      return result;
    }
    shift += 7;
  }
}

/** hyparquet's `readZigZag`, on `varint`. */
function zigzag(r: ThriftCursor): number {
  const z = varint(r);
  return (z >>> 1) ^ -(z & 1);
}

/**
 * A list header, packed in one number (no object per list on the walk's hot path): the element type
 * in the low 4 bits, the count above them (`listType`, `listSize`).
 */
export function listHeader(r: ThriftCursor): number {
  if (r.offset >= r.bytes.length) throw new RangeError('Offset is outside the bounds of the DataView');
  const byte = r.bytes[r.offset++] as number;
  let size = byte >> 4;
  if (size === 15) size = varint(r);
  if (size < 0) throw new RangeError('Invalid array length'); // hyparquet's `new Array(size)`
  return size * 16 + (byte & 0x0f);
}

/** The element type of a packed list header. */
export function listType(header: number): number {
  return header % 16;
}

/** The element count of a packed list header. */
export function listSize(header: number): number {
  return Math.floor(header / 16);
}

/** An integer field as hyparquet gives it, then `Number(...)`: exact for i64 (bigint beyond 49 bits), and what `Number` makes of any other type. */
export function readInt(r: ThriftCursor, type: number): number {
  switch (type) {
    case BYTE:
      return r.view.getInt8(r.offset++);
    case I16:
    case I32:
      return zigzag(r);
    case I64:
      return readI64(r);
    case TRUE:
      return 1;
    case FALSE:
      return 0;
    case DOUBLE: {
      const v = r.view.getFloat64(r.offset, true);
      r.offset += 8;
      return v;
    }
    default:
      // Bytes, a list or a struct where an integer belongs (one writer puts a list in field 15).
      return objectNumber(r, type);
  }
}

/** `Number(v)` for hyparquet's value v of bytes, a list or a struct: `Number(String(v))`, so only "" and one element give a number. */
function objectNumber(r: ThriftCursor, type: number): number {
  if (type === BINARY) {
    const length = binaryLength(r);
    const v = length === 0 ? 0 : length === 1 ? (r.bytes[r.offset] as number) : Number.NaN;
    r.offset += length;
    return v;
  }
  if (type === LIST) {
    const header = listHeader(r);
    const elemType = listType(header);
    const size = listSize(header);
    let v = size === 0 ? 0 : Number.NaN; // String([a, b]) has a comma
    for (let i = 0; i < size; i++) {
      const e = elementNumber(r, elemType);
      if (size === 1) v = e;
    }
    return v;
  }
  skip(r, type);
  return Number.NaN; // "[object Object]"
}

/** `Number(String(e))` for a list element e as hyparquet reads it (booleans are one byte there). */
function elementNumber(r: ThriftCursor, elemType: number): number {
  switch (elemType) {
    case TRUE:
    case FALSE:
      r.view.getInt8(r.offset++);
      return Number.NaN; // "true", "false"
    case BYTE:
    case I16:
    case I32:
    case I64:
    case DOUBLE: {
      const v = readInt(r, elemType);
      return v === 0 ? 0 : v; // String(-0) is "0"
    }
    default:
      return objectNumber(r, elemType);
  }
}

function readI64(r: ThriftCursor): number {
  const bytes = r.bytes;
  const start = r.offset;
  let at = start;
  let z = 0;
  let scale = 1;
  for (let i = 0; i < EXACT_VARINT_BYTES; i++) {
    if (at >= bytes.length) throw new RangeError('Offset is outside the bounds of the DataView');
    const byte = bytes[at++] as number;
    z += (byte & 0x7f) * scale;
    if (!(byte & 0x80)) {
      r.offset = at;
      return z % 2 === 1 ? -(z + 1) / 2 : z / 2; // zigzag
    }
    scale *= 128;
  }
  return Number(readZigZagBigInt(r));
}

/** A string field as hyparquet decodes it: bytes, or a falsy value of another type (kept out); a truthy non-string makes hyparquet throw. */
export function readString(r: ThriftCursor, type: number, name: string): string | undefined {
  if (type === BINARY) {
    const length = binaryLength(r);
    const s = utf8(r.bytes, r.offset, length);
    r.offset += length;
    return s;
  }
  if (truthy(r, type)) throw new Error(`parquet metadata: ${name} is not a string`);
  return undefined;
}

/** Column names are short and mostly ASCII: those skip TextDecoder (which costs more than the walk around them). */
const SHORT_STRING = 64;

/** The UTF-8 string in `bytes[offset, offset + length)`, as TextDecoder gives it. */
function utf8(bytes: Uint8Array, offset: number, length: number): string {
  if (length <= SHORT_STRING) {
    let ascii = true;
    for (let i = offset; i < offset + length; i++) {
      if ((bytes[i] as number) >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, bytes.subarray(offset, offset + length) as unknown as number[]);
  }
  return decoder.decode(bytes.subarray(offset, offset + length));
}

/** Consumes a value and tells whether hyparquet's value for it is truthy. */
export function truthy(r: ThriftCursor, type: number): boolean {
  switch (type) {
    case TRUE:
      return true;
    case FALSE:
      return false;
    case BYTE:
    case I16:
    case I32:
    case I64:
    case DOUBLE: {
      const v = readInt(r, type);
      return v !== 0 && !Number.isNaN(v);
    }
    default:
      skip(r, type); // bytes, lists and structs are objects
      return true;
  }
}

function binaryLength(r: ThriftCursor): number {
  const length = varint(r);
  const left = r.bytes.length - r.offset;
  if (length < 0 || length > left) throw new Error(`thrift binary length ${length} exceeds remaining ${left} bytes`);
  return length;
}

/** Skips a list element: booleans are one byte there. */
export function skipElement(r: ThriftCursor, type: number): void {
  r.offset = skipElementAt(r.bytes, r.offset, type);
}

/** Skips a value of a struct field, failing where hyparquet's `readElement` fails. */
export function skip(r: ThriftCursor, type: number): void {
  // Integers (most skipped fields of a column chunk) without the call through skipAt's switch.
  r.offset = type === I32 || type === I64 || type === I16 ? skipVarint(r.bytes, r.offset) : skipAt(r.bytes, r.offset, type);
}

/*
 * The skipping itself, on the bytes and an offset: no value is made (no bigint, no subarray, no
 * list), no cursor is written until the value ends, and a struct's fields are skipped in one loop
 * without a call per field header. Most of a wide footer is walked over here (statistics,
 * encodings, encoding stats, key/value pairs). Each fails where hyparquet's reader of the same
 * bytes fails: past the end (RangeError, as its DataView), an unknown type, a struct without STOP,
 * a binary longer than what is left.
 */

const OUT_OF_BOUNDS = 'Offset is outside the bounds of the DataView';

/** The offset just past a varint at `at` (RangeError if the bytes end inside it). */
function skipVarint(bytes: Uint8Array, at: number): number {
  const n = bytes.length;
  while (at < n && (bytes[at] as number) & 0x80) at++;
  if (at >= n) throw new RangeError(OUT_OF_BOUNDS);
  return at + 1;
}

/** The offset just past a binary (length varint, then the bytes) at `at`. */
function skipBinary(bytes: Uint8Array, at: number): number {
  // The length as hyparquet's 32-bit `readVarInt` gives it (a long varint wraps, maybe negative).
  const n = bytes.length;
  let length = 0;
  let shift = 0;
  for (;;) {
    if (at >= n) throw new RangeError(OUT_OF_BOUNDS);
    const byte = bytes[at++] as number;
    length |= (byte & 0x7f) << shift;
    if (!(byte & 0x80)) break;
    shift += 7;
  }
  const left = n - at;
  if (length < 0 || length > left) throw new Error(`thrift binary length ${length} exceeds remaining ${left} bytes`);
  return at + length;
}

/** The offset just past a value of `type` at `at`. */
function skipAt(bytes: Uint8Array, at: number, type: number): number {
  switch (type) {
    case TRUE:
    case FALSE:
      return at;
    case BYTE:
      if (at >= bytes.length) throw new RangeError(OUT_OF_BOUNDS);
      return at + 1;
    case I16:
    case I32:
    case I64:
      return skipVarint(bytes, at);
    case DOUBLE:
      if (at + 8 > bytes.length) throw new RangeError(OUT_OF_BOUNDS);
      return at + 8;
    case BINARY:
      return skipBinary(bytes, at);
    case LIST:
      return skipList(bytes, at);
    case STRUCT:
      return skipStruct(bytes, at);
    default:
      throw new Error(`thrift unhandled type: ${type}`);
  }
}

/** The offset just past a list element of `type` at `at`: booleans are one byte there. */
function skipElementAt(bytes: Uint8Array, at: number, type: number): number {
  if (type === TRUE || type === FALSE) type = BYTE;
  return skipAt(bytes, at, type);
}

/** The offset just past a struct at `at` (its fields, then STOP). */
function skipStruct(bytes: Uint8Array, at: number): number {
  const n = bytes.length;
  for (;;) {
    if (at >= n) throw new Error('thrift struct ended without STOP');
    const byte = bytes[at++] as number;
    const type = byte & 0x0f;
    if (type === STOP) return at;
    if (byte < 0x10) at = skipVarint(bytes, at); // no delta: the field id follows, as a zigzag varint
    // The common field types inline; the rest (and errors) through skipAt.
    if (type === I32 || type === I64 || type === I16) at = skipVarint(bytes, at);
    else if (type === BINARY) at = skipBinary(bytes, at);
    else if (type !== TRUE && type !== FALSE) at = skipAt(bytes, at, type);
  }
}

/**
 * Skips a struct as `skip(r, STRUCT)` does (same bytes, same errors) and tells whether one of the
 * fields with an id in `fields` (a bit mask of ids 0–31) had a type other than `type`. One loop on
 * the bytes, no call per field for the common types: the walk does this for every column chunk's
 * Statistics, thousands on a wide footer, and on an open's first footers that code runs
 * interpreted, where each call counts.
 */
export function skipStructNoting(r: ThriftCursor, fields: number, type: number): boolean {
  const bytes = r.bytes;
  const n = bytes.length;
  let at = r.offset;
  let fid = 0;
  let other = false;
  for (;;) {
    if (at >= n) throw new Error('thrift struct ended without STOP');
    const byte = bytes[at++] as number;
    const t = byte & 0x0f;
    if (t === STOP) {
      r.offset = at;
      return other;
    }
    const delta = byte >> 4;
    if (delta) fid += delta;
    else {
      // The field id follows as a zigzag varint (as `nextField` reads it).
      r.offset = at;
      fid = zigzag(r);
      at = r.offset;
    }
    fid = (fid << 4) >> 4; // the 28 bits `nextField`'s packed header keeps
    if (t !== type && fid >= 0 && fid < 32 && (fields >>> fid) & 1) other = true;
    if (t === I32 || t === I64 || t === I16) at = skipVarint(bytes, at);
    else if (t === BINARY) at = skipBinary(bytes, at);
    else if (t !== TRUE && t !== FALSE) at = skipAt(bytes, at, t);
  }
}

/** The offset just past a list at `at`: fixed-width elements in one step, the rest one by one. */
function skipList(bytes: Uint8Array, at: number): number {
  const n = bytes.length;
  if (at >= n) throw new RangeError(OUT_OF_BOUNDS);
  const byte = bytes[at++] as number;
  let size = byte >> 4;
  if (size === 15) {
    // hyparquet's 32-bit `readVarInt`.
    size = 0;
    let shift = 0;
    for (;;) {
      if (at >= n) throw new RangeError(OUT_OF_BOUNDS);
      const b = bytes[at++] as number;
      size |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
    }
  }
  if (size < 0) throw new RangeError('Invalid array length'); // hyparquet's `new Array(size)`
  if (size === 0) return at;
  const type = byte & 0x0f;
  const width = type === TRUE || type === FALSE || type === BYTE ? 1 : type === DOUBLE ? 8 : 0;
  if (width) {
    if (at + size * width > n) throw new RangeError(OUT_OF_BOUNDS);
    return at + size * width;
  }
  if (type === I32 || type === I64 || type === I16) {
    // Encodings: a list of small varints.
    for (let i = 0; i < size; i++) at = skipVarint(bytes, at);
    return at;
  }
  if (type === STRUCT) {
    for (let i = 0; i < size; i++) at = skipStruct(bytes, at);
    return at;
  }
  for (let i = 0; i < size; i++) at = skipAt(bytes, at, type);
  return at;
}
