import { plainBytes } from '../../body.js';
import { ReaderError, throwIfAborted } from '../../errors.js';
import { resolveRange, validateRange } from '../../range.js';
import { listFromPages, pageOf } from '../../list.js';
import type { Backend, ByteRange, ListEntry, ListOptions, ListPage, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../../types.js';
import { mapMemoryError } from './errors.js';

/** Bytes handed out per body chunk by default, so consumers see several chunks as they would from a socket. */
export const MEMORY_CHUNK_SIZE = 64 * 1024;

export interface MemoryBackendOptions {
  /** Bytes per body chunk (default MEMORY_CHUNK_SIZE): smaller models a socket delivering small reads. */
  chunkSize?: number;
}

interface StoredObject {
  data: Uint8Array;
  meta: ObjectMeta;
}

export interface MemoryBackend extends Backend {
  readonly kind: 'memory';
  /** Stores (or replaces, with a new ETag) an object. */
  put(path: string, data: Uint8Array | string): ObjectMeta;
  delete(path: string): boolean;
  listPage(prefix: string, opts?: ListPageOptions): Promise<ListPage>;
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
}

function toBytes(data: Uint8Array | string): Uint8Array {
  return typeof data === 'string' ? new TextEncoder().encode(data) : plainBytes(data);
}

/**
 * Objects held in memory, keyed by path. ETags are the quoted MD5 of the content, as S3 gives for a
 * single-part upload. Bodies are zero-copy views of the stored bytes: do not mutate what you put.
 * `list(prefix)` gives its keys that start with `prefix`, ascending, LIST_PAGE_SIZE a page.
 */
export function memoryBackend(
  objects: Record<string, Uint8Array | string> | Map<string, Uint8Array | string> = {},
  options: MemoryBackendOptions = {},
): MemoryBackend {
  const chunkSize = options.chunkSize ?? MEMORY_CHUNK_SIZE;
  if (!Number.isSafeInteger(chunkSize) || chunkSize < 1) {
    throw new ReaderError('InvalidInput', 'memoryBackend chunkSize must be an integer >= 1', { backend: 'memory' }, { code: 'INVALID_ARGUMENT' });
  }
  const store = new Map<string, StoredObject>();
  const entries = objects instanceof Map ? objects.entries() : Object.entries(objects);

  const put = (path: string, data: Uint8Array | string): ObjectMeta => {
    const bytes = toBytes(data);
    const etag = `"${contentTag(bytes)}"`;
    const meta = { size: bytes.byteLength, etag, lastModified: new Date() };
    store.set(path, { data: bytes, meta });
    return { ...meta };
  };
  for (const [path, data] of entries) put(path, data);

  const lookup = (path: string, op: string, range?: ByteRange): StoredObject => {
    const found = store.get(path);
    if (!found) throw mapMemoryError('NotFound', { backend: 'memory', op, path, ...(range ? { range } : {}) });
    return found;
  };

  /** Keys in ascending order, as S3 lists them (recomputed after a put or delete). */
  let sorted: string[] | undefined;
  const listPage = async (prefix: string, opts: ListPageOptions = {}): Promise<ListPage> => {
    throwIfAborted(opts.signal, { backend: 'memory', op: 'list', path: prefix });
    sorted ??= [...store.keys()].sort();
    const entries = function* (keys: string[]): Generator<ListEntry> {
      for (const path of keys) {
        const meta = store.get(path)?.meta;
        if (meta) yield { path, ...meta };
      }
    };
    return pageOf(entries(sorted), prefix, opts);
  };

  return {
    kind: 'memory',
    capabilities: { suffix: true, etag: true, ifMatch: true, list: true },
    put: (path, data) => {
      sorted = undefined;
      return put(path, data);
    },
    listPage,
    list: (prefix, opts) => listFromPages(listPage, prefix, opts),
    delete: (path) => {
      sorted = undefined;
      return store.delete(path);
    },
    async stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
      throwIfAborted(opts.signal, { backend: 'memory', op: 'stat', path });
      return { ...lookup(path, 'stat').meta };
    },
    async read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
      const context = { backend: 'memory', op: 'read', path, range };
      throwIfAborted(opts.signal, context);
      validateRange(range, context);
      const obj = lookup(path, 'read', range);
      if (opts.ifMatch !== undefined && opts.ifMatch !== obj.meta.etag) throw mapMemoryError('ConditionNotMatch', context);
      const resolved = resolveRange(range, obj.meta.size, context);
      const bytes = obj.data.subarray(resolved.offset, resolved.offset + resolved.length);
      const signal = opts.signal;
      async function* body(): AsyncGenerator<Uint8Array> {
        for (let at = 0; at < bytes.byteLength; at += chunkSize) {
          throwIfAborted(signal, context);
          yield bytes.subarray(at, at + chunkSize);
        }
      }
      return { meta: { ...obj.meta }, range: resolved, body: body(), status: resolved.length === obj.meta.size ? 200 : 206 };
    },
  };
}

/**
 * A content tag for the ETag: two 32-bit FNV-1a lanes (different offsets, the second over bytes
 * mixed with their position) and the length, in hex. Same bytes, same tag, as with S3's MD5 ETags,
 * but synchronous and portable (no `node:crypto`); not a security hash.
 */
export function contentTag(bytes: Uint8Array): string {
  let a = 0x811c9dc5;
  let b = 0x01000193;
  for (let i = 0; i < bytes.length; i++) {
    const v = bytes[i] as number;
    a = Math.imul(a ^ v, 0x01000193);
    b = Math.imul(b ^ ((v + i) & 0xff), 0x01000193) ^ (b >>> 15);
  }
  const hex = (x: number) => (x >>> 0).toString(16).padStart(8, '0');
  return `${hex(a)}${hex(b)}-${bytes.byteLength.toString(16)}`;
}
