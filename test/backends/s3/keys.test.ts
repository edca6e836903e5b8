/**
 * Object keys reach the right object: each tricky key is written by one client and read by the
 * other, and the bucket listing (boto3) must hold exactly the keys we meant.
 *
 * moto's auth mode rejects correct signatures (botocore's too) for keys with `+ % = & ! ' ( ) * : @
 * , ; $ [ ]` or non-ASCII, so those keys are checked on a moto without auth (the URL encoding) and
 * against botocore's signer (signer.test.ts). Keys moto's auth handles are checked with auth on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Backend, type S3Backend } from '../../../src/backends/s3/backend.js';
import { encodeKey, objectTarget, resolveS3Location } from '../../../src/backends/s3/url.js';
import { readAll } from '../../support/data.js';
import { requireMotoInCi, runHelper, startMoto, type MotoServer } from '../../support/moto.js';

const ok = requireMotoInCi('test/backends/s3/keys.test.ts');

/** Keys moto (auth mode) signs correctly. */
const AUTH_SAFE_KEYS = ['plain', 'a b', 'a//b', '/lead', '//double-lead', 'a/./b', 'a/../b', 'a/b', 'x~y', 'x#y', 'x?y', 'tab\ty', 'trailing/', 'dir/sub/file.parquet'];
/** Keys only a moto without auth serves (its auth mode rejects their valid signatures). */
const AUTH_UNSAFE_KEYS = ['a+b', 'a%b', 'a%20b', 'a=b', 'a&b', 'é', '日本/😀.parquet', "x!'()*", 'x:@,;$[]', '100% + more=&'];

const contentOf = (key: string, who: string) => new TextEncoder().encode(`${who}:${key}`);

describe('encodeKey / objectTarget', () => {
  const loc = resolveS3Location({ bucket: 'bkt', endpoint: 'http://127.0.0.1:9000', env: {} });
  it('encodes each segment per RFC 3986 and keeps every slash', () => {
    expect(encodeKey('a b/c+d')).toBe('a%20b/c%2Bd');
    expect(encodeKey('100%')).toBe('100%25');
    expect(encodeKey("!'()*~-_.")).toBe('%21%27%28%29%2A~-_.');
    expect(encodeKey('é/日')).toBe('%C3%A9/%E6%97%A5');
    expect(encodeKey('a//b/')).toBe('a//b/');
    expect(encodeKey('a/../b')).toBe('a/../b');
  });
  it('puts a leading-slash key after the bucket: /bucket//a', () => {
    expect(objectTarget(loc, '/a').path).toBe('/bkt//a');
    expect(objectTarget(loc, 'a').path).toBe('/bkt/a');
  });
  it('rejects an empty key and lone surrogates as InvalidInput', () => {
    expect(() => encodeKey('')).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
    expect(() => encodeKey('bad\uD800')).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });
});

function keysSuite(name: string, auth: boolean, keys: string[]) {
  describe.skipIf(!ok)(name, () => {
    let moto: MotoServer;
    let backend: S3Backend;
    const bucket = 'keys';

    beforeAll(async () => {
      moto = await startMoto({ auth });
      await moto.createBucket(bucket);
      backend = s3Backend({
        bucket,
        endpoint: moto.endpoint,
        region: moto.region,
        credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
        env: {},
      });
    });
    afterAll(async () => {
      await moto?.stop();
    });

    it('stores each key written with our signed PUT under exactly that name (boto3 listing)', async () => {
      for (const key of keys) await moto.put(bucket, key, contentOf(key, 'ours'));
      const listed = (await runHelper(['list', moto.endpoint], {
        region: moto.region,
        accessKeyId: moto.accessKeyId,
        secretAccessKey: moto.secretAccessKey,
        bucket,
      })) as { keys: string[] };
      expect([...listed.keys].sort()).toEqual([...keys].sort());
    });

    it('reads back each key with the backend (stat and a ranged GET)', async () => {
      for (const key of keys) {
        const want = contentOf(key, 'ours');
        expect((await backend.stat(key)).size).toBe(want.byteLength);
        const r = await readAll(backend, key, { offset: 0 });
        expect(new TextDecoder().decode(r.bytes)).toBe(`ours:${key}`);
      }
    });

    it('reads keys uploaded by boto3', async () => {
      const objects = keys.map((key) => ({ key: `boto3/${key}`, data: contentOf(key, 'boto3') }));
      const etags = await moto.putWithBoto3(bucket, objects);
      for (const { key } of objects) {
        const meta = await backend.stat(key);
        expect(meta.etag).toBe(etags[key]);
        const r = await readAll(backend, key, { suffix: 1000 });
        expect(new TextDecoder().decode(r.bytes)).toBe(`boto3:${key.slice('boto3/'.length)}`);
      }
    });
  });
}

keysSuite('S3 keys on moto with signature checking (auth-safe keys)', true, AUTH_SAFE_KEYS);
keysSuite('S3 keys on moto without auth (every tricky key)', false, [...AUTH_SAFE_KEYS, ...AUTH_UNSAFE_KEYS]);
