/**
 * A user with only AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_REGION / AWS_ENDPOINT_URL set
 * reads `s3://bucket/key` through RangeReader in three lines (the README snippet), against moto with
 * signature checking on. Also: the credential chain is loaded only when it is used.
 *
 * This file changes process.env; vitest runs each test file in its own process (pool: forks).
 */
import { createRequire } from 'node:module';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RangeReader, SeekFrom, backendFromUrl, s3Backend, type S3Backend } from '../../../src/index.js';
import { resolveS3Backend } from '../../../src/backends/s3/backend.js';
import { resolveS3Location } from '../../../src/backends/s3/url.js';
import { randomBytes } from '../../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../../support/moto.js';

const ok = requireMotoInCi('test/backends/s3/env.test.ts');
const requireCache = createRequire(import.meta.url).cache;
const chainLoaded = () => Object.keys(requireCache).some((f) => f.includes('credential-provider-node'));

describe('S3 settings from the environment', () => {
  it('region: AWS_REGION, then AWS_DEFAULT_REGION, then us-east-1; options win', () => {
    expect(resolveS3Location({ bucket: 'b', env: { AWS_REGION: 'eu-west-1', AWS_DEFAULT_REGION: 'eu-west-2' } }).region).toBe('eu-west-1');
    expect(resolveS3Location({ bucket: 'b', env: { AWS_DEFAULT_REGION: 'eu-west-2' } }).region).toBe('eu-west-2');
    expect(resolveS3Location({ bucket: 'b', env: {} }).region).toBe('us-east-1');
    expect(resolveS3Location({ bucket: 'b', region: 'sa-east-1', env: { AWS_REGION: 'eu-west-1' } }).region).toBe('sa-east-1');
  });

  it('endpoint: AWS_ENDPOINT_URL_S3, then AWS_ENDPOINT_URL, then AWS; a custom endpoint means path style', () => {
    const s3 = resolveS3Location({ bucket: 'b-1', env: { AWS_ENDPOINT_URL_S3: 'http://s3only:9000', AWS_ENDPOINT_URL: 'http://generic:9000' } });
    expect([s3.endpoint.origin, s3.pathStyle]).toEqual(['http://s3only:9000', true]);
    const generic = resolveS3Location({ bucket: 'b-1', env: { AWS_ENDPOINT_URL: 'https://generic.example' } });
    expect([generic.endpoint.origin, generic.pathStyle]).toEqual(['https://generic.example', true]);
    const aws = resolveS3Location({ bucket: 'b-1', env: { AWS_REGION: 'eu-west-1' } });
    expect([aws.endpoint.origin, aws.pathStyle, aws.customEndpoint]).toEqual(['https://s3.eu-west-1.amazonaws.com', false, false]);
  });

  it('AWS addressing: virtual-hosted for DNS-compatible names, path style for dotted (https) or odd names', () => {
    const at = (bucket: string, forcePathStyle?: boolean) =>
      s3Backend({ bucket, region: 'us-east-2', env: {}, anonymous: true, ...(forcePathStyle === undefined ? {} : { forcePathStyle }) });
    expect([at('my-bucket').pathStyle, at('my.bucket').pathStyle, at('My_Bucket').pathStyle, at('my-bucket', true).pathStyle]).toEqual([false, true, true, true]);
    expect(at('my-bucket').endpoint).toBe('https://s3.us-east-2.amazonaws.com');
    expect(() => at('My_Bucket', false)).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });

  it('resolveS3Backend is the backend\'s own resolution (the benchmark\'s peers sign with it): same addressing, same credential source', async () => {
    const env = { AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:9000/prefix', AWS_REGION: 'eu-west-3' };
    const options = { bucket: 'bkt', env, loadCredentialChain: async () => async () => ({ accessKeyId: 'AKIDCHAIN', secretAccessKey: 's' }) };
    const { loc, creds } = resolveS3Backend(options);
    const backend = s3Backend(options);
    expect([loc.bucket, loc.region, `${loc.endpoint.origin}${loc.endpoint.pathname.replace(/\/+$/, '')}`, loc.pathStyle]).toEqual([backend.bucket, backend.region, backend.endpoint, backend.pathStyle]);
    expect(loc.endpoint.href).toBe('http://127.0.0.1:9000/prefix');
    expect(creds.describe()).toBe(backend.credentialSource);
    expect((await creds.get())?.accessKeyId).toBe('AKIDCHAIN');
    expect(resolveS3Backend({ bucket: 'b', anonymous: true, env: {} }).creds.describe()).toBe('anonymous (unsigned requests)');
    expect(() => resolveS3Backend(null as never)).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' }));
  });

  it('backendFromUrl parses s3://bucket/key literally', () => {
    const { backend, path } = backendFromUrl('s3://bkt/dir/a b%20c+d.parquet', { s3: { anonymous: true, env: {}, region: 'eu-west-1' } });
    expect(backend.kind).toBe('s3');
    expect((backend as S3Backend).bucket).toBe('bkt');
    expect(path).toBe('dir/a b%20c+d.parquet');
    expect(() => backendFromUrl('s3://bucket-only')).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });
});

describe.skipIf(!ok)('s3:// with credentials from the environment (moto, auth)', () => {
  let moto: MotoServer;
  const data = randomBytes(50_000, 11);
  const saved = { ...process.env };

  beforeAll(async () => {
    moto = await startMoto({ auth: true });
    await moto.createBucket('readme-bucket');
    await moto.put('readme-bucket', 'data/file.bin', data);
  });
  afterAll(async () => {
    process.env = saved;
    await moto?.stop();
  });

  it('does not load the credential chain for explicit or anonymous credentials', async () => {
    expect(chainLoaded()).toBe(false);
    const explicit = s3Backend({ bucket: 'readme-bucket', endpoint: moto.endpoint, env: {}, credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey } });
    expect((await explicit.stat('data/file.bin')).size).toBe(data.byteLength);
    const anonymous = s3Backend({ bucket: 'readme-bucket', endpoint: moto.endpoint, env: {}, anonymous: true });
    await expect(anonymous.stat('data/file.bin')).rejects.toMatchObject({ kind: 'PermissionDenied' });
    expect(chainLoaded()).toBe(false);
  });

  it('reads s3://bucket/key through RangeReader in three lines with only the four AWS_* variables set', async () => {
    for (const name of Object.keys(process.env)) if (name.startsWith('AWS_')) delete process.env[name];
    Object.assign(process.env, {
      AWS_ACCESS_KEY_ID: moto.accessKeyId,
      AWS_SECRET_ACCESS_KEY: moto.secretAccessKey,
      AWS_REGION: moto.region,
      AWS_ENDPOINT_URL: moto.endpoint,
    });

    // The README snippet, exactly:
    const { backend, path } = backendFromUrl('s3://readme-bucket/data/file.bin');
    const reader = new RangeReader(backend, path);
    // ...then read, seek, or iterate it:
    const chunks: Uint8Array[] = [];
    for await (const chunk of reader) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.from(data))).toBe(true);

    await reader.seek(SeekFrom.end(-8));
    const footer = new Uint8Array(8);
    let got = 0;
    while (got < 8) {
      const n = await reader.read(footer.subarray(got));
      expect(n).toBeGreaterThan(0);
      got += n;
    }
    expect(Buffer.from(footer).equals(Buffer.from(data.subarray(-8)))).toBe(true);
    await reader.close();

    expect(chainLoaded()).toBe(true);
    expect((backend as S3Backend).credentialSource).toBe('credentials from environment');
  });

  it('names the environment as the source when its secret is wrong, without the secret', async () => {
    process.env.AWS_SECRET_ACCESS_KEY = 'not-the-right-secret-42';
    const { backend, path } = backendFromUrl('s3://readme-bucket/data/file.bin');
    const err = await backend.read(path, { offset: 0, length: 10 }).then(
      () => undefined,
      (e: unknown) => e as Error & { kind: string; context: unknown },
    );
    expect(err?.kind).toBe('PermissionDenied');
    expect(err).toMatchObject({ code: 'SIGNATURE_MISMATCH', context: { credentials: 'credentials from environment' } });
    expect(`${err?.message} ${JSON.stringify(err?.context)}`).not.toContain('not-the-right-secret-42');
  });
});
