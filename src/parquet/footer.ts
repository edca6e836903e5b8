import { collectBody, collectChunks, lastBytes } from '../body.js';
import { DEFAULT_BYTES_PER_SECOND, DEFAULT_TTFB_MS } from '../buffer-reader/cost-model.js';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ObjectMeta } from '../types.js';
import { checkVersion, isStrongEtag } from '../version.js';

/**
 * Share of one first-byte wait worth spending on reading extra tail bytes. Over-reading W bytes costs
 * W / bandwidth; at 0.4 × TTFB × bandwidth an open that only needed the footer stays within 1.4× of
 * its floor (one TTFB plus the footer's own bytes), while a file that fits comes back whole.
 */
export const FOOTER_WINDOW_TTFB_SHARE = 0.4;

/**
 * Bytes of the tail fetched by the first (suffix) GET: FOOTER_WINDOW_TTFB_SHARE × the S3 defaults'
 * 30 ms × 64 MiB/s ≈ 786 KiB. That holds the whole footer of every file in apache/parquet-testing
 * (largest: 19 KiB) and of wide files up to thousands of column chunks (320 columns × 4 row groups:
 * 166 KiB), and brings back a whole object of up to ~786 KiB in one request — the 800 KB,
 * 600-chunk case costs one GET. Others: hyparquet and DataFusion 512 KiB, fsspec 1 MB, Arrow C++ 64 KiB.
 */
export const DEFAULT_FOOTER_WINDOW = Math.round(FOOTER_WINDOW_TTFB_SHARE * (DEFAULT_TTFB_MS / 1000) * DEFAULT_BYTES_PER_SECOND);

/** Smallest valid Parquet file: `PAR1` + empty metadata length + `PAR1` (catalogue case 18). */
export const PARQUET_MIN_SIZE = 12;
const MAGIC = 0x31524150; // "PAR1" little-endian
const MAGIC_ENCRYPTED = 0x45524150; // "PARE"

export interface FooterOptions {
  /** Bytes to fetch in the first request (default DEFAULT_FOOTER_WINDOW); a good hint saves a GET. */
  footerSizeHint?: number;
  signal?: AbortSignal;
}

export interface Tail {
  meta: ObjectMeta;
  /** Bytes from `offset` to the end of the object: at least the whole footer (metadata + 8). */
  bytes: Uint8Array;
  offset: number;
  /** Thrift-encoded FileMetaData length (from the footer). */
  metadataLength: number;
  /** Requests made: 1 (the window held the footer) or 2. */
  requests: number;
}

/** Validates the last 8 bytes of a Parquet file and returns the metadata length. */
export function parseFooter(last8: Uint8Array, size: number, context: ErrorContext): number {
  if (size < PARQUET_MIN_SIZE) {
    throw new ReaderError('InvalidData', `not a Parquet file: ${size} bytes is smaller than the ${PARQUET_MIN_SIZE}-byte minimum`, { ...context, size }, { code: 'FOOTER_TOO_SHORT' });
  }
  const view = new DataView(last8.buffer, last8.byteOffset, last8.byteLength);
  const magic = view.getUint32(4, true);
  if (magic === MAGIC_ENCRYPTED) {
    throw new ReaderError('Unsupported', 'encrypted Parquet files (footer magic PARE) are not supported', context, { code: 'ENCRYPTED' });
  }
  if (magic !== MAGIC) {
    throw new ReaderError('InvalidData', 'not a Parquet file: the last 4 bytes are not "PAR1"', context, { code: 'BAD_MAGIC' });
  }
  const metadataLength = view.getUint32(0, true);
  if (metadataLength > size - PARQUET_MIN_SIZE) {
    throw new ReaderError('InvalidData', `corrupt Parquet footer: metadata length ${metadataLength} exceeds the file (size ${size})`, {
      ...context,
      size,
      metadataLength,
    }, { code: 'METADATA_TOO_LONG' });
  }
  return metadataLength;
}

/**
 * Fetches the tail of a Parquet file holding its whole footer: one suffix GET (its Content-Range
 * gives the size, so no HEAD), plus exactly one GET for the rest of the metadata when it is longer
 * than the window. Backends without suffix ranges get a stat and a bounded read instead.
 * The second request carries If-Match with the first response's ETag, so the two halves are of one version.
 */
export async function readTail(backend: Backend, path: string, opts: FooterOptions = {}): Promise<Tail> {
  const { chunks, ...tail } = await readTailParts(backend, path, opts, 'joined');
  return { ...tail, bytes: chunks[0] ?? new Uint8Array(0) };
}

/**
 * How an open keeps the bytes of its tail: `'joined'`, one buffer (each chunk copied into place as
 * it arrives, while the wait for the rest leaves the CPU idle); `'chunks'`, the chunks as they
 * arrived, no copy — for an open that will read little of the window beyond the footer (a
 * projection of a wide file: 786 KiB fetched, 166 KiB of it footer), the footer alone is then copied
 * out (`lastBytes`), and the window's 786 KiB buffer is never allocated.
 */
export type TailKeeping = 'joined' | 'chunks';

/** A tail as consecutive chunks (one, when joined): `chunks` cover `[offset, meta.size)`. */
export interface TailParts extends Omit<Tail, 'bytes'> {
  chunks: Uint8Array[];
}

/** `readTail`, keeping the bytes as `keep` says. */
export async function readTailParts(backend: Backend, path: string, opts: FooterOptions, keep: TailKeeping): Promise<TailParts> {
  const window = Math.max(8, Math.floor(opts.footerSizeHint ?? DEFAULT_FOOTER_WINDOW));
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  const first = await suffixParts(backend, path, window, keep, opts.signal, (size) => {
    if (size < PARQUET_MIN_SIZE) parseFooter(new Uint8Array(8), size, context);
  });
  const { meta } = first;
  if (partsLength(first.chunks) < 8) parseFooter(new Uint8Array(8), meta.size, context); // throws: too small
  const metadataLength = parseFooter(lastBytes(first.chunks, 8), meta.size, context);
  const tail = await extendParts(backend, path, first, metadataLength + 8, keep, opts.signal);
  return { ...tail, metadataLength };
}

function partsLength(chunks: readonly Uint8Array[]): number {
  let n = 0;
  for (const c of chunks) n += c.byteLength;
  return n;
}

/** A body kept as `keep` says: one buffer (of the announced `length`), or its chunks. */
async function keepBody(body: AsyncIterable<Uint8Array>, length: number | undefined, keep: TailKeeping): Promise<Uint8Array[]> {
  if (keep === 'chunks') return collectChunks(body);
  const bytes = await collectBody(body, length);
  return bytes.byteLength ? [bytes] : [];
}

/** Joins chunks into one buffer (none to copy when there is one). */
function joinParts(chunks: readonly Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  const out = new Uint8Array(partsLength(chunks));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * A suffix grown to the last `need` bytes: exactly one more GET, for the bytes before it, pinned
 * with If-Match and checked to be of the same version (the two halves are never stitched from two
 * versions). Unchanged when it already holds them.
 */
export async function extendSuffix(backend: Backend, path: string, tail: Suffix, need: number, signal?: AbortSignal): Promise<Suffix> {
  if (need <= tail.bytes.byteLength) return tail;
  const { bytes, ...rest } = tail;
  const { chunks, ...extended } = await extendParts(backend, path, { ...rest, chunks: bytes.byteLength ? [bytes] : [] }, need, 'joined', signal);
  return { ...extended, bytes: joinParts(chunks) };
}

/** `extendSuffix` on a suffix in chunks; the bytes before it are kept as `keep` says (joined: with the rest, in one buffer). */
async function extendParts(backend: Backend, path: string, tail: SuffixParts, need: number, keep: TailKeeping, signal?: AbortSignal): Promise<SuffixParts> {
  if (need <= partsLength(tail.chunks)) return tail;
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  const { meta } = tail;
  const start = meta.size - need;
  const res = await backend.read(path, { offset: start, length: tail.offset - start }, { ...(signal ? { signal } : {}), ...ifMatch(meta) });
  sameVersion(meta, res, context);
  const head = await keepBody(res.body, undefined, keep);
  const chunks = keep === 'joined' ? [joinParts([...head, ...tail.chunks])] : [...head, ...tail.chunks];
  return { meta, chunks, offset: start, requests: tail.requests + 1 };
}

/** The last bytes of an object, with its size and version: what one suffix GET tells. */
export interface Suffix {
  meta: ObjectMeta;
  bytes: Uint8Array;
  /** Where `bytes` start in the object. */
  offset: number;
  /** Requests made: 1, or 2 (stat + bounded read) on a backend without suffix ranges. */
  requests: number;
}

/** A suffix as consecutive chunks. */
interface SuffixParts extends Omit<Suffix, 'bytes'> {
  chunks: Uint8Array[];
}

/**
 * The last `window` bytes of an object in one suffix GET (its Content-Range gives the size: no
 * HEAD). Backends without suffix ranges get a stat and a bounded read pinned with If-Match;
 * `checkSize` sees the size between the two (it may throw to skip the read).
 */
export async function readSuffix(backend: Backend, path: string, window: number, signal?: AbortSignal, checkSize?: (size: number) => void): Promise<Suffix> {
  const { chunks, ...suffix } = await suffixParts(backend, path, window, 'joined', signal, checkSize);
  return { ...suffix, bytes: chunks[0] ?? new Uint8Array(0) };
}

/** `readSuffix`, keeping the bytes as `keep` says. */
async function suffixParts(backend: Backend, path: string, window: number, keep: TailKeeping, signal?: AbortSignal, checkSize?: (size: number) => void): Promise<SuffixParts> {
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  const opts = signal ? { signal } : {};
  if (backend.capabilities.suffix) {
    const res = await backend.read(path, { suffix: window }, opts);
    // Joined: with the announced length, each chunk is copied into place as it arrives.
    return { meta: res.meta, chunks: await keepBody(res.body, res.range.length, keep), offset: res.range.offset, requests: 1 };
  }
  const meta = await backend.stat(path, opts);
  checkSize?.(meta.size);
  const offset = Math.max(0, meta.size - window);
  if (meta.size === 0) return { meta, chunks: [], offset, requests: 1 }; // catalogue case 9: no ranged request
  const res = await backend.read(path, { offset, length: meta.size - offset }, { ...opts, ...ifMatch(meta) });
  sameVersion(meta, res, context);
  return { meta, chunks: await keepBody(res.body, res.range.length, keep), offset, requests: 2 };
}

/**
 * A later response must be of the version the first one told: same size, ETag and Last-Modified. A
 * weak or missing ETag cannot be a precondition, so this is where it is compared (catalogue 4, 5);
 * the two halves of a footer are never stitched from two versions.
 */
export function sameVersion(first: ObjectMeta, res: { meta: ObjectMeta; body: AsyncIterable<Uint8Array> }, context: ErrorContext): void {
  try {
    checkVersion(first, res.meta, 'while reading its footer', context);
  } catch (err) {
    res.body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
    throw err;
  }
}

/** If-Match options for a strong ETag (a weak `W/` one cannot be used as a precondition: catalogue case 5). */
export function ifMatch(meta: ObjectMeta): { ifMatch?: string } {
  return isStrongEtag(meta.etag) ? { ifMatch: meta.etag } : {};
}
