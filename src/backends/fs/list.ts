/**
 * Listing for the fs backend: a walk of the directories under the root in S3's order (ascending
 * full paths), one page of LIST_PAGE_SIZE entries per `listPage`, resumed after the cursor (the last
 * path of the previous page) without reading the directories that lie wholly before it.
 */
import type { Dirent, Stats } from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { throwIfAborted, type ErrorContext } from '../../errors.js';
import { LIST_PAGE_SIZE } from '../../list.js';
import type { ListEntry, ListPage, ListPageOptions } from '../../types.js';
import { mapFsError } from './errors.js';

export interface FsWalk {
  /** The resolved root directory. */
  root: string;
  /** Whether a real path lies inside the root's real path. */
  inside(real: string): boolean;
  /** Metadata of a file as `stat`/`read` report it. */
  entry(path: string, st: Stats): ListEntry;
}

/**
 * A child's sort key: directories compare as `name/`, so a depth-first walk of children in this order
 * yields full paths in ascending order (`a-b` < `a/x`, because `-` < `/`).
 */
const sortKey = (d: Dirent): string => (d.isDirectory() ? `${d.name}/` : d.name);

/**
 * One page of files under `prefix` (a path prefix, `/`-separated, relative to the root; it may end
 * inside a name: `events/ye` lists `events/year=…`). Symbolic links to files inside the root are
 * listed (as `read` follows them); links that leave the root, links to directories (no cycles) and
 * anything that is not a regular file are not. A prefix whose directory does not exist lists nothing.
 */
export async function fsListPage(walk: FsWalk, prefix: string, opts: ListPageOptions = {}): Promise<ListPage> {
  const context: ErrorContext = { backend: 'fs', op: 'list', path: prefix };
  throwIfAborted(opts.signal, context);
  const cut = prefix.lastIndexOf('/');
  const dir = cut < 0 ? '' : prefix.slice(0, cut + 1);
  if (dir.split('/').some((seg) => seg === '..') || prefix.startsWith('/') || prefix.includes('\0')) return { entries: [] };
  const recursive = opts.recursive ?? true;
  const cursor = opts.cursor;
  const entries: ListEntry[] = [];
  let more = false;

  async function visit(rel: string): Promise<void> {
    let children: Dirent[];
    try {
      children = await readdir(join(walk.root, rel), { withFileTypes: true });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return;
      throw mapFsError(err, { ...context, path: rel });
    }
    children.sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : sortKey(a) > sortKey(b) ? 1 : 0));
    for (const child of children) {
      if (more) return;
      throwIfAborted(opts.signal, context);
      const path = rel + child.name;
      if (child.isDirectory()) {
        const sub = `${path}/`;
        if (!recursive && sub.length > prefix.length) continue;
        if (!(sub.startsWith(prefix) || prefix.startsWith(sub))) continue;
        // Every path under `sub` is before the cursor when the cursor is past `sub` and not inside it.
        if (cursor !== undefined && cursor > sub && !cursor.startsWith(sub)) continue;
        await visit(sub);
        continue;
      }
      if (!path.startsWith(prefix) || (cursor !== undefined && path <= cursor)) continue;
      const found = await fileEntry(walk, path, child, context);
      if (!found) continue;
      if (entries.length === LIST_PAGE_SIZE) {
        more = true;
        return;
      }
      entries.push(found);
    }
  }

  if (dir !== '') {
    let real: string;
    try {
      real = await realpath(join(walk.root, dir));
    } catch {
      return { entries: [] }; // no such directory: nothing under the prefix
    }
    if (!walk.inside(real)) return { entries: [] };
  }
  await visit(dir);
  return more ? { entries, cursor: (entries[entries.length - 1] as ListEntry).path } : { entries };
}

async function fileEntry(walk: FsWalk, path: string, d: Dirent, context: ErrorContext): Promise<ListEntry | undefined> {
  if (!d.isFile() && !d.isSymbolicLink()) return undefined;
  const full = join(walk.root, path);
  try {
    if (d.isSymbolicLink() && !walk.inside(await realpath(full))) return undefined;
    const st = await stat(full);
    return st.isFile() ? walk.entry(path, st) : undefined;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ELOOP') return undefined; // deleted meanwhile, or a dangling/looping link
    throw mapFsError(err, { ...context, path });
  }
}
