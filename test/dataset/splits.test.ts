/**
 * Splits: plain JSON, read anywhere. Splits of a DuckDB-written hive folder go through
 * JSON.stringify/parse to worker threads that call readSplit; the merged rows equal readTable's.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { openDataset } from '../../src/dataset/dataset.js';
import { readSplit, readSplitBatches, type DatasetSplit } from '../../src/dataset/splits.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { writeHiveDataset } from '../support/duckdb.js';
import { readInWorkers, rowsOf } from './helpers.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brr-splits-'));
  await writeHiveDataset(dir);
}, 120_000);
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('splits', () => {
  it('are plain JSON with the footer, row groups, byte ranges, ETag and partition values, and no secrets', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const splits = await ds.splits();
    expect(splits).toHaveLength(ds.files.length);
    const s = splits[0] as DatasetSplit;
    expect(JSON.parse(JSON.stringify(s))).toEqual(s);
    expect(s).toMatchObject({
      version: 1,
      url: `${dir}/${ds.files[0]?.path}`,
      backend: 'fs',
      size: ds.files[0]?.size,
      etag: ds.files[0]?.etag,
      rowGroups: [0],
      rows: 40,
      partitions: [
        { name: 'year', type: 'int32', value: 2022 },
        { name: 'day', type: 'date', value: '2024-01-01' },
        { name: 'region', type: 'string', value: null },
      ],
    });
    expect(s.footer.offset + s.footer.length).toBe(s.size);
    expect(s.bytes).toBe(s.ranges.reduce((n, r) => n + r.length, 0));
  });

  it('readSplit opens with one exact footer GET (If-Match) and reads the split’s ranges', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const [s] = await ds.splits({ columns: ['id', 'year'] });
    const backend = withMetrics(fsBackend({ root: dir }));
    const t = await readSplit(JSON.parse(JSON.stringify(s)) as DatasetSplit, { backend });
    expect(t.numRows).toBe(40);
    expect(t.schema.fields.map((f) => f.name)).toEqual(['id', 'year']);
    const log = backend.metrics.snapshot().requests;
    const footer = (s as DatasetSplit).footer;
    expect(log[0]).toMatchObject({ op: 'GET', rangeHeader: `bytes=${footer.offset}-${footer.offset + footer.length - 1}` });
    expect(log.filter((r) => r.op === 'HEAD')).toEqual([]);
    const data = log.slice(1).map((r) => (r.rangeHeader ?? '').match(/^bytes=(\d+)-(\d+)$/)?.slice(1).map(Number) as [number, number]);
    expect(data.length).toBeGreaterThanOrEqual(1);
    for (const r of (s as DatasetSplit).ranges) expect(data.some(([a, b]) => a <= r.offset && r.offset + r.length - 1 <= b)).toBe(true);
    expect(log.slice(1).every((r) => r.op === 'GET' && r.path === (s as DatasetSplit).path)).toBe(true);
  });

  it('JSON round trip read by readSplit in worker threads gives the same rows as readTable', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const splits = JSON.parse(JSON.stringify(await ds.splits({ targetBytes: 1 }))) as DatasetSplit[];
    const tables = await readInWorkers(splits, 2);
    const merged = tables.flatMap(rowsOf).sort();
    expect(merged).toEqual(rowsOf(await ds.readTable()));
    expect(merged.length).toBe(4320);
  }, 120_000);

  it('readSplitBatches streams the split; a changed file or a bad split is a typed error', async () => {
    const ds = await openDataset(dir, { metadataCache: false });
    const [s] = await ds.splits();
    let rows = 0;
    for await (const b of readSplitBatches(s as DatasetSplit)) rows += b.numRows;
    expect(rows).toBe(40);
    await expect(readSplit({ ...(s as DatasetSplit), etag: '"other"' })).rejects.toMatchObject({ kind: 'ConditionNotMatch' });
    await expect(readSplit({ ...(s as DatasetSplit), version: 2 as 1 })).rejects.toMatchObject({ code: 'BAD_SPLIT' });
    await expect(readSplit({ ...(s as DatasetSplit), footer: { offset: 4, length: 8 } })).rejects.toMatchObject({ code: 'BAD_SPLIT' });
  });
});
