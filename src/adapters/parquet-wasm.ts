/**
 * parquet-wasm over a reader. parquet-wasm 0.8's `ParquetFile.fromFile(blob)` reads through
 * `blob.slice(a, b).arrayBuffer()`; if that promise rejects (or is short) the wasm code panics: the
 * panic escapes as an uncaught `RuntimeError: unreachable` and the read promise never settles. So a
 * slice here never rejects: on a failure it reports the error to the caller's read (which rejects with
 * it) and leaves parquet-wasm's own promise pending.
 *
 * A slice is not retried here: one read has one retry budget, the backend's `withRetry` (which
 * `openParquet(url)` and `backendFromUrl` add by default). Retrying on top of it would multiply the
 * attempts (10 × 4 requests for one dead slice) and retry errors `withRetry` already declared final
 * (`RETRIES_EXHAUSTED`). A backend without `withRetry` was chosen to have no retries, and gets none.
 */
import { ReaderError, isReaderError } from '../errors.js';
import { clampSlice, toArrayBuffer, type RandomAccess } from './random-access.js';

/** The part of the Blob interface parquet-wasm uses. */
export interface BlobLike {
  readonly size: number;
  readonly type: string;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface WasmBlobOptions {
  /** Called once per slice that failed; the caller's read should reject with it. */
  onError(err: ReaderError): void;
}

/** Exactly `length` bytes at `offset`, or a `SHORT_BODY` error. */
async function readExactly(source: RandomAccess, offset: number, length: number): Promise<Uint8Array> {
  const bytes = await source.readAt(offset, length);
  if (bytes.byteLength !== length) {
    throw new ReaderError('Unexpected', `short read for the decoder: ${bytes.byteLength} of ${length} bytes at ${offset}`, { op: 'read' }, { code: 'SHORT_BODY' });
  }
  return bytes;
}

/** A Blob-like view of `[start, end)` of the object for `ParquetFile.fromFile`. */
export function toParquetWasmBlob(source: RandomAccess, size: number, opts: WasmBlobOptions, start = 0, end = size): BlobLike {
  return {
    size: end - start,
    type: '',
    slice(a?: number, b?: number): BlobLike {
      const [lo, hi] = clampSlice(end - start, a, b);
      return toParquetWasmBlob(source, size, opts, start + lo, start + hi);
    },
    arrayBuffer(): Promise<ArrayBuffer> {
      if (end <= start) return Promise.resolve(new ArrayBuffer(0));
      return readExactly(source, start, end - start).then(toArrayBuffer, (err: unknown) => {
        opts.onError(isReaderError(err) ? err : new ReaderError('Unexpected', String(err), { op: 'read' }, { code: 'INTERNAL', cause: err }));
        return new Promise<ArrayBuffer>(() => {}); // never settles: a rejection would panic the decoder
      });
    },
  };
}
