/**
 * HTTP has no listing: a dataset over HTTP is an explicit list of URLs or a manifest (one URL per
 * line, or JSON with sizes and ETags), read from the local object server; requests from its log.
 */
import { getEventListeners } from 'node:events';
import { mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { openDataset } from '../../src/dataset/dataset.js';
import { DATASET_FOOTER_CONCURRENCY } from '../../src/dataset/footers.js';
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

  it('a caller signal over all 108 files (32 footer GETs in flight, no retry layer between): no MaxListenersExceededWarning, nothing left on it; aborting it stops the open', async () => {
    const warnings: Error[] = [];
    const onWarning = (w: Error) => warnings.push(w);
    process.on('warning', onWarning);
    try {
      expect(keys.length).toBeGreaterThanOrEqual(2 * DATASET_FOOTER_CONCURRENCY);
      const urls = keys.map((k) => `${server.url}/lake/${urlPath(k)}`);
      const c = new AbortController();
      // url.retry false: the undici backend gets the signal as it is, per request (the retry layer would wrap it).
      const ds = await openDataset(urls, { metadataCache: false, signal: c.signal, url: { retry: false } });
      expect(ds.files).toHaveLength(keys.length);
      const t = await ds.readTable({ columns: ['id'] });
      const [duck] = await duckQuery(`SELECT count(*) AS n FROM ${hiveSource(dir)}`);
      expect(t.numRows).toBe(Number(duck?.n));
      expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
      const stop = new AbortController();
      const opening = openDataset(urls, { metadataCache: false, signal: stop.signal, url: { retry: false } });
      stop.abort();
      await expect(opening).rejects.toMatchObject({ kind: 'Aborted' });
      expect(getEventListeners(stop.signal, 'abort')).toHaveLength(0);
      await new Promise((r) => setImmediate(r)); // warnings are emitted on a later tick
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
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
