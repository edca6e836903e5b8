import { realpathSync, type Stats } from 'node:fs';
import { open, realpath, stat } from 'node:fs/promises';
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { ReaderError, throwIfAborted, type ErrorContext } from '../../errors.js';
import { resolveRange, validateRange } from '../../range.js';
import { listFromPages } from '../../list.js';
import type { Backend, ByteRange, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../../types.js';
import { mapFsError } from './errors.js';
import { fsListPage, type FsWalk } from './list.js';

/**
 * Bytes per file read. 256 KiB is large enough that syscall overhead is negligible next to copying,
 * and small enough that an abandoned body wastes little.
 */
const FS_CHUNK_SIZE = 256 * 1024;

export interface FsBackendOptions {
  /** Every path is resolved inside this directory and can never leave it. */
  root: string;
}

/** An ETag from size and modification time (as nginx does): it changes when the file is rewritten. */
function etagOf(st: Stats): string {
  return `"${st.size.toString(16)}-${Math.floor(st.mtimeMs * 1000).toString(16)}"`;
}

function metaOf(st: Stats): ObjectMeta {
  return { size: st.size, etag: etagOf(st), lastModified: st.mtime };
}

function isInside(root: string, target: string): boolean {
  const rel = relative(root, target);
  return rel === '' || (rel !== '..' && !rel.startsWith(`..${sep}`) && !isAbsolute(rel));
}

/**
 * Local files under `root`. Paths are relative to `root` (`/` separated); absolute paths, `..`
 * segments that leave `root` and symbolic links that point outside it are `PermissionDenied`.
 * Bytes are read lazily: a body opens the file when first iterated and closes it when done.
 * `list(prefix)` walks the files under the root whose relative path starts with `prefix`, in
 * ascending path order (see `fsListPage`).
 */
export function fsBackend(options: FsBackendOptions): Backend {
  if (!options || typeof options.root !== 'string' || options.root === '') {
    throw new ReaderError('InvalidInput', 'fsBackend needs a root directory', { backend: 'fs' }, { code: 'INVALID_ARGUMENT' });
  }
  const root = resolve(options.root);
  let realRoot: string | undefined;
  const getRealRoot = (): string => {
    if (realRoot === undefined) {
      try {
        realRoot = realpathSync(root);
      } catch (err) {
        throw mapFsError(err, { backend: 'fs', op: 'open', path: root });
      }
    }
    return realRoot;
  };

  /** The real path of `path` inside root, or a typed error. */
  async function locate(path: string, context: ErrorContext): Promise<string> {
    if (typeof path !== 'string' || path.includes('\0')) {
      throw new ReaderError('InvalidInput', 'path must be a string without NUL bytes', context, { code: 'INVALID_ARGUMENT' });
    }
    if (isAbsolute(path) || /^[a-zA-Z]:/.test(path)) {
      throw new ReaderError('PermissionDenied', 'absolute paths are not allowed: paths are relative to the root', context, { code: 'PATH_ESCAPE' });
    }
    const candidate = resolve(root, path);
    if (!isInside(root, candidate)) throw new ReaderError('PermissionDenied', 'path escapes the root directory', context, { code: 'PATH_ESCAPE' });
    let real: string;
    try {
      real = await realpath(candidate);
    } catch (err) {
      throw mapFsError(err, context);
    }
    if (!isInside(getRealRoot(), real)) {
      throw new ReaderError('PermissionDenied', 'path resolves (through a symbolic link) outside the root directory', context, { code: 'PATH_ESCAPE' });
    }
    return real;
  }

  async function statFile(real: string, context: ErrorContext): Promise<Stats> {
    let st: Stats;
    try {
      st = await stat(real);
    } catch (err) {
      throw mapFsError(err, context);
    }
    if (!st.isFile()) throw new ReaderError('InvalidInput', 'path is not a regular file', context, { code: 'NOT_A_FILE' });
    return st;
  }

  const walk: FsWalk = { root, inside: (real) => isInside(getRealRoot(), real), entry: (path, st) => ({ path, ...metaOf(st) }) };
  const listPage = (prefix: string, opts?: ListPageOptions) => fsListPage(walk, prefix, opts);

  return {
    kind: 'fs',
    capabilities: { suffix: true, etag: true, ifMatch: true, list: true },
    listPage,
    list: (prefix, opts) => listFromPages(listPage, prefix, opts),
    async stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
      const context = { backend: 'fs', op: 'stat', path };
      throwIfAborted(opts.signal, context);
      return metaOf(await statFile(await locate(path, context), context));
    },
    async read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
      const context = { backend: 'fs', op: 'read', path, range };
      throwIfAborted(opts.signal, context);
      validateRange(range, context);
      const real = await locate(path, context);
      const st = await statFile(real, context);
      const meta = metaOf(st);
      if (opts.ifMatch !== undefined && opts.ifMatch !== meta.etag) {
        throw new ReaderError('ConditionNotMatch', 'object changed: its ETag no longer matches If-Match', context, { code: 'ETAG_CHANGED' });
      }
      const resolved = resolveRange(range, st.size, context);
      const signal = opts.signal;
      async function* body(): AsyncGenerator<Uint8Array> {
        if (resolved.length === 0) return;
        throwIfAborted(signal, context);
        let fh;
        try {
          fh = await open(real, 'r');
        } catch (err) {
          throw mapFsError(err, context);
        }
        try {
          const now = await fh.stat();
          if (now.ino !== st.ino || etagOf(now) !== meta.etag) {
            throw new ReaderError('ConditionNotMatch', 'file changed between request and read', context, { code: 'ETAG_CHANGED' });
          }
          let pos = resolved.offset;
          const end = resolved.offset + resolved.length;
          while (pos < end) {
            throwIfAborted(signal, context);
            const buf = new Uint8Array(Math.min(FS_CHUNK_SIZE, end - pos));
            const { bytesRead } = await fh.read(buf, 0, buf.byteLength, pos);
            if (bytesRead === 0) {
              throw new ReaderError('Interrupted', `file ended after ${pos - resolved.offset} of ${resolved.length} bytes`, context, { code: 'SHORT_BODY' });
            }
            pos += bytesRead;
            yield bytesRead === buf.byteLength ? buf : buf.subarray(0, bytesRead);
          }
        } catch (err) {
          throw mapFsError(err, context);
        } finally {
          await fh.close();
        }
      }
      return { meta, range: resolved, body: body(), status: resolved.length === st.size ? 200 : 206 };
    },
  };
}
