/**
 * Which files a dataset has: a listing of a prefix (S3, fs, memory, any backend that can list), an
 * explicit list of URLs or paths, or a manifest (one URL per line, or JSON with sizes and ETags) for
 * stores without listing (HTTP). The only I/O here is the listing or the manifest GET.
 */
import { collectBody } from '../body.js';
import { backendFromUrl, type BackendFromUrlOptions } from '../backends/url.js';
import { ReaderError } from '../errors.js';
import { listFromPages } from '../list.js';
import type { Backend, ListEntry, ListPage, ListPageOptions } from '../types.js';

/** What `openDataset` reads. */
export type DatasetInput =
  /** `s3://bucket/prefix/`, `file:///dir/`, a local directory, or an `http(s)://` manifest URL. */
  | string
  /** Explicit file URLs (one scheme; one bucket for S3). */
  | readonly string[]
  /** A backend of your own: list `prefix`, or take `paths` (names, or entries with sizes), or read a `manifest` through it. */
  | { backend: Backend; prefix?: string; paths?: readonly (string | DatasetEntry)[]; manifest?: string };

/** A file as the listing or the manifest told it (the size is learnt from the footer GET when absent). */
export interface DatasetEntry {
  path: string;
  size?: number;
  etag?: string;
  lastModified?: Date;
}

/** Where a dataset's files are, and how a worker can reach them again (no secrets). */
export interface ResolvedFiles {
  backend: Backend;
  entries: DatasetEntry[];
  /** Partition folders are read from each path after this many characters (the listed prefix's folder). */
  rootLength: number;
  /** LIST pages (or manifest GETs) the listing took. */
  listRequests: number;
  /** The URL of a backend path, for splits; undefined for a backend given as an object. */
  urlOf?: (path: string) => string;
}

export interface FileFilterOptions {
  /** Keep names ending with this (default `.parquet`); `false` keeps every name. Explicit lists are never filtered. */
  suffix?: string | false;
}

/** The default file-name suffix of a dataset's files. */
export const DATASET_SUFFIX = '.parquet';

/**
 * Whether a listed path is a data file: no segment after the root starts with `.` or `_` (hidden
 * files, `_SUCCESS`, `_metadata`, `_common_metadata`, `_temporary/`, `.crc` checksum files of
 * Hadoop writers), and the name ends with the suffix.
 */
export function isDataFile(relative: string, suffix: string | false = DATASET_SUFFIX): boolean {
  const segments = relative.split('/');
  if (segments.some((s) => s.startsWith('.') || s.startsWith('_'))) return false;
  const name = segments[segments.length - 1] ?? '';
  if (name === '' || name.endsWith('.crc')) return false;
  return suffix === false || name.endsWith(suffix);
}

/** Counts the pages of a listing (each `listPage` is one request). */
async function listCounting(backend: Backend, prefix: string, signal: AbortSignal | undefined): Promise<{ entries: ListEntry[]; pages: number }> {
  const listPage = backend.listPage?.bind(backend);
  if (!backend.capabilities.list || !listPage) {
    throw new ReaderError('Unsupported', `the ${backend.kind} backend cannot list objects: give a list of files or a manifest`, { backend: backend.kind, op: 'list', path: prefix }, { code: 'LIST_UNSUPPORTED' });
  }
  let pages = 0;
  const counted = (p: string, o?: ListPageOptions): Promise<ListPage> => {
    pages++;
    return listPage(p, o);
  };
  const entries: ListEntry[] = [];
  for await (const e of listFromPages(counted, prefix, signal ? { signal } : {})) entries.push(e);
  return { entries, pages };
}

async function listed(backend: Backend, prefix: string, filter: FileFilterOptions, signal: AbortSignal | undefined, urlOf?: (p: string) => string): Promise<ResolvedFiles> {
  const { entries, pages } = await listCounting(backend, prefix, signal);
  const rootLength = prefix.lastIndexOf('/') + 1;
  const kept = entries.filter((e) => isDataFile(e.path.slice(rootLength), filter.suffix));
  if (kept.length === 0) {
    const why = entries.length ? `${entries.length} objects, none a data file (${filter.suffix === false ? 'all hidden or _ files' : `*${filter.suffix ?? DATASET_SUFFIX}`})` : 'nothing';
    throw new ReaderError('NotFound', `no data files under ${JSON.stringify(prefix)}: the listing found ${why}`, { backend: backend.kind, op: 'list', path: prefix }, { code: 'NOT_FOUND' });
  }
  return { backend, entries: kept, rootLength, listRequests: pages, ...(urlOf ? { urlOf } : {}) };
}

/** Reads a manifest through `backend`: one URL (or path) per line, `#` comments, or JSON. */
export async function readManifest(backend: Backend, path: string, signal?: AbortSignal): Promise<DatasetEntry[]> {
  const res = await backend.read(path, { offset: 0 }, signal ? { signal } : {});
  return parseManifest(new TextDecoder().decode(await collectBody(res.body)), path);
}

/**
 * A manifest's files: JSON (`[{ "path" | "url", "size"?, "etag"? }]`, a list of strings, or
 * `{ "files": [...] }`), or text with one path per line. Bad shapes are `BAD_MANIFEST`.
 */
export function parseManifest(text: string, where: string): DatasetEntry[] {
  const bad = (why: string): never => {
    throw new ReaderError('InvalidInput', `manifest ${where}: ${why}`, { op: 'open', path: where }, { code: 'BAD_MANIFEST' });
  };
  const trimmed = text.trim();
  if (!trimmed.startsWith('[') && !trimmed.startsWith('{')) {
    return trimmed
      .split(/\r?\n/)
      .map((l) => l.trim())
      .filter((l) => l !== '' && !l.startsWith('#'))
      .map((path) => ({ path }));
  }
  let json: unknown;
  try {
    json = JSON.parse(trimmed);
  } catch (err) {
    return bad(`not valid JSON (${err instanceof Error ? err.message : String(err)})`);
  }
  const list = Array.isArray(json) ? json : (json as { files?: unknown }).files;
  if (!Array.isArray(list)) return bad('expected an array of files or { "files": [...] }');
  return list.map((item, i): DatasetEntry => {
    if (typeof item === 'string') return { path: item };
    const o = item as { path?: unknown; url?: unknown; size?: unknown; etag?: unknown };
    const path = typeof o?.path === 'string' ? o.path : typeof o?.url === 'string' ? o.url : bad(`file ${i} has no "path" or "url"`);
    if (o.size !== undefined && !(Number.isSafeInteger(o.size) && (o.size as number) >= 0)) bad(`file ${i} has an invalid "size"`);
    if (o.etag !== undefined && typeof o.etag !== 'string') bad(`file ${i} has an invalid "etag"`);
    return { path, ...(o.size !== undefined ? { size: o.size as number } : {}), ...(typeof o.etag === 'string' ? { etag: o.etag } : {}) };
  });
}

const schemeOf = (url: string): string | undefined => /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();

/** The backend of a folder URL (`s3://b/p/`, `file:///d/`, `./d`) and the listing prefix inside it. */
function folder(url: string, options: BackendFromUrlOptions): { backend: Backend; prefix: string; urlOf: (p: string) => string } {
  const scheme = schemeOf(url);
  if (scheme === 's3') {
    const m = /^s3:\/\/([^/?#]+)\/?(.*)$/is.exec(url);
    if (!m?.[1]) throw new ReaderError('InvalidInput', `an S3 prefix looks like s3://bucket/prefix/, got ${JSON.stringify(url)}`, {}, { code: 'INVALID_ARGUMENT' });
    const bucket = m[1];
    return { backend: backendFromUrl(`s3://${bucket}/_`, options).backend, prefix: m[2] ?? '', urlOf: (p) => `s3://${bucket}/${p}` };
  }
  if (scheme === 'file' || scheme === undefined) {
    const dir = url.replace(/\/+$/, '');
    return { backend: backendFromUrl(`${dir}/_`, options).backend, prefix: '', urlOf: (p) => `${dir}/${p}` };
  }
  throw new ReaderError('Unsupported', `cannot list ${scheme}:// URLs: give a list of file URLs or a manifest`, { path: url }, { code: 'LIST_UNSUPPORTED' });
}

/** Resolves a dataset input to a backend and its files (one listing, one manifest GET, or none). */
export async function resolveFiles(input: DatasetInput, options: FileFilterOptions & { url?: BackendFromUrlOptions; signal?: AbortSignal }): Promise<ResolvedFiles> {
  const urlOptions = options.url ?? {};
  if (typeof input === 'string') {
    const scheme = schemeOf(input);
    if (scheme === 'http' || scheme === 'https') {
      if (new URL(input).pathname.endsWith('/')) {
        throw new ReaderError('Unsupported', `HTTP has no listing: give a manifest URL (one URL per line, or JSON) or a list of file URLs, not the folder ${input}`, { path: input }, { code: 'LIST_UNSUPPORTED' });
      }
      const { backend, path } = backendFromUrl(input, urlOptions);
      return explicit(backend, relativeTo(input, await readManifest(backend, path, options.signal)), 1, (p) => p);
    }
    const { backend, prefix, urlOf } = folder(input, urlOptions);
    return listed(backend, prefix, options, options.signal, urlOf);
  }
  if (isUrlList(input)) {
    const urls = input;
    if (urls.length === 0) throw new ReaderError('InvalidInput', 'openDataset needs at least one file', {}, { code: 'INVALID_ARGUMENT' });
    const first = urls[0] as string;
    const scheme = schemeOf(first);
    if (scheme === 's3') {
      const bucket = /^s3:\/\/([^/?#]+)\//i.exec(first)?.[1];
      const prefix = `s3://${bucket}/`;
      if (!bucket || urls.some((u) => !u.startsWith(prefix))) throw new ReaderError('InvalidInput', 'explicit S3 files must all be s3:// URLs of one bucket', {}, { code: 'INVALID_ARGUMENT' });
      const { backend } = backendFromUrl(`${prefix}_`, urlOptions);
      return explicit(backend, urls.map((u) => ({ path: u.slice(prefix.length) })), 0, (p) => `${prefix}${p}`);
    }
    if (scheme === 'http' || scheme === 'https') {
      if (urls.some((u) => !/^https?:\/\//i.test(u))) throw new ReaderError('InvalidInput', 'explicit HTTP files must all be http(s):// URLs', {}, { code: 'INVALID_ARGUMENT' });
      return explicit(backendFromUrl(first, urlOptions).backend, urls.map((path) => ({ path })), 0, (p) => p);
    }
    throw new ReaderError('InvalidInput', 'explicit files are s3:// or http(s):// URLs; for local files give their directory', {}, { code: 'INVALID_ARGUMENT' });
  }
  const { backend } = input;
  if (input.paths) return explicit(backend, input.paths.map((p) => (typeof p === 'string' ? { path: p } : p)), 0);
  if (input.manifest !== undefined) {
    // A manifest named by its http(s) URL (what `brr … <manifest URL>` passes) lists files relative to it.
    const entries = await readManifest(backend, input.manifest, options.signal);
    return /^https?:\/\//i.test(input.manifest) ? explicit(backend, relativeTo(input.manifest, entries), 1, (p) => p) : explicit(backend, entries, 1);
  }
  return listed(backend, input.prefix ?? '', options, options.signal);
}

/** A manifest's entries as absolute URLs, relative ones resolved against the manifest's own URL. */
const relativeTo = (manifestUrl: string, entries: DatasetEntry[]): DatasetEntry[] => entries.map((e) => ({ ...e, path: new URL(e.path, manifestUrl).href }));

const isUrlList = (input: DatasetInput): input is readonly string[] => Array.isArray(input);

function explicit(backend: Backend, entries: DatasetEntry[], requests: number, urlOf?: (p: string) => string): ResolvedFiles {
  if (entries.length === 0) throw new ReaderError('InvalidInput', 'the dataset has no files', {}, { code: 'INVALID_ARGUMENT' });
  return { backend, entries, rootLength: 0, listRequests: requests, ...(urlOf ? { urlOf } : {}) };
}
