/**
 * The examples in examples/ run here, against the local HTTP object server and moto, so they never
 * rot: each is run as a user would (`tsx examples/x.ts <url>`), and its output and requests checked.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { ROOT, run } from '../cli/run.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { duckQuery, writeHiveDataset } from '../support/duckdb.js';

const motoOk = requireMotoInCi('test/examples/examples.test.ts');
const BUCKET = 'brr-examples';
let moto: MotoServer | undefined;
let server: ObjectServer;
let seed: Uint8Array;
let wide: Uint8Array;
let ipc: Uint8Array;

beforeAll(async () => {
  const starting = motoOk ? startMoto({ auth: true }) : undefined;
  [seed, wide, ipc] = await Promise.all([fixture(FIXTURES.seed), fixture(FIXTURES.wide), fixture(FIXTURES.ipc)]);
  server = await new ObjectServer().start();
  if (starting) {
    moto = await starting;
    await moto.createBucket(BUCKET);
    await moto.put(BUCKET, 'tables/wide.parquet', wide);
  }
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await moto?.stop();
});

const example = (name: string, args: string[], env?: Record<string, string>) => run(args, { script: join(ROOT, 'examples', name), ...(env ? { env } : {}) });

/** A copy under a key of its own: the server's log for it belongs to one test. */
function own(key: string, bytes: Uint8Array) {
  server.put(key, bytes);
  return { url: `${server.url}/${key}`, requests: () => server.requests.filter((r) => r.path === key) };
}

const lines = (out: string) => out.trimEnd().split('\n');

describe('examples/', { concurrent: true }, () => {
  it('read-table.ts: the seed file in one GET; two columns of a wide file in the open + one wave', async () => {
    const s = own('ex/read-table/seed.parquet', seed);
    const w = own('ex/read-table/wide.parquet', wide);
    const [a, b] = await Promise.all([example('read-table.ts', [s.url]), example('read-table.ts', [w.url, 'c013_qty,c017_word'])]);
    expect(a.stderr).toBe('');
    expect(a.code).toBe(0);
    expect(lines(a.out)).toEqual([
      `file: ${seed.byteLength} bytes, 10000 rows in 50 row groups`,
      'plan: 0 data requests, 0 bytes; round trips: 0',
      'table: 10000 rows × 12 columns (id: Int64, qty: Int32, price: Float64, ratio: Float32, flag: Bool, word: Utf8, token: Utf8, ts: Timestamp<MILLISECOND>, small: Int16, maybe: Float64, label: Utf8, bucket: Int32)',
      expect.stringMatching(/^first row: \{"id":"0","qty":\d+,/),
      `requests: 1 GET, 0 HEAD, ${seed.byteLength} bytes; round trips: 1`,
    ]);
    expect(s.requests().map((r) => r.method)).toEqual(['GET']);

    expect(b.code).toBe(0);
    const planned = Number(/^plan: (\d+) data requests/m.exec(b.out)?.[1]);
    expect(planned).toBeGreaterThanOrEqual(1);
    expect(b.out).toContain('table: 800 rows × 2 columns (c013_qty: Int32, c017_word: Utf8)');
    expect(b.out).toMatch(new RegExp(`^requests: ${1 + planned} GET, 0 HEAD, \\d+ bytes; round trips: 2$`, 'm'));
    expect(w.requests()).toHaveLength(1 + planned);
  });

  it('hyparquet.ts: rows 398–402 span two row groups, prefetched; nothing fetched while decoding', async () => {
    const w = own('ex/hyparquet/wide.parquet', wide);
    const r = await example('hyparquet.ts', [w.url, '398', '403', 'c013_qty,c017_word']);
    expect(r.code).toBe(0);
    const ref = tableFromIPC(readParquet(wide).intoIPCStream());
    const expected = [398, 399, 400, 401, 402].map((i) => JSON.stringify({ c013_qty: ref.getChild('c013_qty')?.get(i), c017_word: ref.getChild('c017_word')?.get(i) }));
    const out = lines(r.out);
    expect(out.slice(0, 5)).toEqual(expected);
    expect(out[5]).toMatch(/^row groups read: 1, 2; GETs: \d+ to open and prefetch, 0 while decoding$/);
    expect(w.requests().length).toBe(Number(/GETs: (\d+) to open/.exec(out[5] as string)?.[1]));
  });

  it('range-reader.ts: one GET per seek, a few streamed, one merged — the same bytes', async () => {
    const s = own('ex/range-reader/seed.parquet', seed);
    const r = await example('range-reader.ts', [s.url]);
    expect(r.code).toBe(0);
    const out = lines(r.out);
    expect(out[0]).toBe('100 column chunks of id, qty in 50 row groups');
    const parse = (l: string | undefined) => /: +(\d+) GETs  sha256 ([0-9a-f]{16})$/.exec(l ?? '');
    const [drop, stream, merged] = [parse(out[1]), parse(out[2]), parse(out[3])];
    expect(out[1]).toMatch(/^RangeReader \(dropOnSeek\): +100 GETs/);
    expect(Number(stream?.[1])).toBeLessThan(100);
    expect(out[3]).toMatch(/^BufferReader\.readRanges: +1 GETs/);
    expect(drop?.[2]).toBe(stream?.[2]);
    expect(merged?.[2]).toBe(drop?.[2]);
    // The server saw them all: the example's open, then 100 + streamed + 1.
    expect(s.requests().length).toBe(1 + 100 + Number(stream?.[1]) + 1);
  });

  it('arrow-ipc.ts: 48 record batches in a handful of requests', async () => {
    const f = own('ex/arrow/batches.arrow', ipc);
    const r = await example('arrow-ipc.ts', [f.url]);
    expect(r.code).toBe(0);
    const out = lines(r.out);
    expect(out[0]).toBe('random-access file; schema: id, qty, price, ratio, flag, word, token, ts, small, maybe, label, bucket');
    expect(out[1]).toBe('48 record batches, 24000 rows');
    const m = /^requests: (\d+) GET, (\d+) HEAD, (\d+) bytes$/.exec(out[2] ?? '');
    expect(m).not.toBeNull();
    expect(Number(m?.[1])).toBeLessThanOrEqual(8);
    expect(Number(m?.[3])).toBe(ipc.byteLength);
    expect(f.requests()).toHaveLength(Number(m?.[1]) + Number(m?.[2]));
  });

  it.skipIf(!motoOk)('s3.ts: an s3:// URL on moto (signed requests), footer, plan, three rows', async () => {
    const m = moto as MotoServer;
    const r = await example('s3.ts', [`s3://${BUCKET}/tables/wide.parquet`], {
      AWS_ENDPOINT_URL_S3: m.endpoint,
      AWS_REGION: m.region,
      AWS_ACCESS_KEY_ID: m.accessKeyId,
      AWS_SECRET_ACCESS_KEY: m.secretAccessKey,
    });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ref = tableFromIPC(readParquet(wide, { rowGroups: [0] }).intoIPCStream());
    const out = lines(r.out);
    expect(out[0]).toBe(`bucket ${BUCKET} at ${m.endpoint} (${m.region}, path style); credentials from the default AWS chain`);
    expect(out[1]).toMatch(new RegExp(`^tables/wide.parquet: ${wide.byteLength} bytes, etag "[0-9a-f]{32}", 800 rows, 4 row groups, 320 columns \\(id, qty, price, ratio, …\\)$`));
    const plan = /^plan for row group 0: (\d+) requests, \d+ bytes, \$0\.\d{7}$/.exec(out[2] ?? '');
    expect(plan).not.toBeNull();
    const planned = Number(plan?.[1]);
    expect(planned).toBeGreaterThanOrEqual(1);
    expect(out.slice(3, 6)).toEqual([0, 1, 2].map((i) => JSON.stringify({ id: String(ref.getChild('id')?.get(i)), qty: ref.getChild('qty')?.get(i) })));
    // The open, then the plan's wave (readObjects prefetches exactly the planned row group and columns).
    expect(out[6]).toBe(`requests: ${1 + planned} GET, 0 HEAD; round trips: 2`);
  });
});

// Not with the concurrent ones above: DuckDB and two decoding workers would crowd their time budgets.
describe('examples/ (datasets)', () => {
  it('dataset-splits.ts: a DuckDB-written hive folder, pruned by partition, read by worker threads, DuckDB’s counts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'brr-ex-dataset-'));
    try {
      await writeHiveDataset(dir);
      const r = await run([dir, '2', 'year=2023'], { script: join(ROOT, 'examples', 'dataset-splits.ts'), timeoutMs: 90_000 });
      expect(r.stderr).toBe('');
      expect(r.code).toBe(0);
      const [duck] = await duckQuery(`SELECT count(*) AS n, count(DISTINCT filename) AS f FROM read_parquet('${dir}/**/*.parquet', hive_partitioning = true, filename = true) WHERE year = 2023`);
      const [all] = await duckQuery(`SELECT count(DISTINCT filename) AS f FROM read_parquet('${dir}/**/*.parquet', filename = true)`);
      const files = Number(duck?.f);
      expect(lines(r.out)).toEqual([
        `dataset: ${files} files (${Number(all?.f) - files} pruned by partition), ${Number(duck?.n)} rows; partitions: year: int, day: date, region: string`,
        `open: 1 LIST, ${files} footer GETs; ${files} splits for 2 workers`,
        `read: ${Number(duck?.n)} rows in ${files} tables`,
        `rows by year: 2023=${Number(duck?.n)}`,
      ]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
