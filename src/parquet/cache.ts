/**
 * Parsed footers across opens, so a warm open costs no request. One entry per object identity
 * (backend instance + path, or the URL), holding the version it was read at: ETag, size and
 * Last-Modified. A source opened from it trusts it until its first data request, which checks it
 * (If-Match with the ETag; without one, the response's size and Last-Modified). An entry a response
 * contradicts is dropped at once, and a fresh open replaces it: the cache never holds two versions
 * of one object, nor one that failed a check. See `ParquetSource` and the README's "Consistency".
 */
import type { FileMetaData } from 'hyparquet';
import { LRUCache } from 'lru-cache';
import type { Backend } from '../types.js';
import type { MetadataLayout } from './footer-layout.js';

/**
 * Process-wide budget for cached footers. 64 MiB holds ~2,000 typical footers (a few KiB to tens of
 * KiB each, ×3 once parsed) — the "open 2,000 files" case — while staying small next to data buffers.
 */
export const DEFAULT_METADATA_CACHE_BYTES = 64 * 1024 * 1024;

/** Parsed metadata objects take roughly this many times their Thrift size in memory. */
const PARSED_SIZE_FACTOR = 3;

export interface CachedFooter {
  /** The version it was read at. */
  size: number;
  etag?: string;
  lastModified?: Date;
  /**
   * hyparquet's full metadata. On an entry an open made it is parsed on first use, and it and
   * `layout` are not enumerable: a structured clone of the entry (a cache in IndexedDB or another
   * thread, `v8.serialize`) holds only the data fields (version, `metadataLength`, `footer`), and an
   * open from such a copy reads the layout from `footer` again. An entry made elsewhere may give it
   * as a plain field.
   */
  readonly metadata?: FileMetaData;
  /** What planning reads (schema, row counts, chunk offsets), read at open; without it, `metadata` serves, or `footer` is read again. */
  readonly layout?: MetadataLayout;
  metadataLength: number;
  /** The raw footer (metadata + 8 bytes), kept so a warm source can serve it to decoders without a request. */
  footer: Uint8Array;
}

export interface MetadataCache {
  get(key: string): CachedFooter | undefined;
  set(key: string, value: CachedFooter): unknown;
  delete(key: string): unknown;
}

/** A byte-bounded LRU of footers (what `openParquet` uses unless given another or `false`). */
export function createMetadataCache(maxBytes = DEFAULT_METADATA_CACHE_BYTES): LRUCache<string, CachedFooter> {
  return new LRUCache<string, CachedFooter>({
    maxSize: maxBytes,
    sizeCalculation: (v) => Math.max(1, v.footer.byteLength + v.metadataLength * PARSED_SIZE_FACTOR),
  });
}

let shared: LRUCache<string, CachedFooter> | undefined;

/** The process-wide cache. */
export function sharedMetadataCache(): LRUCache<string, CachedFooter> {
  shared ??= createMetadataCache();
  return shared;
}

const ids = new WeakMap<Backend, number>();
let nextId = 1;

/** A cache key for a backend instance and path (two backends never share entries). */
export function metadataCacheKey(backend: Backend, path: string): string {
  let id = ids.get(backend);
  if (id === undefined) {
    id = nextId++;
    ids.set(backend, id);
  }
  return `${backend.kind}#${id}\u0000${path}`;
}
