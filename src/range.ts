import { ReaderError, type ErrorContext } from './errors.js';
import type { ByteRange, ResolvedRange } from './types.js';

function isByteCount(n: unknown): n is number {
  return typeof n === 'number' && Number.isSafeInteger(n) && n >= 0;
}

/**
 * Checks the shape of a range: integer offsets ≥ 0, `length` ≥ 1, `suffix` ≥ 1. Zero-length ranges
 * are rejected because HTTP cannot express them (`bytes=5-4` is inverted, and servers answer an
 * inverted range with the whole object).
 */
export function validateRange(range: ByteRange, context: ErrorContext = {}): void {
  const bad = (why: string): never => {
    throw new ReaderError('InvalidInput', `invalid byte range: ${why}`, { ...context, range }, { code: 'INVALID_ARGUMENT' });
  };
  if (range === null || typeof range !== 'object') bad('not an object');
  if ('suffix' in range) {
    if (!isByteCount(range.suffix) || range.suffix < 1) bad('suffix must be an integer >= 1');
    return;
  }
  if (!isByteCount(range.offset)) bad('offset must be an integer >= 0');
  if (range.length !== undefined) {
    if (!isByteCount(range.length) || range.length < 1) bad('length must be an integer >= 1');
    if (!Number.isSafeInteger(range.offset + range.length)) bad('end is too large');
  }
}

/**
 * Resolves a range against a known object size: clamps an end past EOF, turns a suffix into an
 * offset. `offset >= size` throws `RangeNotSatisfied`, except offset 0 (or any suffix) on an empty
 * object, which resolves to the empty range.
 */
export function resolveRange(range: ByteRange, size: number, context: ErrorContext = {}): ResolvedRange {
  if ('suffix' in range) {
    const length = Math.min(range.suffix, size);
    return { offset: size - length, length };
  }
  if (range.offset === 0 && size === 0) return { offset: 0, length: 0 };
  if (range.offset >= size) {
    throw new ReaderError('RangeNotSatisfied', `range starts at or past the end of the object (size ${size})`, {
      ...context,
      range,
      size,
    }, { code: 'RANGE_NOT_SATISFIABLE' });
  }
  const end = range.length === undefined ? size : Math.min(size, range.offset + range.length);
  return { offset: range.offset, length: end - range.offset };
}

/** The HTTP `Range` header value for a (validated) range. */
export function rangeHeader(range: ByteRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`;
  if (range.length === undefined) return `bytes=${range.offset}-`;
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

export interface ContentRange {
  /** First byte, inclusive; absent for `bytes *\/size`. */
  start?: number;
  /** Last byte, inclusive. */
  end?: number;
  /** Total size; absent for `/*`. */
  size?: number;
}

/** Parses `Content-Range: bytes a-b/size`, `bytes a-b/*` or `bytes *\/size`; undefined if malformed. */
export function parseContentRange(value: string | undefined | null): ContentRange | undefined {
  if (!value) return undefined;
  const m = /^\s*bytes\s+(?:(\d+)-(\d+)|\*)\/(\d+|\*)\s*$/i.exec(value);
  if (!m) return undefined;
  const out: ContentRange = {};
  if (m[1] !== undefined && m[2] !== undefined) {
    out.start = Number(m[1]);
    out.end = Number(m[2]);
    if (out.end < out.start) return undefined;
  }
  if (m[3] !== '*') out.size = Number(m[3]);
  if (out.size !== undefined && out.end !== undefined && out.end >= out.size) return undefined;
  if (out.start === undefined && out.size === undefined) return undefined;
  return out;
}
