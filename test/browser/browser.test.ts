/**
 * The package in real Chromium (Debian's, driven by playwright-core): a page bundled by esbuild
 * from the package's own exports (browser conditions) is served from one origin and reads Parquet
 * files from the object server on another origin under CORS. Every request is asserted on the
 * server's log: GETs, HEADs, and the CORS preflights (OPTIONS) the browser sent.
 * Needs `npm run build` first (the page imports dist through the package's exports): `npm run test:browser` does it.
 */
import { build } from 'esbuild';
import { parquetReadObjects } from 'hyparquet';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, extname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readParquet } from 'parquet-wasm';
import { tableFromIPC } from 'apache-arrow';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, mixedTable, toParquet } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';

/** Debian's Chromium (`apt-get install -y chromium`); playwright's own browser downloads do not work here. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
/** Flags from DESIGN.md: headless without sandbox or GPU, and no background traffic to a closed network. */
const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const TYPES: Record<string, string> = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.map': 'application/json' };

let work: string;
let pageServer: Server;
let pageOrigin: string;
let objects: ObjectServer;
let hiding: ObjectServer;
let browser: Browser;
let page: Page;
let within: Uint8Array;
let over: Uint8Array;
const pageErrors: string[] = [];

/** A Parquet file just larger than the tail window: the open GET cannot bring it back whole. */
function justOverTheWindow(): Uint8Array {
  for (let groups = 50; groups < 80; groups++) {
    const bytes = toParquet(mixedTable(12, groups, 200, 1), 200);
    if (bytes.byteLength > DEFAULT_FOOTER_WINDOW) return bytes;
  }
  throw new Error('no fixture size just over the window');
}

/** What the page must show: hyparquet's rows and parquet-wasm's columns, decoded here on Node. */
function plain(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v instanceof Date ? v.toISOString() : v)));
}
async function expected(bytes: Uint8Array) {
  const file = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const rows = plain(await parquetReadObjects({ file }));
  const table = tableFromIPC(readParquet(bytes).intoIPCStream());
  const columns: Record<string, unknown> = {};
  for (const f of table.schema.fields) columns[f.name] = plain([...(table.getChild(f.name) ?? [])]);
  return { rows, numRows: table.numRows, columns };
}

async function bundlePage(): Promise<void> {
  // The page imports 'buffered-range-reader': resolve it as an installed package (this checkout).
  const modules = join(work, 'node_modules');
  await mkdir(modules, { recursive: true });
  await symlink(ROOT, join(modules, 'buffered-range-reader'), 'dir');
  await build({
    entryPoints: [join(ROOT, 'test/browser/page.ts')],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    loader: { '.wasm': 'file' },
    nodePaths: [modules],
    outdir: join(work, 'www'),
    logLevel: 'silent',
  });
  await writeFile(join(work, 'www', 'index.html'), '<!doctype html><meta charset="utf-8"><title>brr</title><script type="module" src="./page.js"></script>');
}

function servePage(): Promise<void> {
  pageServer = createServer((req, res) => {
    const file = join(work, 'www', new URL(req.url ?? '/', 'http://x').pathname.replace(/^\/+/, '') || 'index.html');
    readFile(file).then(
      (body) => res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body),
      () => res.writeHead(404).end(),
    );
  });
  return new Promise((ok) =>
    pageServer.listen(0, '127.0.0.1', () => {
      pageOrigin = `http://127.0.0.1:${(pageServer.address() as AddressInfo).port}`;
      ok();
    }),
  );
}

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'brr-browser-'));
  [within, over] = [await fixture(FIXTURES.seed), justOverTheWindow()];
  expect(within.byteLength).toBeLessThan(DEFAULT_FOOTER_WINDOW);
  await bundlePage();
  await servePage();
  objects = await new ObjectServer({ cors: {} }).start();
  objects.put('within.parquet', within);
  objects.put('over.parquet', over);
  hiding = await new ObjectServer({ cors: { exposeHeaders: [] } }).start();
  hiding.put('within.parquet', within);
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.on('pageerror', (err) => pageErrors.push(String(err)));
  await page.goto(`${pageOrigin}/index.html`);
  await page.waitForFunction(() => (globalThis as { brrReady?: boolean }).brrReady === true);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await objects?.stop();
  await hiding?.stop();
  await new Promise((ok) => (pageServer ? pageServer.close(ok) : ok(undefined)));
  if (work) await rm(work, { recursive: true, force: true });
});

type Brr = {
  read(url: string, noIfMatch?: boolean): Promise<{ ok: true; rows: unknown; numRows: number; columns: Record<string, unknown>; openRequests: number } | { ok: false; error: { readerError: boolean; kind?: string; code?: string; message: string } }>;
  rawRead(url: string, range: object, ifMatch?: string): Promise<{ ok: boolean; bytes?: number; size?: number; etag?: string | null; error?: { code?: string; message: string } }>;
  guarded(url: string): Promise<{ aborted: unknown }>;
};
const inPage = <K extends keyof Brr>(name: K, ...args: Parameters<Brr[K]>) =>
  page.evaluate(([n, a]) => ((globalThis as unknown as { brr: Record<string, (...x: unknown[]) => unknown> }).brr[n as string] as (...x: unknown[]) => unknown)(...(a as unknown[])), [name, args] as const) as ReturnType<Brr[K]>;

function log(server: ObjectServer) {
  return server.requests.map((r) => `${r.method} ${r.path}${r.range ? ` ${r.range}` : ''}${r.ifMatch ? ' if-match' : ''}${r.preflightHeaders ? ` [${r.preflightHeaders}]` : ''}`);
}

describe('Chromium: openParquet(url) across origins', () => {
  it('a file within the tail window: 1 GET (preflighted: a suffix range), 0 HEADs, rows and table correct', async () => {
    objects.resetLog();
    const got = await inPage('read', `${objects.url}/within.parquet`);
    if (!got.ok) throw new Error(`page failed: ${got.error.message}`);
    const want = await expected(within);
    expect(got.rows).toEqual(want.rows);
    expect(got.numRows).toBe(want.numRows);
    expect(got.columns).toEqual(want.columns);
    expect(got.openRequests).toBe(1);
    expect(log(objects)).toEqual(['OPTIONS within.parquet [range]', `GET within.parquet bytes=-${DEFAULT_FOOTER_WINDOW}`]);
  }, 120_000);

  it('a file just over it: 2 GETs (the data GET carries If-Match: preflighted too), 0 HEADs', async () => {
    objects.resetLog();
    const got = await inPage('read', `${objects.url}/over.parquet`);
    if (!got.ok) throw new Error(`page failed: ${got.error.message}`);
    const want = await expected(over);
    expect(got.rows).toEqual(want.rows);
    expect(got.columns).toEqual(want.columns);
    const rest = over.byteLength - DEFAULT_FOOTER_WINDOW;
    expect(log(objects)).toEqual([
      'OPTIONS over.parquet [range]',
      `GET over.parquet bytes=-${DEFAULT_FOOTER_WINDOW}`,
      // The bounded range is safelisted: only If-Match is asked for.
      'OPTIONS over.parquet [if-match]',
      `GET over.parquet bytes=0-${rest - 1} if-match`,
    ]);
  }, 120_000);

  it('fetchBackend({ ifMatch: false }): the data GET is a bare bounded range, not preflighted', async () => {
    objects.put('over-no-if-match.parquet', over);
    objects.resetLog();
    const got = await inPage('read', `${objects.url}/over-no-if-match.parquet`, true);
    if (!got.ok) throw new Error(`page failed: ${got.error.message}`);
    expect(got.columns).toEqual((await expected(over)).columns);
    const rest = over.byteLength - DEFAULT_FOOTER_WINDOW;
    expect(log(objects)).toEqual([
      'OPTIONS over-no-if-match.parquet [range]',
      `GET over-no-if-match.parquet bytes=-${DEFAULT_FOOTER_WINDOW}`,
      `GET over-no-if-match.parquet bytes=0-${rest - 1}`,
    ]);
  }, 120_000);

  it('a missing object is a ReaderError NotFound in the page', async () => {
    const got = await inPage('read', `${objects.url}/missing.parquet`);
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.error).toMatchObject({ readerError: true, kind: 'NotFound', code: 'NOT_FOUND' });
  }, 60_000);

  it('a server that hides Content-Range gives the CORS error naming Access-Control-Expose-Headers', async () => {
    const got = await inPage('read', `${hiding.url}/within.parquet`);
    expect(got.ok).toBe(false);
    if (got.ok) return;
    expect(got.error).toMatchObject({ readerError: true, code: 'CORS_HEADER_HIDDEN' });
    expect(got.error.message).toContain('Access-Control-Expose-Headers: Content-Range, ETag, Content-Length');
  }, 60_000);

  it('an aborted readTable settles with Aborted', async () => {
    const got = await inPage('guarded', `${objects.url}/within.parquet`);
    expect(got.aborted).toMatchObject({ readerError: true, kind: 'Aborted' });
  }, 60_000);
});

describe('Chromium: which requests are preflighted', () => {
  it('a bounded range is not; a suffix range and If-Match are', async () => {
    // A fresh URL per probe: Chromium's HTTP cache may answer a repeated range read itself.
    for (const k of ['bounded', 'suffix', 'if-match']) objects.put(`probe-${k}.bin`, within);
    const size = within.byteLength;
    objects.resetLog();
    const bounded = await inPage('rawRead', `${objects.url}/probe-bounded.bin`, { offset: size - 1000, length: 1000 });
    expect(bounded).toMatchObject({ ok: true, bytes: 1000, size });
    expect(log(objects)).toEqual([`GET probe-bounded.bin bytes=${size - 1000}-${size - 1}`]);

    objects.resetLog();
    expect(await inPage('rawRead', `${objects.url}/probe-suffix.bin`, { suffix: 1000 })).toMatchObject({ ok: true, bytes: 1000, size });
    expect(log(objects)).toEqual(['OPTIONS probe-suffix.bin [range]', 'GET probe-suffix.bin bytes=-1000']);

    objects.resetLog();
    const etag = bounded.etag as string;
    expect(etag).toMatch(/^".+"$/); // exposed by the server's CORS configuration
    expect(await inPage('rawRead', `${objects.url}/probe-if-match.bin`, { offset: 0, length: 4 }, etag)).toMatchObject({ ok: true, bytes: 4 });
    expect(log(objects)).toEqual(['OPTIONS probe-if-match.bin [if-match]', 'GET probe-if-match.bin bytes=0-3 if-match']);
  }, 60_000);

  it('the page raised no uncaught error', () => {
    expect(pageErrors).toEqual([]);
  });
});
