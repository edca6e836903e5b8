/**
 * openDataset on a hive-partitioned folder written by DuckDB (108 files), answers checked against
 * DuckDB's own `read_parquet(…, hive_partitioning = true)`, requests asserted on the exact log.
 */
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import type { Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { openDataset } from '../../src/dataset/dataset.js';
import { createMetadataCache } from '../../src/parquet/cache.js';
import { openParquet } from '../../src/parquet/source.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { HIVE_ROWS, duckQuery, hiveSource, writeHiveDataset } from '../support/duckdb.js';

let dir: string;
let files: string[];
let src: string;

async function walk(d: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(d, { withFileTypes: true })) {
    const p = join(d, e.name);
    if (e.isDirectory()) out.push(...(await walk(p)));
    else out.push(relative(dir, p));
  }
  return out.sort();
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brr-dataset-'));
  await writeHiveDataset(dir);
  files = await walk(dir);
  await writeFile(join(dir, '_SUCCESS'), '');
  await writeFile(join(dir, files[0] as string).replace(/data_0\.parquet$/, '.data_0.parquet.crc'), 'crc');
  src = hiveSource(dir);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

/** Sums of a table: rows, Σ value, Σ year, rows per region (null included), distinct days. */
function summary(t: Table) {
  const value = t.getChild('value');
  const year = t.getChild('year');
  const region = t.getChild('region');
  const day = t.getChild('day');
  let sumValue = 0;
  let sumYear = 0;
  const regions: Record<string, number> = {};
  const days = new Set<string>();
  for (let i = 0; i < t.numRows; i++) {
    sumValue += Number(value?.get(i));
    sumYear += Number(year?.get(i));
    const r = String(region?.get(i) ?? null);
    regions[r] = (regions[r] ?? 0) + 1;
    const d = day?.get(i) as number | Date;
    days.add(new Date(d).toISOString().slice(0, 10));
  }
  return { rows: t.numRows, sumValue, sumYear, regions, days: [...days].sort() };
}

async function duckSummary(where = 'true') {
  const [totals] = await duckQuery(`SELECT count(*) AS n, sum(value) AS v, sum(year) AS y FROM ${src} WHERE ${where}`);
  const regions = await duckQuery(`SELECT coalesce(region, 'null') AS r, count(*) AS n FROM ${src} WHERE ${where} GROUP BY 1`);
  const days = await duckQuery(`SELECT DISTINCT strftime(day, '%Y-%m-%d') AS d FROM ${src} WHERE ${where} ORDER BY 1`);
  return {
    rows: Number(totals?.n),
    sumValue: Number(totals?.v),
    sumYear: Number(totals?.y),
    regions: Object.fromEntries(regions.map((r) => [String(r.r), Number(r.n)])),
    days: days.map((d) => String(d.d)),
  };
}

describe('openDataset on fs (DuckDB-written hive folder)', () => {
  it('lists once, fetches each footer with one GET and no HEAD, and types the partitions', async () => {
    const backend = withMetrics(fsBackend({ root: dir }));
    const ds = await openDataset({ backend }, { metadataCache: false });
    expect(files.length).toBeGreaterThanOrEqual(100);
    expect(ds.files.map((f) => f.path)).toEqual(files);
    expect(ds.partitions.fields).toEqual([
      { name: 'year', type: 'int' },
      { name: 'day', type: 'date' },
      { name: 'region', type: 'string' },
    ]);
    const log = backend.metrics.snapshot().requests;
    expect(log.filter((r) => r.op === 'LIST')).toHaveLength(1);
    expect(log.filter((r) => r.op === 'HEAD')).toHaveLength(0);
    expect(log.filter((r) => r.op === 'GET').map((r) => `${r.path} ${r.rangeHeader}`).sort()).toEqual(files.map((f) => `${f} bytes=-65536`));
    expect(ds.openStats).toEqual({ listRequests: 1, footerRequests: files.length, listedFiles: files.length, prunedFiles: 0 });
    expect(ds.numRows).toBe(HIVE_ROWS);
    const regions = new Set(ds.files.map((f) => f.partitions.region));
    expect(regions).toEqual(new Set([null, 'eu', 'ap west/x=1']));
    expect(ds.files[0]?.partitions.day).toEqual(new Date('2024-01-01T00:00:00Z'));
  });

  it('readTable equals DuckDB: rows, sums, rows per region (NULL included), distinct dates', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const t = await ds.readTable();
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'value', 'name', 'year', 'day', 'region']);
    expect(summary(t)).toEqual(await duckSummary());
  });

  it('a partition filter fetches no footer outside the kept partitions, and reads what DuckDB reads', async () => {
    const backend = withMetrics(fsBackend({ root: dir }));
    const filter = { and: [{ column: 'year', eq: 2023 }, { column: 'region', in: ['eu', 'ap west/x=1'] }, { column: 'day', gte: new Date('2024-06-01') }] };
    const ds = await openDataset({ backend }, { filter, metadataCache: false });
    const kept = files.filter((f) => f.startsWith('year=2023/') && !f.includes('__HIVE_DEFAULT_PARTITION__') && f.slice(14, 24) >= '2024-06-01');
    expect(kept.length).toBeGreaterThan(0);
    const gets = backend.metrics.snapshot().requests.filter((r) => r.op === 'GET').map((r) => r.path);
    expect(gets.sort()).toEqual(kept);
    expect(ds.openStats.prunedFiles).toBe(files.length - kept.length);
    const t = await ds.readTable({ filter });
    expect(summary(t)).toEqual(await duckSummary(`year = 2023 AND region IN ('eu', 'ap west/x=1') AND day >= DATE '2024-06-01'`));
  });

  it('a warm re-open costs the listing only: 0 GETs', async () => {
    const cache = createMetadataCache();
    const backend = withMetrics(fsBackend({ root: dir }));
    await openDataset({ backend }, { metadataCache: cache });
    const cold = backend.metrics.snapshot();
    expect(cold).toMatchObject({ lists: 1, gets: files.length, heads: 0 });
    backend.metrics.reset();
    const ds = await openDataset({ backend }, { metadataCache: cache });
    expect(backend.metrics.snapshot()).toMatchObject({ lists: 1, gets: 0, heads: 0 });
    expect(ds.openStats.footerRequests).toBe(0);
    // By URL, each open makes a new backend: footers are kept under each file's URL, so it is warm too.
    expect((await openDataset(dir, { metadataCache: cache })).openStats.footerRequests).toBe(files.length);
    expect((await openDataset(dir, { metadataCache: cache })).openStats).toMatchObject({ listRequests: 1, footerRequests: 0 });
  });

  it('a cache that stores copies (structured clone) of the footers single-file opens stored: the dataset opens warm (0 GETs), parses each copy\'s footer, and reads the right rows', async () => {
    const store = new Map<string, unknown>();
    const cache = {
      get: (k: string) => (store.has(k) ? structuredClone(store.get(k)) : undefined) as never,
      set: (k: string, v: unknown) => store.set(k, structuredClone(v)),
      delete: (k: string) => store.delete(k),
    };
    const backend = withMetrics(fsBackend({ root: dir }));
    for (const f of files) await (await openParquet(backend, f, { metadataCache: cache })).close();
    expect([...store.values()].every((v) => !('metadata' in (v as object)))).toBe(true); // the open's entries copy as data only
    backend.metrics.reset();
    const ds = await openDataset({ backend }, { metadataCache: cache });
    expect(backend.metrics.snapshot()).toMatchObject({ lists: 1, gets: 0, heads: 0 });
    expect(summary(await ds.readTable())).toEqual(await duckSummary());
  });

  it('prunes row groups by statistics and plans the sums (LIST + footers + data, S3 cost)', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const all = await ds.plan();
    expect(all.files).toBe(files.length);
    expect(all.requests).toBe(1 + files.length + all.dataRequests);
    expect(all.open).toEqual({ listRequests: 1, footerRequests: files.length, roundTrips: 1 + Math.ceil(files.length / 32) });
    expect(all.s3CostUsd).toBeCloseTo(0.005 / 1000 + (files.length + all.dataRequests) * (0.0004 / 1000), 12);
    const filter = { column: 'id', lt: 200 };
    const some = await ds.plan({ filter });
    expect(some.prunedRowGroups).toBeGreaterThan(0);
    expect(some.rowGroups + some.prunedRowGroups).toBe(all.rowGroups);
    const t = await ds.readTable({ filter, columns: ['id', 'region'] });
    const ids = (t.getChild('id')?.toArray() as BigInt64Array | number[]) ?? [];
    const small = [...ids].map(Number).filter((i) => i < 200).sort((a, b) => a - b);
    const duck = await duckQuery(`SELECT id FROM ${src} WHERE id < 200 ORDER BY id`);
    expect(small).toEqual(duck.map((r) => Number(r.id)));
    expect(t.numRows).toBe(small.length); // files whose only row group was pruned are not read at all
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'region']);
  });

  it('readBatches streams the same rows; readObjects gives rows with partition values', async () => {
    const ds = await openDataset(dir, { metadataCache: false, readConcurrency: 2 });
    let rows = 0;
    let sum = 0;
    for await (const b of ds.readBatches({ columns: ['value', 'year'] })) {
      rows += b.numRows;
      for (let i = 0; i < b.numRows; i++) sum += Number(b.getChild('value')?.get(i));
      expect(b.schema.fields.map((f) => f.name)).toEqual(['value', 'year']);
    }
    const ref = await duckSummary();
    expect({ rows, sum }).toEqual({ rows: ref.rows, sum: ref.sumValue });
    const objs = await ds.readObjects({ filter: { column: 'region', eq: 'eu' }, columns: ['id', 'region', 'day'] });
    const [duck] = await duckQuery(`SELECT count(*) AS n, sum(id) AS s FROM ${src} WHERE region = 'eu'`);
    expect(objs.length).toBe(Number(duck?.n));
    expect(objs.reduce((n, o) => n + Number(o.id), 0)).toBe(Number(duck?.s));
    expect(objs[0]).toMatchObject({ region: 'eu', day: expect.any(Date) });
    // A filter on a file column keeps only the matching rows, as readTable does (not whole row groups).
    const some = await ds.readObjects({ filter: { and: [{ column: 'region', eq: 'eu' }, { column: 'id', lt: 1990 }] }, columns: ['id', 'region'] });
    const [few] = await duckQuery(`SELECT count(*) AS n, sum(id) AS s FROM ${src} WHERE region = 'eu' AND id < 1990`);
    expect(Number(few?.n)).toBeGreaterThan(0);
    expect(some.length).toBe(Number(few?.n));
    expect(some.reduce((n, o) => n + Number(o.id), 0)).toBe(Number(few?.s));
    expect(some.every((o) => Number(o.id) < 1990 && o.region === 'eu')).toBe(true);
  });

  it('rejects a filter comparing a partition with the wrong type, and an unknown column', async () => {
    await expect(openDataset(dir, { filter: { column: 'year', eq: '2023' } })).rejects.toMatchObject({ code: 'BAD_PARTITION' });
    const ds = await openDataset(dir);
    await expect(ds.readTable({ filter: { column: 'nope', eq: 1 } })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
  });
});

describe('openDataset on memory', () => {
  it('gives DuckDB’s answers from the same files, with 1 LIST and one GET per footer', async () => {
    const backend = memoryBackend();
    for (const f of files) backend.put(`events/${f}`, new Uint8Array(await readFile(join(dir, f))));
    backend.put('events/_SUCCESS', '');
    const metered = withMetrics(backend);
    const ds = await openDataset({ backend: metered, prefix: 'events/' }, { metadataCache: false });
    expect(metered.metrics.snapshot()).toMatchObject({ lists: 1, gets: files.length, heads: 0 });
    expect(summary(await ds.readTable())).toEqual(await duckSummary());
  });

  it('a warm re-open fetches again only the footer of a file replaced since (its listed ETag changed)', async () => {
    const backend = memoryBackend();
    for (const f of files.slice(0, 5)) backend.put(`w/${f}`, new Uint8Array(await readFile(join(dir, f))));
    const metered = withMetrics(backend);
    const cache = createMetadataCache();
    await openDataset({ backend: metered, prefix: 'w/' }, { metadataCache: cache });
    expect(metered.metrics.snapshot()).toMatchObject({ lists: 1, gets: 5 });
    const replaced = `w/${files[2]}`;
    backend.put(replaced, new Uint8Array(await readFile(join(dir, files[7] as string))));
    metered.metrics.reset();
    const ds = await openDataset({ backend: metered, prefix: 'w/' }, { metadataCache: cache });
    expect(metered.metrics.snapshot().requests.map((r) => `${r.op} ${r.path}`)).toEqual(['LIST w/', `GET ${replaced}`]);
    expect(ds.files[2]?.etag).toBe((await backend.stat(replaced)).etag);
  });

  it('names the first file and column whose schema differs (SCHEMA_MISMATCH)', async () => {
    const backend = memoryBackend();
    const [a, b] = files as [string, string];
    backend.put(`x/k=1/a.parquet`, new Uint8Array(await readFile(join(dir, a))));
    backend.put(`x/k=2/b.parquet`, new Uint8Array(await readFile(join(dir, b))));
    await duckQuery(`COPY (SELECT 1::INTEGER AS id, 0.5 AS value, 'x' AS name) TO '${dir}/../other-${process.pid}.parquet' (FORMAT parquet)`);
    backend.put(`x/k=3/c.parquet`, new Uint8Array(await readFile(join(dir, '..', `other-${process.pid}.parquet`))));
    await rm(join(dir, '..', `other-${process.pid}.parquet`));
    await expect(openDataset({ backend, prefix: 'x/' }, { metadataCache: false })).rejects.toMatchObject({
      kind: 'InvalidData',
      code: 'SCHEMA_MISMATCH',
      message: expect.stringMatching(/schema of x\/k=3\/c\.parquet differs from x\/k=1\/a\.parquet: column id is INT32 .*, not INT64 /),
    });
  });

  it('refuses files with different partition folders (BAD_PARTITION), an empty listing (NotFound) and a backend without listing', async () => {
    const backend = memoryBackend({ 'y/k=1/a.parquet': 'x', 'y/b.parquet': 'x' });
    await expect(openDataset({ backend, prefix: 'y/' })).rejects.toMatchObject({ code: 'BAD_PARTITION', message: expect.stringContaining('y/k=1/a.parquet has partitions (k), but the dataset') });
    await expect(openDataset({ backend, prefix: 'nothing/' })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('the listing found nothing') });
    await expect(openDataset({ backend: memoryBackend({ 'z/_SUCCESS': '' }), prefix: 'z/' })).rejects.toMatchObject({ kind: 'NotFound', message: expect.stringContaining('1 objects, none a data file') });
    const { list: _l, listPage: _p, ...noList } = backend;
    await expect(openDataset({ backend: { ...noList, capabilities: { suffix: true, etag: true, ifMatch: true } } })).rejects.toMatchObject({ code: 'LIST_UNSUPPORTED' });
  });
});
