/**
 * `brr bench <url>` end to end: the built binary against the local HTTP object server, local files
 * and moto (signatures checked) behind the benchmark's logging proxy. What it reports is checked
 * against the server's own log, request by request, reader by reader.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parquetMetadata } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer, type ServerRequestLog } from '../../bench/object-server.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { columnChunkRanges } from '../../src/parquet/metadata.js';
import { openWindow } from '../../src/parquet/open.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { ensureBuilt, run } from './run.js';

/** What `ours` asks for first when it reads the whole file (no selection): the whole-read window. */
const WHOLE_WINDOW = openWindow({ expect: 'whole' });

interface ReaderJson {
  reader: string;
  countedBy: string;
  gets: number;
  heads: number;
  roundTrips: number;
  bytes: number;
  bytesNeeded: number;
  wallMs: number;
  rows: number;
  s3CostPerMillionUsd: number;
  chunksSkipped?: number;
  error?: { kind: string; code: string; message: string };
}
interface BenchJson {
  url: string;
  size: number;
  rowGroups: number;
  columns: number;
  selection: { columns: string[] | null; rowGroups: number[] | null; filter: string | null };
  bytesNeeded: number;
  readers: ReaderJson[];
}

const motoOk = requireMotoInCi('test/cli/bench.test.ts');
const BUCKET = 'brr-bench';
let moto: MotoServer | undefined;
let server: ObjectServer;
let seed: Uint8Array;
let tmp: string;

beforeAll(async () => {
  ensureBuilt();
  const starting = motoOk ? startMoto({ auth: true }) : undefined;
  seed = await fixture(FIXTURES.seed);
  server = await new ObjectServer().start();
  tmp = await mkdtemp(join(tmpdir(), 'brr-bench-'));
  if (starting) {
    moto = await starting;
    await moto.createBucket(BUCKET);
    await moto.put(BUCKET, 'seed.parquet', seed);
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await moto?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

/** The seed file under a key of its own, so tests running together each read their own log. */
function own(tag: string) {
  const key = `${tag}/seed.parquet`;
  server.put(key, seed);
  return { url: `${server.url}/${key}`, log: () => server.requests.filter((r) => r.path === key) };
}

const line = (r: ServerRequestLog) => `${r.method} ${r.range ?? ''}`.trim();

/** The seed's layout, parsed here independently of the CLI. */
function layout() {
  const metadataLength = new DataView(seed.buffer, seed.byteOffset).getUint32(seed.byteLength - 8, true);
  const metadata = parquetMetadata(seed);
  return { size: seed.byteLength, metadataLength, chunks: columnChunkRanges(metadata, seed.byteLength, metadataLength, {}).flat() };
}

/** What the naive reader sends: a HEAD for the size, the footer by two seeks from the end, then one open-ended GET per chunk. */
function naiveLines(chunks: readonly { offset: number }[]): string[] {
  const { size, metadataLength } = layout();
  return ['HEAD', `GET bytes=${size - 8}-`, `GET bytes=${size - 8 - metadataLength}-`, ...chunks.map((c) => `GET bytes=${c.offset}-`)];
}

/**
 * Splits the server's log into the readers' shares. The readers run one after another, `ours` first
 * (it opens the file for the others), so each one's requests are a contiguous stretch of the log.
 */
function shares(log: ServerRequestLog[], out: BenchJson): Record<string, ServerRequestLog[]> {
  const order = ['ours', ...out.readers.map((r) => r.reader).filter((r) => r !== 'ours')];
  const byId: Record<string, ServerRequestLog[]> = {};
  let at = 0;
  for (const id of order) {
    const r = out.readers.find((x) => x.reader === id) as ReaderJson;
    byId[id] = log.slice(at, at + r.gets + r.heads);
    at += r.gets + r.heads;
  }
  expect(at).toBe(log.length);
  return byId;
}

function counts(log: ServerRequestLog[]): { gets: number; heads: number } {
  return { gets: log.filter((e) => e.method === 'GET').length, heads: log.filter((e) => e.method === 'HEAD').length };
}

describe.concurrent('brr bench <url> (HTTP)', () => {
  it('--json --runs 1 on the seed file (50 row groups × 12 columns): every reader, counts equal to the server log, ours ≤ 2 GETs, ours-dropin 1 GET, naive ≥ 600', async () => {
    const f = own('acceptance');
    const r = await run(['bench', f.url, '--json', '--runs', '1'], { timeoutMs: 120_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as BenchJson;
    expect(out).toMatchObject({ url: f.url, size: seed.byteLength, rowGroups: 50, columns: 12, selection: { columns: null, rowGroups: null, filter: null } });
    expect(out.readers.map((x) => x.reader)).toEqual(['naive', 'hyparquet', 'parquet-wasm', 'ours', 'ours-dropin']);
    const log = f.log();
    const total = out.readers.reduce((n, x) => n + x.gets + x.heads, 0);
    expect(total).toBe(log.length);
    const share = shares(log, out);
    for (const x of out.readers) {
      expect(x.error).toBeUndefined();
      const mine = share[x.reader] as ServerRequestLog[];
      expect(counts(mine), x.reader).toEqual({ gets: x.gets, heads: x.heads });
      // The decoders read every body to its end: what the server sent is what they report.
      if (x.reader !== 'naive') expect(x.bytes, x.reader).toBe(mine.reduce((n, e) => n + e.bytes, 0));
    }
    const by = Object.fromEntries(out.readers.map((x) => [x.reader, x]));
    expect(share.ours?.map(line)).toEqual([`GET bytes=-${WHOLE_WINDOW}`]);
    expect(by.ours).toMatchObject({ countedBy: 'backend', gets: 1, heads: 0, roundTrips: 1, bytes: seed.byteLength, rows: 10_000 });
    expect(share.naive?.map(line)).toEqual(naiveLines(layout().chunks));
    expect(by.naive?.gets).toBeGreaterThanOrEqual(600);
    expect(by.naive?.roundTrips).toBe(by.naive!.gets + by.naive!.heads); // one after another
    expect(by.hyparquet).toMatchObject({ countedBy: 'fetch', heads: 1, rows: 10_000 });
    expect(share.hyparquet?.[0]?.method).toBe('HEAD');
    expect(by['parquet-wasm']).toMatchObject({ countedBy: 'fetch', heads: 0, rows: 10_000 });
    // hyparquet's own parquetReadObjects over openAsyncBuffer: the open's suffix GET brings the whole
    // 740 KiB file (it fits the tail window), so hyparquet's metadata read and its per-row-group
    // slices are all served from the buffer.
    expect(share['ours-dropin']?.map(line)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    expect(by['ours-dropin']).toMatchObject({ countedBy: 'backend', gets: 1, heads: 0, roundTrips: 1, bytes: seed.byteLength, rows: 10_000 });
    for (const x of out.readers) {
      expect(x.bytesNeeded).toBe(out.bytesNeeded);
      expect(x.s3CostPerMillionUsd).toBeCloseTo((x.gets + x.heads) * 0.4, 6);
      expect(x.wallMs).toBeGreaterThan(0);
    }
  }, 150_000);

  it('a file past the tail window (75 row groups, 1.1 MB): ours-dropin sends the tail, then one GET for the rest of what hyparquet reads', async () => {
    const bytes = await fixture(FIXTURES.seedPlus);
    const key = 'past-window/seed-plus.parquet';
    server.put(key, bytes);
    const r = await run(['bench', `${server.url}/${key}`, '--json', '--naive-limit', '0'], { timeoutMs: 120_000 });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as BenchJson;
    const log = server.requests.filter((e) => e.path === key);
    expect(out.readers.reduce((n, x) => n + x.gets + x.heads, 0)).toBe(log.length);
    const share = shares(log, out);
    const tail = `GET bytes=-${DEFAULT_FOOTER_WINDOW}`;
    expect(bytes.byteLength).toBeGreaterThan(DEFAULT_FOOTER_WINDOW);
    // hyparquet's parquetReadObjects fires every row group's slices together: one planned wave, merged
    // into one GET of the bytes before the tail. It starts at 4: hyparquet never reads the leading magic.
    expect(share['ours-dropin']?.map(line)).toEqual([tail, `GET bytes=4-${bytes.byteLength - DEFAULT_FOOTER_WINDOW - 1}`]);
    const by = Object.fromEntries(out.readers.map((x) => [x.reader, x]));
    expect(by['ours-dropin']).toMatchObject({ gets: 2, heads: 0, roundTrips: 2, bytes: bytes.byteLength - 4, rows: 15_000 });
    expect(by.hyparquet).toMatchObject({ heads: 1, rows: 15_000 });
    expect(by.hyparquet!.gets).toBeGreaterThanOrEqual(75); // one per row group, and the footer
  }, 150_000);

  it('the table by default; a selection reads only its chunks; --naive-limit stops naive and says so', async () => {
    const f = own('selection');
    const r = await run(['bench', f.url, '--columns', 'id,price', '--row-groups', '3,4', '--naive-limit', '3'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const lines = r.out.split('\n');
    expect(lines[0]).toBe(`object    ${f.url} (740 KiB, 50 row groups × 12 columns)`);
    expect(lines[1]).toBe('selection columns id, price; row groups 3, 4');
    expect(r.out).toMatch(/^reader +GETs +HEADs +round trips +moved +moved\/needed +wall ms +S3 \$ per 1M reads$/m);
    for (const id of ['naive', 'hyparquet', 'parquet-wasm', 'ours', 'ours-dropin']) expect(r.out).toMatch(new RegExp(`^${id} +\\d+ +\\d+ +\\d+ `, 'm'));
    expect(r.out).toContain('naive: stopped after 3 column chunks, 1 not read (--naive-limit)');
    const { chunks } = layout();
    const picked = chunks.filter((c) => (c.rowGroup === 3 || c.rowGroup === 4) && (c.column === 'id' || c.column === 'price'));
    expect(picked).toHaveLength(4);
    const log = f.log().map(line);
    // ours first (the whole seed file fits its tail window: one GET), then naive: its footer and 3 of the 4 chunks.
    expect(log.slice(0, 7)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...naiveLines(picked.slice(0, 3))]);
    expect(r.out).toMatch(/^ours +1 +0 +1 /m);
    expect(r.out).toMatch(/^naive +5 +1 +6 /m);
    expect(r.out).toMatch(/^ours-dropin +1 +0 +1 /m); // the file fits the open's GET: hyparquet's slices hit the buffer
  }, 90_000);

  it('--filter: ours prunes by statistics, hyparquet gets the same filter in its own syntax', async () => {
    const f = own('filter');
    const r = await run(['bench', f.url, '--filter', 'id>=5000,id<5200', '--json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as BenchJson;
    expect(out.selection.filter).toBe('id>=5000,id<5200');
    const by = Object.fromEntries(out.readers.map((x) => [x.reader, x]));
    expect(by.ours).toMatchObject({ gets: 1, heads: 0, rows: 200 }); // one row group of 200 rows
    expect(by.hyparquet?.rows).toBe(200);
    expect(by['ours-dropin']).toMatchObject({ gets: 1, heads: 0, rows: 200 }); // hyparquet's filter, over the one GET's buffer
    expect(by['parquet-wasm']?.rows).toBe(10_000); // no predicate: every row group
    expect(by.naive?.gets).toBe(2 + 12); // footer + the one row group's 12 chunks
    expect(out.readers.reduce((n, x) => n + x.gets + x.heads, 0)).toBe(f.log().length);
  }, 90_000);

  it('a local file: the peers read a plain file object, counted by our backend', async () => {
    const file = join(tmp, 'seed.parquet');
    await writeFile(file, seed);
    const r = await run(['bench', file, '--json', '--columns', 'id', '--naive-limit', '2'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    const out = JSON.parse(r.out) as BenchJson;
    expect(out.readers.map((x) => [x.reader, x.countedBy, x.error])).toEqual([
      ['naive', 'backend', undefined],
      ['hyparquet', 'backend', undefined],
      ['parquet-wasm', 'backend', undefined],
      ['ours', 'backend', undefined],
      ['ours-dropin', 'backend', undefined],
    ]);
    const by = Object.fromEntries(out.readers.map((x) => [x.reader, x]));
    expect(by.naive).toMatchObject({ gets: 4, heads: 1, chunksSkipped: 48 });
    expect(by['ours-dropin']).toMatchObject({ gets: 1, heads: 0, rows: 10_000 });
    expect(by.hyparquet).toMatchObject({ heads: 1, rows: 10_000 });
    expect(by.ours).toMatchObject({ gets: 1, heads: 0, rows: 10_000 });
  }, 90_000);

  it('a missing object: not found (2), one line on stderr, nothing on stdout, one request', async () => {
    const key = 'missing/none.parquet';
    const r = await run(['bench', `${server.url}/${key}`, '--json'], { timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.out).toBe('');
    expect(r.stderr).toMatch(/^brr: not found: .*\n$/);
    expect(server.requests.filter((x) => x.path === key).map(line)).toEqual([`GET bytes=-${WHOLE_WINDOW}`]);
  }, 90_000);

  it('bad flags are usage errors (64) before any request; --waterfall draws one section per reader', async () => {
    const f = own('flags');
    const bad = own('bad-flags');
    const [runs, limit, waterfall] = await Promise.all([
      run(['bench', bad.url, '--runs', '0'], { timeoutMs: 60_000 }),
      run(['bench', bad.url, '--naive-limit', 'lots'], { timeoutMs: 60_000 }),
      run(['bench', f.url, '--columns', 'id', '--naive-limit', '1', '--waterfall', join(tmp, 'w.html')], { timeoutMs: 60_000 }),
    ]);
    expect(runs.code).toBe(64);
    expect(runs.stderr).toContain('--runs must be at least 1');
    expect(limit.code).toBe(64);
    expect(limit.stderr).toContain('--naive-limit must be a non-negative integer');
    expect(bad.log()).toEqual([]);
    expect(waterfall.code).toBe(0);
    const html = await readFile(join(tmp, 'w.html'), 'utf8');
    for (const id of ['naive', 'hyparquet', 'parquet-wasm', 'ours', 'ours-dropin']) expect(html).toContain(`<h2>${id}: `);
    expect(f.log().length).toBe((html.match(/<g><title>/g) ?? []).length); // every request drawn
  }, 90_000);
});

describe.skipIf(!motoOk)('brr bench s3:// (moto, signatures checked, behind the logging proxy)', { concurrent: true }, () => {
  const env = (endpoint: string, secret?: string) => {
    const m = moto as MotoServer;
    return { AWS_ENDPOINT_URL_S3: endpoint, AWS_REGION: m.region, AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: secret ?? m.secretAccessKey };
  };

  it('--json: every reader, the peers signing like ours; the counts equal what the proxy forwarded', async () => {
    const proxy = await new ObjectServer({ upstream: (moto as MotoServer).endpoint }).start();
    try {
      const r = await run(['bench', `s3://${BUCKET}/seed.parquet`, '--json', '--runs', '1', '--naive-limit', '20'], { env: env(proxy.url), timeoutMs: 120_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const out = JSON.parse(r.out) as BenchJson;
      expect(out.readers.map((x) => [x.reader, x.error])).toEqual([
        ['naive', undefined],
        ['hyparquet', undefined],
        ['parquet-wasm', undefined],
        ['ours', undefined],
        ['ours-dropin', undefined],
      ]);
      const log = proxy.requests;
      expect(log.every((e) => e.status === 200 || e.status === 206)).toBe(true); // every signature accepted
      const share = shares(log, out);
      for (const x of out.readers) expect(counts(share[x.reader] as ServerRequestLog[]), x.reader).toEqual({ gets: x.gets, heads: x.heads });
      expect(share.ours?.map(line)).toEqual([`GET bytes=-${WHOLE_WINDOW}`]);
      expect(share.naive?.map(line)).toEqual(naiveLines(layout().chunks.slice(0, 20)));
      const by = Object.fromEntries(out.readers.map((x) => [x.reader, x]));
      expect(by.hyparquet).toMatchObject({ countedBy: 'fetch', heads: 1, rows: 10_000 });
      expect(by['parquet-wasm']).toMatchObject({ countedBy: 'fetch', rows: 10_000 });
      expect(share['ours-dropin']?.map(line)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
      expect(by['ours-dropin']).toMatchObject({ countedBy: 'backend', gets: 1, heads: 0, rows: 10_000 });
    } finally {
      await proxy.stop();
    }
  }, 150_000);

  it('a wrong secret is permission denied (3), after one request, and the secret is never printed', async () => {
    const proxy = await new ObjectServer({ upstream: (moto as MotoServer).endpoint }).start();
    try {
      const secret = 'wrongSecretKEY0123456789abcdefghijklmnop';
      const r = await run(['bench', `s3://${BUCKET}/seed.parquet`, '--json', '--debug'], { env: env(proxy.url, secret), timeoutMs: 60_000 });
      expect(r.code).toBe(3);
      expect(r.out).toBe('');
      expect(r.stderr).toMatch(/^brr: permission denied: .*SignatureDoesNotMatch/);
      expect(r.stderr).not.toContain(secret.slice(0, 12));
      expect(proxy.requests.map((e) => `${line(e)} ${e.status}`)).toEqual([`GET bytes=-${WHOLE_WINDOW} 403`]);
    } finally {
      await proxy.stop();
    }
  }, 90_000);

  it('a missing key is not found (2)', async () => {
    const r = await run(['bench', `s3://${BUCKET}/missing.parquet`], { env: env((moto as MotoServer).endpoint), timeoutMs: 60_000 });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^brr: not found: /);
  }, 90_000);
});
