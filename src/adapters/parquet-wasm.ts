/**
 * parquet-wasm over a reader. parquet-wasm 0.8's `ParquetFile.fromFile(blob)` reads through
 * `blob.slice(a, b).arrayBuffer()`; if that promise rejects (or is short) the wasm code panics: the
 * panic escapes as an uncaught `RuntimeError: unreachable` and the read promise never settles. So a
 * slice here never rejects: it retries retryable errors, and on a final failure it reports the error
 * to the caller's read (which rejects with it) and leaves parquet-wasm's own promise pending.
 */
import { sleep } from '../sleep.js';
import { ReaderError, isReaderError } from '../errors.js';
import { clampSlice, toArrayBuffer, type RandomAccess } from './random-access.js';

/** Attempts per slice: parquet-wasm cannot handle a failure, so transient ones are absorbed here. */
export const PARQUET_WASM_SLICE_ATTEMPTS = 4;
/** First retry delay; doubles per attempt with full jitter (AWS SDK's base is 100 ms too). */
export const PARQUET_WASM_RETRY_BASE_MS = 100;

/** The part of the Blob interface parquet-wasm uses. */
export interface BlobLike {
  readonly size: number;
  readonly type: string;
  slice(start?: number, end?: number): BlobLike;
  arrayBuffer(): Promise<ArrayBuffer>;
}

export interface WasmBlobOptions {
  /** Called once per slice that failed for good; the caller's read should reject with it. */
  onError(err: ReaderError): void;
  attempts?: number;
  baseDelayMs?: number;
  signal?: AbortSignal;
}

async function readWithRetry(source: RandomAccess, offset: number, length: number, opts: WasmBlobOptions): Promise<Uint8Array> {
  const attempts = opts.attempts ?? PARQUET_WASM_SLICE_ATTEMPTS;
  const base = opts.baseDelayMs ?? PARQUET_WASM_RETRY_BASE_MS;
  for (let attempt = 1; ; attempt++) {
    try {
      const bytes = await source.readAt(offset, length);
      if (bytes.byteLength !== length) {
        throw new ReaderError('Unexpected', `short read for the decoder: ${bytes.byteLength} of ${length} bytes at ${offset}`, { op: 'read' });
      }
      return bytes;
    } catch (err) {
      const retry = isReaderError(err) && err.retryable && attempt < attempts && !opts.signal?.aborted;
      if (!retry) throw err;
      const delay = Math.random() * Math.max(base * 2 ** (attempt - 1), err.retryAfterMs ?? 0);
      await sleep(delay);
    }
  }
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
      return readWithRetry(source, start, end - start, opts).then(toArrayBuffer, (err: unknown) => {
        opts.onError(isReaderError(err) ? err : new ReaderError('Unexpected', String(err), { op: 'read' }, { cause: err }));
        return new Promise<ArrayBuffer>(() => {}); // never settles: a rejection would panic the decoder
      });
    },
  };
}
