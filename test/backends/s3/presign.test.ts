/**
 * `s3Backend(...).presign(key, { expiresInSeconds, method })` on moto with signature checking on:
 * the URL works without credentials (GET, ranged GET, HEAD, PUT), a tampered or expired one is
 * refused, and `openParquet(url)` reads a private object through it over plain HTTP with no HEAD —
 * while a HEAD-needing reader (BufferReader.size) falls back to `GET bytes=0-0` because the URL's
 * HEAD is refused with 403. Requests are asserted on the server side (a proxy in front of moto).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { httpBackend } from '../../../src/backends/http/backend.js';
import { forgetHeadRefusals } from '../../../src/backends/stat.js';
import { s3Backend, type S3Backend } from '../../../src/backends/s3/backend.js';
import { PRESIGN_MAX_EXPIRES_SECONDS } from '../../../src/backends/s3/signer.js';
import { BufferReader } from '../../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../../src/errors.js';
import { openParquet } from '../../../src/parquet/source.js';
import { FaultProxy } from '../../support/fault-proxy.js';
import { requireMotoInCi, runHelper, startMoto, type MotoServer } from '../../support/moto.js';
import { testParquet, testRows } from '../../support/parquet-files.js';

const ok = requireMotoInCi('test/backends/s3/presign.test.ts');
const BUCKET = 'private';
const file = testParquet({ rows: 5000, rowGroupSize: 1000 });

const amzDate = (d: Date) => d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
const queryOf = (url: string) => Object.fromEntries(new URL(url).searchParams);

describe.skipIf(!ok)("presign against botocore's S3SigV4QueryAuth", () => {
  it('gives the same query, signature included, for keys, methods, regions, tokens and expiries', async () => {
    const keys = ['f.parquet', 'dir/sub/f.parquet', 'a b/ü%+=&.parquet', 'x//y', '~tilde/(1)*!'];
    const cases = keys.flatMap((key, i) =>
      (['GET', 'HEAD', 'PUT'] as const).map((method, j) => ({
        key,
        method,
        region: i % 2 ? 'eu-west-1' : 'us-east-1',
        expiresInSeconds: [1, 3600, PRESIGN_MAX_EXPIRES_SECONDS][j] as number,
        date: new Date(Date.UTC(2026, 0, 1 + i, j, 7, 9)),
        sessionToken: j === 1 ? `token/${i}+=` : undefined,
      })),
    );
    const ours = await Promise.all(
      cases.map((c) =>
        s3Backend({
          bucket: 'bkt',
          endpoint: 'http://127.0.0.1:9000',
          region: c.region,
          credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY', ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) },
          env: {},
        }).presign(c.key, { expiresInSeconds: c.expiresInSeconds, method: c.method, date: c.date }),
      ),
    );
    const theirs = (await runHelper(['presign'], {
      requests: cases.map((c, i) => ({
        method: c.method,
        url: (ours[i] as string).split('?')[0],
        accessKeyId: 'AKIDEXAMPLE',
        secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY',
        sessionToken: c.sessionToken ?? null,
        region: c.region,
        expires: c.expiresInSeconds,
        timestamp: amzDate(c.date),
      })),
    })) as { urls: string[] };
    expect(theirs.urls).toHaveLength(cases.length);
    cases.forEach((c, i) => {
      expect(queryOf(ours[i] as string), `${c.method} ${c.key}`).toEqual(queryOf(theirs.urls[i] as string));
    });
  });
});

describe.skipIf(!ok)('presigned URLs on moto with signature checking', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let agent: Agent;
  let s3: S3Backend;

  beforeAll(async () => {
    moto = await startMoto({ auth: true, presigned: true });
    await moto.createBucket(BUCKET);
    await moto.put(BUCKET, 'data/f.parquet', file);
    proxy = await FaultProxy.start(moto.endpoint);
    agent = new Agent();
    // Requests go through the proxy (the server-side log); the URL's host is the proxy's, and signed as such.
    s3 = s3Backend({
      bucket: BUCKET,
      endpoint: proxy.url,
      region: moto.region,
      credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
      dispatcher: agent,
      env: {},
    });
  }, 60_000);
  afterAll(async () => {
    await agent?.close();
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(() => {
    proxy.reset();
    forgetHeadRefusals();
  });

  const wire = () => proxy.log.map((r) => `${r.method} ${r.range ?? '-'} ${r.status}`);

  it('a presigned GET URL reads the object without credentials, whole and by range', async () => {
    const url = await s3.presign('data/f.parquet', { expiresInSeconds: 300 });
    expect(url).toMatch(/X-Amz-Signature=[0-9a-f]{64}/);
    expect(url).toMatch(/X-Amz-Expires=300/);
    expect(url).toMatch(/X-Amz-SignedHeaders=host(&|$)/);
    const whole = await request(url, { dispatcher: agent });
    expect(whole.statusCode).toBe(200);
    expect(Buffer.from(await whole.body.arrayBuffer()).equals(Buffer.from(file))).toBe(true);
    const part = await request(url, { dispatcher: agent, headers: { range: 'bytes=4-103' } });
    expect(part.statusCode).toBe(206);
    expect(Buffer.from(await part.body.arrayBuffer()).equals(Buffer.from(file.subarray(4, 104)))).toBe(true);
    // Unsigned, the same object is refused: the signature is what grants access.
    const unsigned = await request(url.split('?')[0] as string, { dispatcher: agent });
    expect(unsigned.statusCode).toBe(403);
    await unsigned.body.dump();
  });

  it('a tampered signature, a URL for another key and an expired URL are refused (403)', async () => {
    const url = await s3.presign('data/f.parquet', { expiresInSeconds: 300 });
    const sig = /X-Amz-Signature=([0-9a-f]+)/.exec(url)?.[1] as string;
    const tampered = url.replace(sig, `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}`);
    const expired = await s3.presign('data/f.parquet', { expiresInSeconds: 1, date: new Date(Date.now() - 3_600_000) });
    for (const u of [tampered, url.replace('f.parquet', 'g.parquet'), expired]) {
      const res = await request(u, { dispatcher: agent });
      expect(res.statusCode).toBe(403);
      await res.body.dump();
    }
  });

  it('HEAD and PUT URLs are signed for their method only', async () => {
    const head = await s3.presign('data/f.parquet', { expiresInSeconds: 60, method: 'HEAD' });
    const h = await request(head, { method: 'HEAD', dispatcher: agent });
    expect([h.statusCode, h.headers['content-length']]).toEqual([200, String(file.byteLength)]);
    await h.body.dump();
    const asGet = await request(head, { dispatcher: agent });
    expect(asGet.statusCode).toBe(403);
    await asGet.body.dump();
    const put = await s3.presign('data/new.bin', { expiresInSeconds: 60, method: 'PUT' });
    const p = await request(put, { method: 'PUT', body: 'hello', dispatcher: agent });
    expect(p.statusCode).toBe(200);
    await p.body.dump();
    const back = await s3.read('data/new.bin', { offset: 0 });
    const chunks: Uint8Array[] = [];
    for await (const c of back.body) chunks.push(c);
    expect(Buffer.concat(chunks).toString()).toBe('hello');
  });

  it('openParquet(url) over plain HTTP reads the private file end to end with 0 HEADs', async () => {
    const url = await s3.presign('data/f.parquet', { expiresInSeconds: 300 });
    const source = await openParquet(url, { footerSizeHint: 4096, metadataCache: false, url: { http: { dispatcher: agent } } });
    expect(source.numRows).toBe(5000);
    expect(await source.readObjects({ rowStart: 1000, rowEnd: 1003 })).toEqual(testRows(1003).slice(1000));
    const table = await source.readTable({ columns: ['id'] });
    expect(table.numRows).toBe(5000);
    expect(table.getChild('id')?.get(4999)).toBe(4999);
    await source.close();
    expect(proxy.log.length).toBeGreaterThanOrEqual(2);
    expect(proxy.log.filter((r) => r.method !== 'GET')).toEqual([]);
    expect(proxy.log.every((r) => r.status === 206)).toBe(true);
    expect(wire()[0]).toBe('GET bytes=-4096 206');
  });

  it("a reader that needs the size: the URL's HEAD is refused (403), so one GET bytes=0-0 tells it, once", async () => {
    const url = await s3.presign('data/f.parquet', { expiresInSeconds: 300 });
    const http = httpBackend({ dispatcher: agent });
    const reader = new BufferReader(http, url, { metrics: true, readahead: false });
    expect(await reader.size()).toBe(file.byteLength);
    const again = new BufferReader(http, url, { metrics: true, readahead: false });
    expect(await again.size()).toBe(file.byteLength);
    expect(Buffer.from(await again.readAt(file.byteLength - 4, 4)).toString()).toBe('PAR1');
    expect(wire()).toEqual(['HEAD - 403', 'GET bytes=0-0 206', 'GET bytes=0-0 206', `GET bytes=${file.byteLength - 4}-${file.byteLength - 1} 206`]);
    // The metrics of each reader show what the server saw for its own requests.
    expect(reader.stats().metrics?.requests.map((r) => `${r.op} ${r.rangeHeader ?? '-'} ${r.status}`)).toEqual(['HEAD - 403', 'GET bytes=0-0 206']);
    expect(again.stats().metrics?.requests.map((r) => `${r.op} ${r.rangeHeader ?? '-'} ${r.status}`)).toEqual([
      'GET bytes=0-0 206',
      `GET bytes=${file.byteLength - 4}-${file.byteLength - 1} 206`,
    ]);
    await reader.close();
    await again.close();
  });

  it('bad options are InvalidInput before anything is signed; an anonymous backend gives the plain URL', async () => {
    for (const expiresInSeconds of [0, -1, 1.5, PRESIGN_MAX_EXPIRES_SECONDS + 1, Number.NaN]) {
      const err = await s3.presign('k', { expiresInSeconds }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ReaderError);
      expect([(err as ReaderError).kind, (err as ReaderError).code]).toEqual(['InvalidInput', 'INVALID_ARGUMENT']);
    }
    const bad = await s3.presign('k', { expiresInSeconds: 1, method: 'DELETE' as 'GET' }).catch((e: unknown) => e);
    expect((bad as ReaderError).code).toBe('INVALID_ARGUMENT');
    expect(await s3.presign('k', { expiresInSeconds: PRESIGN_MAX_EXPIRES_SECONDS })).toContain(`X-Amz-Expires=${PRESIGN_MAX_EXPIRES_SECONDS}`);
    const anon = s3Backend({ bucket: BUCKET, endpoint: proxy.url, region: moto.region, anonymous: true, env: {} });
    expect(await anon.presign('a b/c.parquet', { expiresInSeconds: 60 })).toBe(`${proxy.url}/${BUCKET}/a%20b/c.parquet`);
    expect(proxy.log).toEqual([]);
  });
});
