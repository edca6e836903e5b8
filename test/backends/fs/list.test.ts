/** fs listing: S3's order, pages of 1,000 resumed after the cursor, and never a path outside the root. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { withMetrics } from '../../../src/layers/metrics.js';

let outer: string;
let root: string;
const files = ['a-b', 'a/x', 'a/y/z', 'b=1/p.parquet', 'b=1/q.parquet', 'b=2/p.parquet', 'link-in'];

beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'brr-fslist-'));
  root = join(outer, 'root');
  for (const f of files.filter((f) => f !== 'link-in')) {
    await mkdir(join(root, f, '..'), { recursive: true });
    await writeFile(join(root, f), f);
  }
  await writeFile(join(outer, 'secret.txt'), 'top secret');
  await symlink(join(outer, 'secret.txt'), join(root, 'link-out'));
  await symlink(join(root, 'a', 'x'), join(root, 'link-in'));
  await symlink(outer, join(root, 'dir-out'));
  await symlink(join(root, 'a'), join(root, 'dir-in'));
  await mkdir(join(root, 'big'));
  for (let i = 0; i < 2100; i++) await writeFile(join(root, 'big', `f${String(i).padStart(4, '0')}`), '');
});
afterAll(() => rm(outer, { recursive: true, force: true }));

async function paths(prefix: string, recursive?: boolean): Promise<string[]> {
  const out: string[] = [];
  for await (const e of fsBackend({ root }).list?.(prefix, recursive === undefined ? {} : { recursive }) ?? []) out.push(e.path);
  return out;
}

describe('fs list', () => {
  it('walks in ascending full-path order (a-b before a/x), following links to files inside the root only', async () => {
    const all = (await paths('')).filter((p) => !p.startsWith('big/'));
    expect(all).toEqual(files);
  });

  it('lists by a name prefix, one level, and nothing under a missing or escaping prefix', async () => {
    expect(await paths('b=')).toEqual(['b=1/p.parquet', 'b=1/q.parquet', 'b=2/p.parquet']);
    expect(await paths('b=1/')).toEqual(['b=1/p.parquet', 'b=1/q.parquet']);
    expect(await paths('a', false)).toEqual(['a-b']);
    expect(await paths('a/', false)).toEqual(['a/x']);
    expect(await paths('nope/')).toEqual([]);
    expect(await paths('../')).toEqual([]);
    expect(await paths('dir-out/')).toEqual([]);
  });

  it('gives sizes and the ETags stat gives', async () => {
    const b = fsBackend({ root });
    const page = await b.listPage?.('b=2/');
    expect(page).toEqual({ entries: [{ path: 'b=2/p.parquet', ...(await b.stat('b=2/p.parquet')) }] });
  });

  it('pages 1,000 entries a LIST, resuming after the cursor', async () => {
    const b = withMetrics(fsBackend({ root }));
    const seen: string[] = [];
    for await (const e of b.list?.('big/') ?? []) seen.push(e.path);
    expect(seen).toEqual(Array.from({ length: 2100 }, (_, i) => `big/f${String(i).padStart(4, '0')}`));
    expect(b.metrics.snapshot().requests.map((r) => [r.op, r.entries])).toEqual([
      ['LIST', 1000],
      ['LIST', 1000],
      ['LIST', 100],
    ]);
  });
});
