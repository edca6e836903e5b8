/**
 * Drop-in file objects for decoders that read by themselves: replace hyparquet's
 * `asyncBufferFromUrl({ url })` with `await openAsyncBuffer(url)`, or parquet-wasm's
 * `ParquetFile.fromUrl(url)` with `ParquetFile.fromFile(await openBlob(url))`. Both open through
 * `openParquet` (one suffix GET: size from Content-Range, the footer held, no HEAD; the footer
 * cache applies), and serve the decoder's reads from a batching BufferReader: the reads a decoder
 * issues together go out as one planned wave.
 */
import type { AsyncBuffer } from 'hyparquet';
import type { BlobLike } from '../adapters/parquet-wasm.js';
import type { ReaderError } from '../errors.js';
import type { Backend } from '../types.js';
import { openParquet, type OpenParquetOptions, type ParquetSource } from './source.js';

/** A file object that owns its source: `close()` releases the buffer; `source` has plans and stats. */
export interface DropIn {
  readonly source: ParquetSource;
  close(): Promise<void>;
}

/** hyparquet's `AsyncBuffer` (`byteLength`, `slice`) over an opened file. */
export type DropInAsyncBuffer = AsyncBuffer & DropIn;

/** The Blob-like that parquet-wasm's `ParquetFile.fromFile` takes, over an opened file. */
export type DropInBlob = BlobLike & DropIn;

export interface OpenBlobOptions extends OpenParquetOptions {
  /**
   * Hears a slice that failed for good. parquet-wasm cannot take an error from its input (its read
   * would panic), so such a slice never settles: reject your read from here (see `toBlob`).
   */
  onError?: (err: ReaderError) => void;
}

/**
 * Opens a Parquet file as hyparquet's `AsyncBuffer`: `parquetReadObjects({ file: await openAsyncBuffer(url) })`.
 * One GET opens it (none with a cached footer); hyparquet's metadata read is served from that GET's
 * bytes, and the slices of each of its reads (fired together) are one planned wave.
 * `openAsyncBuffer(url, options?)` or `openAsyncBuffer(backend, path, options?)`.
 */
export async function openAsyncBuffer(backendOrUrl: Backend | string, pathOrOptions?: string | OpenParquetOptions, maybeOptions?: OpenParquetOptions): Promise<DropInAsyncBuffer> {
  const source = await openParquet(backendOrUrl, pathOrOptions, maybeOptions);
  return Object.assign(source.toAsyncBuffer(), { source, close: () => source.close() });
}

/**
 * Opens a Parquet file as the Blob-like of `ParquetFile.fromFile(await openBlob(url))` (parquet-wasm).
 * Slices retry transient failures and never reject (parquet-wasm would panic): `onError` hears a
 * final failure. `openBlob(url, options?)` or `openBlob(backend, path, options?)`.
 */
export async function openBlob(backendOrUrl: Backend | string, pathOrOptions?: string | OpenBlobOptions, maybeOptions?: OpenBlobOptions): Promise<DropInBlob> {
  const source = await openParquet(backendOrUrl, pathOrOptions, maybeOptions);
  const options = (typeof pathOrOptions === 'object' ? pathOrOptions : maybeOptions) ?? {};
  return Object.assign(source.toBlob(options.onError), { source, close: () => source.close() });
}
