/**
 * The footers of a dataset's files: fetched in parallel (bounded), one GET each through the metadata
 * cache, kept as the cache's own entries so a file is opened again with no request. Schemas are
 * compared across files here.
 */
import type { FileMetaData, SchemaElement } from 'hyparquet';
import { ReaderError } from '../errors.js';
import type { CachedFooter, MetadataCache } from '../parquet/cache.js';
import { parseMetadata } from '../parquet/metadata.js';
import { openParquet, type OpenParquetOptions, type ParquetSource } from '../parquet/source.js';
import type { Backend } from '../types.js';

/**
 * Footer GETs in flight while opening a dataset. 32 keeps ⌈files / 32⌉ × TTFB short (1,000 files
 * behind a 30 ms first byte open in about a second) and stays well inside the HTTP pool's 64
 * sockets per origin (HTTP_CONNECTIONS_PER_ORIGIN), leaving room for data reads of other files.
 */
export const DATASET_FOOTER_CONCURRENCY = 32;

/**
 * Tail bytes asked for per footer: 64 KiB (Arrow C++'s default). A dataset's files are many and
 * alike, and their footers are small (tens of columns × a few row groups is 5–30 KiB); the 786 KiB
 * window of a single open (DEFAULT_FOOTER_WINDOW) would move ~8 GB to open 10,000 large files. A
 * longer footer costs one more GET for exactly the rest; a file smaller than this comes back whole.
 */
export const DATASET_FOOTER_WINDOW = 64 * 1024;

/** `fn` over `items` with at most `limit` running at once; results in input order; the first failure stops new starts. */
export async function mapBounded<T, R>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  let failed = false;
  const worker = async (): Promise<void> => {
    while (!failed && next < items.length) {
      const i = next++;
      try {
        out[i] = await fn(items[i] as T, i);
      } catch (err) {
        failed = true;
        throw err;
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
  return out;
}

/** A cache entry with its full metadata: what a dataset keeps of each file (it reads schemas, row counts and statistics). */
export type DatasetFooter = CachedFooter & { readonly metadata: FileMetaData };

/**
 * `entry` with its full metadata: as it is when it has it, else (a cache that stores copies of an
 * open's entries, by structured clone, holds their data only) parsed from its footer bytes.
 */
export function withMetadata(entry: CachedFooter, backend: Backend, path: string): DatasetFooter {
  if (entry.metadata) return entry as DatasetFooter;
  const bytes = entry.footer;
  const tail = { meta: { size: entry.size }, bytes, offset: entry.size - bytes.byteLength, metadataLength: entry.metadataLength, requests: 0 };
  return { ...entry, metadata: parseMetadata(tail, { backend: backend.kind, op: 'open', path }) };
}

/** The footer a source was opened with, as a cache entry (copied out of the open's tail window, no request). */
export async function footerOf(source: ParquetSource): Promise<DatasetFooter> {
  const footer = new Uint8Array(await source.readAt(source.size - source.footerLength, source.footerLength));
  return {
    size: source.size,
    metadata: source.metadata,
    metadataLength: source.metadataLength,
    footer,
    ...(source.etag ? { etag: source.etag } : {}),
  };
}

/** A cache that holds one footer: opening through it costs no request (a split's exact footer, a dataset's file). */
export function oneFooter(entry: CachedFooter): MetadataCache {
  return { get: () => entry, set: () => undefined, delete: () => undefined };
}

/**
 * `cache` seen under one fixed key (the key passed to get/set/delete is ignored): a dataset opened by URL keeps its footers under each file's URL
 * (as `openParquet(url)` does), so a re-open with a new backend object is still warm.
 */
export function keyedAs(cache: MetadataCache, key: string): MetadataCache {
  return { get: () => cache.get(key), set: (_, v) => cache.set(key, v), delete: () => cache.delete(key) };
}

/** Opens a file from a footer already held: no request until data is read. */
export function openWithFooter(backend: Backend, path: string, entry: CachedFooter, options: Pick<OpenParquetOptions, 'reader' | 'signal'>): Promise<ParquetSource> {
  return openParquet(backend, path, { ...options, metadataCache: oneFooter(entry) });
}

/**
 * Fetches one file's footer (one GET, two for a footer longer than the window). A footer in the
 * cache (under its fixed key, see keyedAs) is taken as it is: no request and no source to build,
 * so a warm re-open of thousands of files costs the listing and next to no CPU.
 */
export async function fetchFooter(
  backend: Backend,
  path: string,
  options: Pick<OpenParquetOptions, 'footerSizeHint' | 'signal'> & { metadataCache: MetadataCache | false; listedEtag?: string },
): Promise<{ entry: DatasetFooter; requests: number }> {
  const cached = options.metadataCache ? options.metadataCache.get('') : undefined;
  // The listing tells the current version: a footer cached at another ETag is stale, fetch it again.
  const stale = cached?.etag !== undefined && options.listedEtag !== undefined && cached.etag !== options.listedEtag;
  if (cached && !stale) return { entry: withMetadata(cached, backend, path), requests: 0 };
  if (stale && options.metadataCache) options.metadataCache.delete('');
  const { listedEtag: _e, ...open } = options;
  const source = await openParquet(backend, path, { ...open, footerSizeHint: options.footerSizeHint ?? DATASET_FOOTER_WINDOW });
  try {
    return { entry: await footerOf(source), requests: source.openRequests };
  } finally {
    await source.close();
  }
}

/** A schema element's type, as one comparable string (cheap: thousands of files are compared). */
function describeElement(e: SchemaElement): string {
  const logical = e.logical_type === undefined ? '' : JSON.stringify(e.logical_type, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  return `${e.type ?? 'group'}${e.type_length === undefined ? '' : `(${e.type_length})`} ${e.repetition_type ?? ''} ${e.converted_type ?? ''} ${logical} ${e.scale ?? ''} ${e.precision ?? ''} ${e.num_children ?? ''}`.replace(/\s+/g, ' ').trim();
}

/** Leaf-and-group paths of a schema, each with its type description. */
function schemaColumns(metadata: FileMetaData): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (start: number, prefix: string): number => {
    const root = metadata.schema[start] as SchemaElement;
    let i = start + 1;
    for (let c = 0; c < (root.num_children ?? 0); c++) {
      const el = metadata.schema[i] as SchemaElement | undefined;
      if (!el) break;
      const path = prefix === '' ? el.name : `${prefix}.${el.name}`;
      out.set(path, describeElement(el));
      i = el.num_children ? walk(i, path) : i + 1;
    }
    return i;
  };
  if (metadata.schema.length > 0) walk(0, '');
  return out;
}

/**
 * Throws `SCHEMA_MISMATCH` naming the first file (in dataset order) whose schema differs from the
 * first file's, and the first column that differs (missing, extra, or of another type).
 */
export function checkSchemas(files: readonly { path: string; metadata: FileMetaData }[]): void {
  const first = files[0];
  if (!first) return;
  const ref = schemaColumns(first.metadata);
  for (const f of files.slice(1)) {
    const cols = schemaColumns(f.metadata);
    let why: string | undefined;
    for (const [name, type] of ref) {
      const other = cols.get(name);
      if (other === undefined) why = `column ${name} is missing`;
      else if (other !== type) why = `column ${name} is ${other}, not ${type}`;
      if (why) break;
    }
    why ??= [...cols.keys()].filter((k) => !ref.has(k)).map((k) => `column ${k} is not in ${first.path}`)[0];
    if (why) {
      throw new ReaderError('InvalidData', `schema of ${f.path} differs from ${first.path}: ${why}`, { op: 'open', path: f.path, reference: first.path }, { code: 'SCHEMA_MISMATCH' });
    }
  }
}
