/** `brr ls` and `brr plan|read --hive` on a DuckDB-written hive folder, answers checked against DuckDB. */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { duckQuery, hiveSource, writeHiveDataset } from '../support/duckdb.js';
import { ensureBuilt, run } from './run.js';

let dir: string;
let server: ObjectServer;
let keys: string[];
beforeAll(async () => {
  ensureBuilt();
  dir = await mkdtemp(join(tmpdir(), 'brr-cli-ds-'));
  await writeHiveDataset(dir);
  // The same folder over HTTP, named by a manifest whose lines are relative to it.
  server = await new ObjectServer().start();
  const walk = async (d: string): Promise<string[]> =>
    (await Promise.all((await readdir(d, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))])))).flat();
  keys = (await walk(dir)).filter((k) => k.endsWith('.parquet')).sort();
  for (const k of keys) server.put(`lake/${k}`, new Uint8Array(await readFile(join(dir, k))));
  server.put('lake/manifest.txt', `${keys.map((k) => k.split('/').map(encodeURIComponent).join('/')).join('\n')}\n`);
}, 180_000);
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('brr datasets', { concurrent: true }, () => {
  it('ls lists the data files with sizes and typed partitions, one LIST, no GET', async () => {
    const r = await run(['ls', dir, '--json', '--stats']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as { files: { path: string; partitions: Record<string, unknown> }[]; partitions: unknown; totals: { files: number; listRequests: number } };
    const [duck] = await duckQuery(`SELECT count(DISTINCT filename) AS f FROM read_parquet('${dir}/**/*.parquet', filename = true)`);
    expect(out.totals).toMatchObject({ files: Number(duck?.f), listRequests: 1 });
    expect(out.partitions).toEqual([
      { name: 'year', type: 'int' },
      { name: 'day', type: 'date' },
      { name: 'region', type: 'string' },
    ]);
    expect(out.files[0]?.partitions).toEqual({ year: 2022, day: '2024-01-01T00:00:00.000Z', region: null });
    expect(r.stderr).toMatch(/^brr: 1 LIST, 0 GETs, 0 HEADs/);
  });

  it('plan --hive sums the files the partition filter keeps: LIST + one footer GET each + data', async () => {
    const r = await run(['plan', dir, '--hive', '--filter', 'year=2023,region=eu', '--json', '--stats']);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out) as { files: number; prunedFiles: number; requests: number; dataRequests: number; open: { listRequests: number; footerRequests: number } };
    const [duck] = await duckQuery(`SELECT count(DISTINCT filename) AS f FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, filename = true) WHERE year = 2023 AND region = 'eu'`);
    expect(p.files).toBe(Number(duck?.f));
    expect(p.open).toEqual({ listRequests: 1, footerRequests: p.files, roundTrips: 2 });
    expect(p.requests).toBe(1 + p.files + p.dataRequests);
    // What the plan says the open took is what the command did (no data was read).
    expect(r.stderr).toMatch(new RegExp(`^brr: 1 LIST, ${p.files} GETs, 0 HEADs`));
  });

  it('read --hive gives DuckDB’s rows for a filter on partitions and a file column', async () => {
    const r = await run(['read', dir, '--hive', '--filter', 'region=eu,id<2000', '--columns', 'id,year,region', '--format', 'jsonl']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as { id: string; year: number; region: string });
    const duck = await duckQuery(`SELECT id, year, region FROM ${hiveSource(dir)} WHERE region = 'eu' AND id < 2000 ORDER BY id`);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.map((x) => [Number(x.id), x.year, x.region]).sort((a, b) => (a[0] as number) - (b[0] as number))).toEqual(duck.map((d) => [Number(d.id), Number(d.year), d.region]));
  });

  it('plan --hive over an HTTP manifest of relative lines: the lines resolve against the manifest URL', async () => {
    const r = await run(['plan', `${server.url}/lake/manifest.txt`, '--hive', '--filter', 'year=2023,region=eu', '--json', '--stats']);
    expect(r.stderr).toMatch(/^brr: \d+ GETs, 0 HEADs/);
    expect(r.code).toBe(0);
    const p = JSON.parse(r.out) as { files: number };
    const [duck] = await duckQuery(`SELECT count(DISTINCT filename) AS f FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, filename = true) WHERE year = 2023 AND region = 'eu'`);
    expect(p.files).toBe(Number(duck?.f));
  });

  it('refuses --row-groups with --hive', async () => {
    const a = await run(['plan', dir, '--hive', '--row-groups', '0']);
    expect(a.code).toBe(64);
    expect(a.stderr).toContain('--row-groups is for one file');
  });
});
