/**
 * Datasets on S3 (moto WITHOUT signature checking: moto 5.2's auth mode rejects valid signatures for
 * keys and prefixes holding `=` — see DESIGN.md; the signatures of such listings are checked against
 * botocore in test/backends/s3/signer.test.ts). The DuckDB-written folder is uploaded with boto3;
 * answers equal DuckDB's, requests are asserted on the exact log, splits are read in worker threads.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { openDataset } from '../../src/dataset/dataset.js';
import type { DatasetSplit } from '../../src/dataset/splits.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { createMetadataCache } from '../../src/parquet/cache.js';
import { duckQuery, hiveSource, writeHiveDataset } from '../support/duckdb.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { readInWorkers, rowsOf } from './helpers.js';

const ok = requireMotoInCi('test/dataset/s3.test.ts');
const BUCKET = 'lake';
const CREDS = { accessKeyId: 'AKIDDATASET', secretAccessKey: 'unchecked-by-this-moto' };

describe.skipIf(!ok)('openDataset on S3 (moto)', () => {
  let moto: MotoServer;
  let dir: string;
  let keys: string[];

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'brr-ds-s3-'));
    const [server] = await Promise.all([startMoto(), writeHiveDataset(dir)]);
    moto = server;
    const walk = async (d: string): Promise<string[]> =>
      (await Promise.all((await readdir(d, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))])))).flat();
    keys = (await walk(dir)).sort().map((k) => `events/${k}`);
    const objects = await Promise.all(keys.map(async (key) => ({ key, data: new Uint8Array(await readFile(join(dir, key.slice('events/'.length)))) })));
    await moto.putWithBoto3(BUCKET, [...objects, { key: 'events/_SUCCESS', data: new Uint8Array(0) }], true);
  }, 180_000);
  afterAll(async () => {
    await moto?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const backend = () => withMetrics(s3Backend({ bucket: BUCKET, endpoint: moto.endpoint, region: moto.region, credentials: CREDS, env: {} }));
  const s3 = () => ({ endpoint: moto.endpoint, region: moto.region, credentials: CREDS, env: {} });

  it('lists in 1 LIST page (< 1,000 keys), one GET per footer, no HEAD; answers equal DuckDB', async () => {
    const b = backend();
    const ds = await openDataset({ backend: b, prefix: 'events/' }, { metadataCache: false });
    const log = b.metrics.snapshot().requests;
    expect(log.filter((r) => r.op === 'LIST').map((r) => [r.path, r.entries, r.status])).toEqual([['events/', keys.length + 1, 200]]);
    expect(log.filter((r) => r.op === 'GET').map((r) => r.path).sort()).toEqual(keys);
    expect(log.filter((r) => r.op === 'HEAD')).toEqual([]);
    const t = await ds.readTable({ columns: ['id', 'value', 'region'] });
    let sum = 0;
    for (let i = 0; i < t.numRows; i++) sum += Number(t.getChild('value')?.get(i));
    const [duck] = await duckQuery(`SELECT count(*) AS n, sum(value) AS v, count(DISTINCT coalesce(region, '~')) AS r FROM ${hiveSource(dir)}`);
    expect({ rows: t.numRows, sum, regions: new Set(ds.files.map((f) => f.partitions.region)).size }).toEqual({ rows: Number(duck?.n), sum: Number(duck?.v), regions: Number(duck?.r) });
  });

  it('a partition filter fetches footers only inside the kept partitions; a warm re-open makes 0 GETs', async () => {
    const cache = createMetadataCache();
    const b = backend();
    const filter = { and: [{ column: 'year', eq: 2024 }, { column: 'region', eq: 'ap west/x=1' }] };
    const ds = await openDataset({ backend: b, prefix: 'events/' }, { filter, metadataCache: cache });
    const gets = b.metrics.snapshot().requests.filter((r) => r.op === 'GET').map((r) => r.path);
    const kept = keys.filter((k) => k.startsWith('events/year=2024/') && k.includes('/region=ap%20west%2Fx%3D1/'));
    expect(kept.length).toBeGreaterThan(0);
    expect(gets.sort()).toEqual(kept);
    const t = await ds.readTable({ filter, columns: ['id'] });
    const [duck] = await duckQuery(`SELECT count(*) AS n FROM ${hiveSource(dir)} WHERE year = 2024 AND region = 'ap west/x=1'`);
    expect(t.numRows).toBe(Number(duck?.n));
    b.metrics.reset();
    await openDataset({ backend: b, prefix: 'events/' }, { filter, metadataCache: cache });
    expect(b.metrics.snapshot()).toMatchObject({ lists: 1, gets: 0, heads: 0 });
  });

  it('opens by s3:// URL; splits carry the URL and S3 addressing but no credentials, and workers read them', async () => {
    const ds = await openDataset(`s3://${BUCKET}/events/`, { url: { s3: s3() }, metadataCache: false, filter: { column: 'year', eq: 2022 } });
    const splits = await ds.splits();
    const json = JSON.stringify(splits);
    expect(json).not.toContain(CREDS.secretAccessKey);
    expect(json).not.toContain(CREDS.accessKeyId);
    expect(splits[0]).toMatchObject({ url: expect.stringMatching(/^s3:\/\/lake\/events\/year=2022\//), s3: { endpoint: moto.endpoint, region: moto.region } });
    const tables = await readInWorkers(JSON.parse(json) as DatasetSplit[], 2, CREDS);
    expect(tables.flatMap(rowsOf).sort()).toEqual(rowsOf(await ds.readTable()));
  }, 120_000);
});
