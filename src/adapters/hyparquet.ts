import type { AsyncBuffer } from 'hyparquet';
import { ReaderError, isReaderError, type ErrorContext } from '../errors.js';
import { toArrayBuffer, type RandomAccess } from './random-access.js';

/**
 * hyparquet's `AsyncBuffer` (`byteLength` + `slice(start, end) → ArrayBuffer`) over a reader. Every
 * slice goes through the reader's buffer, so what a plan prefetched costs nothing, and hyparquet's
 * own parallel fetches are bounded by the reader's concurrency.
 *
 * `end` past the object is clamped; a `start` that is negative or not an integer (corrupt metadata
 * gives such offsets) rejects with `InvalidData`. A failed slice never becomes an unhandled
 * rejection: hyparquet starts some slices it may never await (its `prefetchAsyncBuffer`), and an
 * unhandled rejection would end the user's process. Whoever awaits the slice still gets the error.
 */
export function toAsyncBuffer(source: RandomAccess, byteLength: number): AsyncBuffer {
  const read = async (start: number, end: number | undefined): Promise<ArrayBuffer> => {
    if (!Number.isSafeInteger(start) || start < 0) {
      throw new ReaderError('InvalidData', `the decoder asked for bytes from offset ${start}, outside the file (size ${byteLength}): its metadata is probably corrupt`, {
        op: 'slice',
      }, { code: 'CHUNK_OUT_OF_FILE' });
    }
    const stop = Math.min(end ?? byteLength, byteLength);
    if (stop <= start) return new ArrayBuffer(0);
    return toArrayBuffer(await source.readAt(start, stop - start));
  };
  return {
    byteLength,
    slice(start: number, end?: number): Promise<ArrayBuffer> {
      const p = read(start, end);
      p.catch(() => undefined); // marks it handled; `p` itself still rejects for its awaiter
      return p;
    },
  };
}

/** hyparquet's messages for a feature it lacks (a codec without `compressors`, an encoding), not corrupt bytes. */
const HYPARQUET_UNSUPPORTED = /unsupported (compression codec|encoding)|not supported/;

/**
 * What hyparquet threw, as a ReaderError: I/O errors from our AsyncBuffer pass through (with context),
 * a missing feature is `Unsupported`, anything else (RangeError, TypeError, "parquet ..." errors from
 * corrupt pages) is `InvalidData`; the original error is the `cause`.
 */
export function hyparquetError(err: unknown, context: ErrorContext): ReaderError {
  if (isReaderError(err)) return err.withContext(context);
  const message = err instanceof Error ? err.message : String(err);
  const unsupported = HYPARQUET_UNSUPPORTED.test(message);
  return new ReaderError(unsupported ? 'Unsupported' : 'InvalidData', `hyparquet could not decode the file: ${message}`, { ...context, op: 'decode' }, {
    code: unsupported ? 'UNSUPPORTED_CODEC' : 'DECODE_FAILED',
    cause: err,
  });
}
