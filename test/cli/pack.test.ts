/**
 * The package as users get it: `npm pack`, `npm install` of the tarball in an empty folder, then that
 * folder's `brr` — no bench/, no dev dependencies, no tsx. `brr bench <url>` must work there.
 */
import { spawnSync } from 'node:child_process';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { ROOT, ensureBuilt, run } from './run.js';

/** npm's own timeouts are long; an install from the local cache takes 10–20 s here. */
const INSTALL_TIMEOUT_MS = 150_000;

let dir: string;
let server: ObjectServer;
let brr: string;

function npm(args: string[], cwd: string): string {
  const r = spawnSync('npm', args, { cwd, encoding: 'utf8', timeout: INSTALL_TIMEOUT_MS, env: { ...process.env, npm_config_update_notifier: 'false' } });
  if (r.status !== 0) throw new Error(`npm ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr}`);
  return r.stdout;
}

beforeAll(async () => {
  ensureBuilt(); // dist/ is what the tarball carries; pack itself runs no build (--ignore-scripts)
  dir = await mkdtemp(join(tmpdir(), 'brr-pack-'));
  npm(['pack', '--ignore-scripts', '--silent', '--pack-destination', dir], ROOT);
  const tarball = (await readdir(dir)).find((f) => f.endsWith('.tgz'));
  if (!tarball) throw new Error(`npm pack wrote no tarball into ${dir}`);
  await writeFile(join(dir, 'package.json'), JSON.stringify({ name: 'brr-pack-test', private: true }));
  npm(['install', '--no-audit', '--no-fund', '--prefer-offline', join(dir, tarball)], dir);
  brr = join(dir, 'node_modules', '.bin', 'brr');
  server = await new ObjectServer().start();
  server.put('seed.parquet', await fixture(FIXTURES.seed));
}, INSTALL_TIMEOUT_MS * 2);

afterAll(async () => {
  await server?.stop();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('the packed package, freshly installed', () => {
  it('ships dist and no bench/ or src/', async () => {
    const pkg = join(dir, 'node_modules', 'buffered-range-reader');
    const top = await readdir(pkg);
    expect(top).toContain('dist');
    expect(top).not.toContain('bench');
    expect(top).not.toContain('src');
  });

  it('its brr bench <url> --json --runs 1 lists every reader, counts equal to the server log', async () => {
    const r = await run(['bench', `${server.url}/seed.parquet`, '--json', '--runs', '1', '--naive-limit', '10'], { script: brr, cwd: dir, timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { readers: { reader: string; gets: number; heads: number; error?: unknown }[] };
    expect(out.readers.map((x) => [x.reader, x.error])).toEqual([
      ['naive', undefined],
      ['hyparquet', undefined],
      ['parquet-wasm', undefined],
      ['ours', undefined],
      ['ours-dropin', undefined],
    ]);
    expect(out.readers.reduce((n, x) => n + x.gets + x.heads, 0)).toBe(server.requests.length);
    expect(out.readers.find((x) => x.reader === 'ours')).toMatchObject({ gets: 1, heads: 0 });
    expect(out.readers.find((x) => x.reader === 'ours-dropin')).toMatchObject({ gets: 1, heads: 0 });
    expect(out.readers.find((x) => x.reader === 'naive')).toMatchObject({ gets: 12, heads: 1 });
  }, 150_000);

  it('its brr bench without a URL says the matrix needs a checkout (69)', async () => {
    const r = await run(['bench'], { script: brr, cwd: dir, timeoutMs: 60_000 });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("'brr bench <url>' benchmarks your own file from anywhere");
  }, 90_000);
});
