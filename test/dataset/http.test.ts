/**
 * HTTP has no listing: a dataset over HTTP is an explicit list of URLs or a manifest (one URL per
 * line, or JSON with sizes and ETags), read from the local object server; requests from its log.
 */
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { openDataset } from '../../src/dataset/dataset.js';
import { parseManifest } from '../../src/dataset/files.js';
import { duckQuery, hiveSource, writeHiveDataset } from '../support/duckdb.js';

let dir: string;
let server: ObjectServer;
let keys: string[];
const urlPath = (key: string) => key.split('/').map(encodeURIComponent).join('/');

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brr-ds-http-'));
  await writeHiveDataset(dir);
  server = await new ObjectServer().start();
  const walk = async (d: string): Promise<string[]> =>
    (await Promise.all((await readdir(d, { withFileTypes: true })).map((e) => (e.isDirectory() ? walk(join(d, e.name)) : [relative(dir, join(d, e.name))])))).flat();
  keys = (await walk(dir)).sort();
  for (const k of keys) server.put(`lake/${k}`, new Uint8Array(await readFile(join(dir, k))));
  // A manifest holds URLs: DuckDB's folder names carry a literal % (region=ap%20west%2Fx%3D1), encoded once more.
  server.put('lake/manifest.txt', `# every file of the lake\n${keys.map(urlPath).join('\n')}\n`);
  server.put('lake/manifest.json', JSON.stringify({ files: keys.slice(0, 10).map((k) => ({ url: `${server.url}/lake/${urlPath(k)}` })) }));
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('openDataset over HTTP', () => {
  it('reads a text manifest (relative URLs): 1 manifest GET + 1 GET per footer, no HEAD; answers equal DuckDB', async () => {
    server.requests.length = 0;
    const ds = await openDataset(`${server.url}/lake/manifest.txt`, { metadataCache: false });
    const log = server.requests.map((r) => `${r.method} ${r.path}`);
    expect(log.filter((l) => l.startsWith('HEAD'))).toEqual([]);
    expect(log.sort()).toEqual(['GET lake/manifest.txt', ...keys.map((k) => `GET lake/${k}`)].sort());
    expect(ds.partitions.fields.map((f) => f.type)).toEqual(['int', 'date', 'string']);
    const t = await ds.readTable({ columns: ['id'] });
    const [duck] = await duckQuery(`SELECT count(*) AS n, count(DISTINCT year) AS y FROM ${hiveSource(dir)}`);
    expect(t.numRows).toBe(Number(duck?.n));
    expect(new Set(ds.files.map((f) => f.partitions.year)).size).toBe(Number(duck?.y));
  });

  it('reads a JSON manifest and an explicit URL list; cannot list a bare HTTP folder', async () => {
    const ds = await openDataset(`${server.url}/lake/manifest.json`, { metadataCache: false });
    expect(ds.files).toHaveLength(10);
    const urls = keys.slice(0, 3).map((k) => `${server.url}/lake/${urlPath(k)}`);
    const explicit = await openDataset(urls, { metadataCache: false });
    expect(explicit.files.map((f) => f.url)).toEqual(urls);
    await expect(openDataset(`${server.url}/lake/`)).rejects.toMatchObject({ code: 'LIST_UNSUPPORTED' });
    expect(explicit.files.map((f) => f.partitions.region)).toEqual([null, 'ap west/x=1', 'eu']);
  });

  it('parses manifests strictly (BAD_MANIFEST)', () => {
    expect(parseManifest('a.parquet\n\n# c\nb.parquet\r\n', 'm')).toEqual([{ path: 'a.parquet' }, { path: 'b.parquet' }]);
    expect(parseManifest('[{"path":"a","size":3,"etag":"\\"e\\""}]', 'm')).toEqual([{ path: 'a', size: 3, etag: '"e"' }]);
    expect(() => parseManifest('{"files": 3}', 'm')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
    expect(() => parseManifest('[{"size": 1}]', 'm')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
    expect(() => parseManifest('[{"path": "a", "size": -1}]', 'm')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
    expect(() => parseManifest('{nope', 'm')).toThrow(expect.objectContaining({ code: 'BAD_MANIFEST' }));
  });
});
