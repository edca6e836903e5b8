/**
 * The one open path of a Parquet file, and what an open is bound to: one version of the object (a
 * `BoundFile`, bound-file.ts).
 *
 * `bindFile(target)` is the open: a footer from the metadata cache (0 requests) or the tail of the
 * object (1 request, 2 for a long footer), stored in the cache. The result, a `BoundFile`, is
 * immutable: its size, ETag, Last-Modified, metadata and layout describe one version, and its
 * BufferReader only ever returns bytes of that version — pinned to its ETag (sent as If-Match), size
 * and Last-Modified (compared on each response), so the first data request of a warm open validates
 * the cached footer. A reader that meets another version evicts the footer it came from, so no later
 * open trusts it again. `ParquetSource` (source.ts) holds one BoundFile at a time and moves to a new
 * one when a whole-call read finds the object changed.
 *
 * How much the open's one GET asks for is its expectation (`openWindow`): the tail window for a
 * selection or the metadata, the larger whole-read window when the caller will read every byte.
 */
import type { FileMetaData } from 'hyparquet';
import { lastBytes } from '../body.js';
import { BufferReader, type BufferReaderOptions } from '../buffer-reader/buffer-reader.js';
import { DEFAULT_GAP } from '../buffer-reader/cost-model.js';
import { isReaderError, ReaderError, type ErrorContext } from '../errors.js';
import type { Backend } from '../types.js';
import type { ObjectVersion } from '../version.js';
import { BoundFile, type FooterParts } from './bound-file.js';
import type { CachedFooter, MetadataCache } from './cache.js';
import { DEFAULT_FOOTER_WINDOW, readTailParts } from './footer.js';
import { ParsedFooter } from './metadata.js';

/**
 * What the caller will read after the open: `'part'` (a selection, or only the metadata) or
 * `'whole'` (every byte: `readTable()`/`readObjects()`/`readBatches()` with no selection).
 */
export type ReadExpectation = 'part' | 'whole';

/** Checks an `expect` option (undefined is the default, `'part'`): anything else is INVALID_ARGUMENT, before any request. */
export function checkExpectation(value: unknown, context: ErrorContext): asserts value is ReadExpectation | undefined {
  if (value !== undefined && value !== 'part' && value !== 'whole') {
    throw new ReaderError('InvalidInput', `expect must be 'part' or 'whole', got ${JSON.stringify(value)}`, context, { code: 'INVALID_ARGUMENT' });
  }
}

/** What an open needs to be repeated: where the object is, which cache entry is its, and the options. */
export interface OpenTarget {
  backend: Backend;
  path: string;
  /** The object's identity in the cache (backend instance + path, or the URL). */
  cacheKey: string;
  cache: MetadataCache | undefined;
  footerSizeHint?: number;
  /** What the caller will read: sizes the open's GET (`openWindow`). Default `'part'`. */
  expect?: ReadExpectation;
  reader?: Omit<BufferReaderOptions, 'size' | 'etag' | 'lastModified' | 'signal' | 'onVersionChanged'>;
  signal?: AbortSignal;
}

/**
 * Bytes of the open's first (suffix) GET. For `'part'`: the tail window (`footerSizeHint`, default
 * DEFAULT_FOOTER_WINDOW), sized so that a metadata-only open stays near its floor. For `'whole'`:
 * the larger of that and the reader's merge gap — TTFB × bandwidth from its cost model (≈ 1.9 MiB,
 * 2.5 tail windows, with the S3 defaults; the `gap` option when set). Those are the bytes one
 * first-byte wait transfers, so a file that fits comes back in one GET within two first-byte
 * waits, sooner than any read in two round trips (two waits plus its transfer); a bigger file takes
 * a second round trip, spread over connections, for the bytes before the window only.
 * (Without the object's size a prefix request sent beside the suffix would overlap it on every file
 * smaller than twice the window, and double the GETs of one that fits the tail window.)
 */
export function openWindow(target: Pick<OpenTarget, 'footerSizeHint' | 'expect' | 'reader'>): number {
  const tail = target.footerSizeHint ?? DEFAULT_FOOTER_WINDOW;
  if ((target.expect ?? 'part') === 'part') return tail;
  return Math.max(tail, target.reader?.gap ?? target.reader?.costModel?.gap ?? DEFAULT_GAP);
}

/** Removes `entry` from the cache if it is still the one held for the target (never a newer one). */
export function forgetEntry(target: OpenTarget, entry: CachedFooter | undefined): void {
  if (!entry || !target.cache) return;
  const cache = target.cache as MetadataCache & { peek?(key: string): CachedFooter | undefined };
  const held = cache.peek ? cache.peek(target.cacheKey) : cache.get(target.cacheKey);
  if (held && sameVersion(held, entry)) cache.delete(target.cacheKey);
}

/**
 * Whether two cache entries are of one version: the same object, or (a cache that stores copies,
 * e.g. by structured clone, returns a new one per `get`) the same size, ETag, Last-Modified and
 * footer length. Two versions alike in all four are taken as one: forgetting it costs a re-read.
 */
function sameVersion(a: CachedFooter, b: CachedFooter): boolean {
  return a === b || (a.size === b.size && a.etag === b.etag && a.lastModified?.getTime() === b.lastModified?.getTime() && a.metadataLength === b.metadataLength);
}

/**
 * Opens the target: from the cache when it holds a footer (0 requests, trusted until the first data
 * request checks it), else from the tail of the object, which is then cached — replacing whatever
 * the cache held for this identity, so it never holds two versions of one object.
 */
export async function bindFile(target: OpenTarget): Promise<BoundFile> {
  const { backend, path, cache } = target;
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  let entry: CachedFooter | undefined;
  // A stale footer (a response of another version) or one a later check finds corrupt: no later open may use it.
  const forget = (): void => forgetEntry(target, entry);
  const readerFor = (version: ObjectVersion & { size: number }): BufferReader =>
    new BufferReader(backend, path, {
      ...target.reader,
      size: version.size,
      ...(version.etag ? { etag: version.etag } : {}),
      ...(version.lastModified ? { lastModified: version.lastModified } : {}),
      ...(target.signal ? { signal: target.signal } : {}),
      onVersionChanged: forget,
    });

  entry = cache?.get(target.cacheKey);
  if (entry) {
    const version = cachedVersion(entry);
    const reader = readerFor(version);
    const held = { offset: entry.size - entry.footer.byteLength, length: entry.footer.byteLength };
    reader.insert(held.offset, entry.footer);
    try {
      return new BoundFile(backend, path, version, cachedParts(entry, context), entry.metadataLength, held, 0, reader, entry, forget);
    } catch (err) {
      if (isReaderError(err, 'InvalidData')) forget(); // an entry made elsewhere (or a copy) whose footer fails the open's checks
      throw err;
    }
  }

  // A whole read decodes the window's bytes: they are kept in one buffer. Any other open reads little
  // of the window but its footer: the chunks are kept as they arrived, and the footer alone copied.
  const expect = target.expect ?? 'part';
  const tail = await readTailParts(backend, path, { footerSizeHint: openWindow(target), ...(target.signal ? { signal: target.signal } : {}) }, expect === 'whole' ? 'joined' : 'chunks');
  const footerBytes = lastBytes(tail.chunks, tail.metadataLength + 8);
  const footer = ParsedFooter.read({ ...tail, bytes: footerBytes, offset: tail.meta.size - footerBytes.byteLength }, context);
  const version: ObjectVersion & { size: number } = {
    size: tail.meta.size,
    ...(tail.meta.etag ? { etag: tail.meta.etag } : {}),
    ...(tail.meta.lastModified ? { lastModified: tail.meta.lastModified } : {}),
  };
  if (cache) entry = cacheEntry(version, footer);
  const reader = readerFor(version);
  let at = tail.offset;
  for (const chunk of tail.chunks) {
    reader.insert(at, chunk);
    at += chunk.byteLength;
  }
  const held = { offset: tail.offset, length: at - tail.offset };
  const bound = new BoundFile(backend, path, version, footer, tail.metadataLength, held, tail.requests, reader, entry, forget);
  if (cache && entry) cache.set(target.cacheKey, entry); // after the open's checks: a footer that fails them is never cached (nor kept: `forget`)
  return bound;
}

/**
 * A cache entry of a footer read by an open: its full metadata is parsed on first use, once, for
 * every open that shares it. The layout and the metadata are not enumerable: a structured clone of
 * the entry copies its data only (the layout's chunks hold the footer's walk, which cannot be
 * cloned, and cloning the metadata would parse it); `cachedParts` skims such a copy's footer again.
 */
function cacheEntry(version: ObjectVersion & { size: number }, footer: ParsedFooter): CachedFooter {
  const entry: CachedFooter = { ...version, metadataLength: footer.metadataLength, footer: footer.bytes };
  return Object.defineProperties(entry, {
    layout: { value: footer.layout, enumerable: false },
    metadata: { get: () => footer.metadata, enumerable: false },
  });
}

/**
 * The parts of a cached footer: an open's entry holds its layout (and the lazy metadata); an entry
 * made elsewhere may give only the full metadata, which serves as the layout; a copy holding the
 * data fields only (a structured clone of an open's entry) has its footer skimmed again.
 */
function cachedParts(entry: CachedFooter, context: ErrorContext): FooterParts {
  const layout = entry.layout;
  if (layout && 'metadata' in entry) {
    return {
      layout,
      get metadata() {
        return entry.metadata as FileMetaData;
      },
    };
  }
  const metadata = layout ? undefined : entry.metadata;
  if (metadata) return { layout: metadata, metadata };
  const bytes = entry.footer;
  return ParsedFooter.read({ meta: { size: entry.size }, bytes, offset: entry.size - bytes.byteLength, metadataLength: entry.metadataLength, requests: 0 }, context);
}

function cachedVersion(entry: CachedFooter): ObjectVersion & { size: number } {
  return {
    size: entry.size,
    ...(entry.etag ? { etag: entry.etag } : {}),
    ...(entry.lastModified ? { lastModified: entry.lastModified } : {}),
  };
}
