/**
 * How the peers reach private S3 objects. Presigned URLs are compared with botocore's presigner at a
 * fixed time (moto 5.2.1 in auth mode cannot check them: it answers 500) and read from a moto
 * without auth (addressing, encoding, Range); the signing fetch is checked by moto with signatures on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { presignGet, signingFetch } from '../../../src/cli/bench/s3-peer.js';
import { randomBytes } from '../../support/data.js';
import { requireMotoInCi, runHelper, startMoto, type MotoServer } from '../../support/moto.js';

const motoOk = requireMotoInCi('test/cli/bench/s3-peer.test.ts');
const BUCKET = 'peer-bucket';
/** moto in auth mode rejects correct signatures of keys with `+` (DESIGN.md): a space only there. */
const AUTH_KEY = 'dir/a b.bin';
const bytes = randomBytes(50_000, 9);
let plain: MotoServer | undefined;
let auth: MotoServer | undefined;

beforeAll(async () => {
  if (!motoOk) return;
  [plain, auth] = await Promise.all([startMoto(), startMoto({ auth: true })]);
  for (const m of [plain, auth]) await m.createBucket(BUCKET);
  await plain.put(BUCKET, 'dir/a b+c.bin', bytes);
  await auth.put(BUCKET, AUTH_KEY, bytes);
}, 120_000);
afterAll(async () => {
  await plain?.stop();
  await auth?.stop();
});

const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' };

describe.skipIf(!motoOk)('presignGet', () => {
  it('signs as botocore does (same URL at the same time), path-style and virtual-hosted, with a session token', async () => {
    const at = new Date(Date.UTC(2026, 0, 15, 12, 30, 0));
    const cases = [
      { options: { bucket: 'my-bucket', region: 'eu-west-1', credentials: creds, env: {} }, key: 'data/file 1.parquet' },
      { options: { bucket: 'my-bucket', endpoint: 'http://127.0.0.1:9000', region: 'us-east-1', credentials: creds, env: {} }, key: 'a/b.parquet' },
      { options: { bucket: 'my-bucket', region: 'us-west-2', credentials: { ...creds, sessionToken: 'FQoGZXIvYXdzEXAMPLE/token+=' }, env: {} }, key: 'x.parquet' },
    ];
    const ours = await Promise.all(cases.map((c) => presignGet(c.options, c.key, 600, at)));
    const theirs = (await runHelper(['presign'], {
      requests: cases.map((c, i) => ({
        url: (ours[i] as string).split('?')[0],
        accessKeyId: c.options.credentials.accessKeyId,
        secretAccessKey: c.options.credentials.secretAccessKey,
        sessionToken: (c.options.credentials as { sessionToken?: string }).sessionToken ?? null,
        region: c.options.region,
        expires: 600,
        timestamp: '20260115T123000Z',
      })),
    })) as { urls: string[] };
    const params = (u: string) => [...new URL(u).searchParams.entries()].sort(([a], [b]) => a.localeCompare(b));
    ours.forEach((u, i) => {
      const t = theirs.urls[i] as string;
      expect(u.split('?')[0]).toBe(t.split('?')[0]);
      expect(params(u)).toEqual(params(t));
      expect(new URL(u).searchParams.get('X-Amz-SignedHeaders')).toBe('host');
    });
    expect(ours[0]).toMatch(/^https:\/\/my-bucket\.s3\.eu-west-1\.amazonaws\.com\/data\/file%201\.parquet\?/);
    expect(ours[1]).toMatch(/^http:\/\/127\.0\.0\.1:9000\/my-bucket\/a\/b\.parquet\?/);
  });

  it('reads the object with a Range on moto; anonymous gives the plain URL', async () => {
    const m = plain as MotoServer;
    const url = await presignGet({ bucket: BUCKET, endpoint: m.endpoint, region: m.region, credentials: creds, env: {} }, 'dir/a b+c.bin');
    const res = await fetch(url, { headers: { range: 'bytes=100-199' } });
    expect(res.status).toBe(206);
    expect(new Uint8Array(await res.arrayBuffer())).toEqual(bytes.subarray(100, 200));
    expect(await presignGet({ bucket: BUCKET, endpoint: m.endpoint, anonymous: true, env: {} }, 'dir/a b+c.bin')).toBe(`${m.endpoint}/${BUCKET}/dir/a%20b%2Bc.bin`);
  });
});

describe.skipIf(!motoOk)('signingFetch', () => {
  it('moto with signatures on accepts its HEAD and ranged GETs; a wrong secret gets 403', async () => {
    const m = auth as MotoServer;
    const options = { bucket: BUCKET, endpoint: m.endpoint, region: m.region, env: {} };
    const good = await signingFetch({ ...options, credentials: { accessKeyId: m.accessKeyId, secretAccessKey: m.secretAccessKey } }, AUTH_KEY);
    expect(good.url).toBe(`${m.endpoint}/${BUCKET}/dir/a%20b.bin`);
    const head = await good.fetch(good.url, { method: 'HEAD' });
    expect([head.status, head.headers.get('content-length')]).toEqual([200, String(bytes.byteLength)]);
    const get = await good.fetch(new Request(good.url, { headers: { Range: 'bytes=-10' } }));
    expect(get.status).toBe(206);
    expect(new Uint8Array(await get.arrayBuffer())).toEqual(bytes.subarray(bytes.byteLength - 10));
    const bad = await signingFetch({ ...options, credentials: { accessKeyId: m.accessKeyId, secretAccessKey: 'not-the-secret' } }, AUTH_KEY);
    const refused = await bad.fetch(bad.url, { headers: { range: 'bytes=0-9' } });
    expect(refused.status).toBe(403);
    expect(await refused.text()).toContain('SignatureDoesNotMatch');
  });
});
