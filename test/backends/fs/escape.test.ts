/** The fs backend can never read outside its root. */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectBody } from '../../../src/body.js';
import { fsBackend } from '../../../src/backends/fs/backend.js';
import { ReaderError } from '../../../src/errors.js';

let outer: string;
let root: string;

beforeAll(async () => {
  outer = await mkdtemp(join(tmpdir(), 'brr-escape-'));
  root = join(outer, 'root');
  await mkdir(join(root, 'sub'), { recursive: true });
  await writeFile(join(outer, 'secret.txt'), 'top secret');
  await writeFile(join(root, 'sub', 'ok.txt'), 'fine');
  await symlink(join(outer, 'secret.txt'), join(root, 'link-out'));
  await symlink(join(root, 'sub', 'ok.txt'), join(root, 'link-in'));
  await symlink(outer, join(root, 'dir-out'));
});
afterAll(() => rm(outer, { recursive: true, force: true }));

async function denied(p: Promise<unknown>, kind: ReaderError['kind'] = 'PermissionDenied'): Promise<void> {
  const err = await p.then(
    () => new Error('expected a denial'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  expect((err as ReaderError).kind).toBe(kind);
  expect((err as ReaderError).message).not.toContain('top secret');
}

describe('fsBackend root confinement', () => {
  it('serves files and in-root symlinks', async () => {
    const b = fsBackend({ root });
    expect(new TextDecoder().decode(await collectBody((await b.read('sub/ok.txt', { offset: 0 })).body))).toBe('fine');
    expect(new TextDecoder().decode(await collectBody((await b.read('link-in', { offset: 0 })).body))).toBe('fine');
    expect((await b.stat('sub/../sub/ok.txt')).size).toBe(4);
  });

  it('refuses .. that leaves the root', async () => {
    const b = fsBackend({ root });
    await denied(b.stat('../secret.txt'));
    await denied(b.read('sub/../../secret.txt', { offset: 0 }));
  });

  it('refuses absolute paths', async () => {
    const b = fsBackend({ root });
    await denied(b.stat(join(outer, 'secret.txt')));
    await denied(b.read('/etc/passwd', { offset: 0 }));
  });

  it('refuses symlinks that point outside the root, to files and to directories', async () => {
    const b = fsBackend({ root });
    await denied(b.read('link-out', { offset: 0 }));
    await denied(b.stat('dir-out/secret.txt'));
  });

  it('treats encoded separators literally (no decoding, so no escape)', async () => {
    const b = fsBackend({ root });
    await denied(b.stat('..%2Fsecret.txt'), 'NotFound');
    await denied(b.stat('sub%2F..%2F..%2Fsecret.txt'), 'NotFound');
  });

  it('rejects NUL bytes and directories with InvalidInput', async () => {
    const b = fsBackend({ root });
    await denied(b.stat('sub/ok.txt\0.png'), 'InvalidInput');
    await denied(b.stat('sub'), 'InvalidInput');
  });
});
