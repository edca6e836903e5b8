/**
 * Listing, shared by every backend and layer: a listing is `listPage` called until the last page,
 * so each page is one request that layers count, retry, limit and throttle like a GET.
 */
import { ReaderError, throwIfAborted } from './errors.js';
import type { Backend, ListEntry, ListOptions, ListPage, ListPageOptions } from './types.js';

/**
 * Keys per listing page: S3 ListObjectsV2's maximum (and default) `max-keys`. The fs and memory
 * backends page the same way, so a listing costs ⌈objects / 1000⌉ requests on every backend.
 */
export const LIST_PAGE_SIZE = 1000;

type PageFn = (prefix: string, opts?: ListPageOptions) => Promise<ListPage>;

/** Every entry of a listing, page after page, in the order the pages give them. */
export async function* listFromPages(listPage: PageFn, prefix: string, opts: ListOptions = {}): AsyncGenerator<ListEntry> {
  let cursor: string | undefined;
  do {
    throwIfAborted(opts.signal, { op: 'list', path: prefix });
    const page: ListPage = await listPage(prefix, { ...opts, ...(cursor === undefined ? {} : { cursor }) });
    for (const e of page.entries) yield e;
    if (page.cursor !== undefined && page.cursor === cursor) {
      throw new ReaderError('Unexpected', `listing of ${JSON.stringify(prefix)} did not advance past cursor ${JSON.stringify(cursor)}`, { op: 'list', path: prefix }, { code: 'BAD_LISTING' });
    }
    cursor = page.cursor;
  } while (cursor !== undefined);
}

/**
 * The `list`/`listPage` members a layer exposes: `listPage` wrapped by the layer, `list` built on the
 * wrapped one. Empty when the inner backend cannot list, so `capabilities.list` stays the truth.
 */
export function listMembers(inner: Backend, wrap: (page: PageFn) => PageFn): Pick<Backend, 'list' | 'listPage'> {
  const innerPage = inner.listPage?.bind(inner);
  if (!innerPage) return {};
  const listPage = wrap(innerPage);
  return { listPage, list: (prefix, opts) => listFromPages(listPage, prefix, opts) };
}

/**
 * One page out of a complete, sorted set of entries (memory, fs): those after `cursor` that start
 * with `prefix`, non-recursive ones without a `/` past the prefix, at most LIST_PAGE_SIZE. The cursor
 * is the last path returned (S3's `start-after`).
 */
export function pageOf(sorted: Iterable<ListEntry>, prefix: string, opts: ListPageOptions = {}): ListPage {
  const entries: ListEntry[] = [];
  const recursive = opts.recursive ?? true;
  for (const e of sorted) {
    if (!e.path.startsWith(prefix)) continue;
    if (opts.cursor !== undefined && e.path <= opts.cursor) continue;
    if (!recursive && e.path.indexOf('/', prefix.length) !== -1) continue;
    if (entries.length === LIST_PAGE_SIZE) return { entries, cursor: (entries[entries.length - 1] as ListEntry).path };
    entries.push(e);
  }
  return { entries };
}

/** A listing as an array (for callers that need every entry at once). */
export async function listAll(backend: Backend, prefix: string, opts: ListOptions = {}): Promise<ListEntry[]> {
  if (!backend.capabilities.list || !backend.list) {
    throw new ReaderError('Unsupported', `the ${backend.kind} backend cannot list objects: give a list of files or a manifest`, { backend: backend.kind, op: 'list', path: prefix }, { code: 'LIST_UNSUPPORTED' });
  }
  const out: ListEntry[] = [];
  for await (const e of backend.list(prefix, opts)) out.push(e);
  return out;
}
