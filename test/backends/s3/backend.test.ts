/**
 * The S3 backend against moto with signature checking on: right and wrong keys, temporary
 * credentials with a real session token, anonymous requests, error mapping, If-Match, and the exact
 * requests each operation costs (withMetrics).
 */
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, type Dispatcher } from 'undici';
import { s3Backend, type S3BackendOptions } from '../../../src/backends/s3/backend.js';
import { ReaderError } from '../../../src/errors.js';
import { withMetrics } from '../../../src/layers/metrics.js';
import { randomBytes, readAll } from '../../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../../support/moto.js';

const ok = requireMotoInCi('test/backends/s3/backend.test.ts');

async function failure(p: Promise<unknown>): Promise<ReaderError> {
  const err = await p.then(
    () => {
      throw new Error('expected a ReaderError, got success');
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  return err as ReaderError;
}

/** Everything an error shows when logged: message, context, cause chain, stack. */
function everything(err: ReaderError): string {
  return `${err.message}\n${JSON.stringify(err.context)}\n${inspect(err, { depth: 8 })}\n${err.stack}`;
}

/** A dispatcher that records the headers of every request it sends. */
function recordingDispatcher(seen: Record<string, string>[]): Dispatcher {
  return new Agent().compose((dispatch) => (opts, handler) => {
    seen.push({ ...(opts.headers as Record<string, string>), ':path': opts.path });
    return dispatch(opts, handler);
  });
}

describe.skipIf(!ok)('s3Backend on moto with signature checking', () => {
  let moto: MotoServer;
  const bucket = 'data';
  const data = randomBytes(10_000, 3);
  let base: S3BackendOptions;

  beforeAll(async () => {
    moto = await startMoto({ auth: true });
    await moto.createBucket(bucket);
    await moto.put(bucket, 'obj.bin', data);
    await moto.put(bucket, 'empty.bin', new Uint8Array(0));
    base = {
      bucket,
      endpoint: moto.endpoint,
      region: moto.region,
      credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
      env: {},
    };
  });
  afterAll(async () => {
    await moto?.stop();
  });

  it('reads with the right key: one signed GET, nothing else', async () => {
    const seen: Record<string, string>[] = [];
    const backend = withMetrics(s3Backend({ ...base, dispatcher: recordingDispatcher(seen) }));
    const r = await readAll(backend, 'obj.bin', { offset: 100, length: 50 });
    expect(Buffer.from(r.bytes).equals(Buffer.from(data.subarray(100, 150)))).toBe(true);
    const snap = backend.metrics.snapshot();
    expect(snap.requests.map((q) => [q.op, q.path, q.rangeHeader, q.status])).toEqual([['GET', 'obj.bin', 'bytes=100-149', 206]]);
    expect(seen).toHaveLength(1);
    expect(seen[0]?.authorization).toMatch(new RegExp(`^AWS4-HMAC-SHA256 Credential=${moto.accessKeyId}/\\d{8}/us-east-1/s3/aws4_request, SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, Signature=[0-9a-f]{64}$`));
    expect(seen[0]?.range).toBe('bytes=100-149');
    expect(seen[0]?.[':path']).toBe('/data/obj.bin');
  });

  it('maps a wrong secret to PermissionDenied (SignatureDoesNotMatch) naming the source, never the secret', async () => {
    const secret = 'wrong-secret-0123456789';
    const backend = s3Backend({ ...base, credentials: { accessKeyId: moto.accessKeyId, secretAccessKey: secret } });
    const e1 = await failure(backend.read('obj.bin', { offset: 0, length: 10 }));
    expect(e1.kind).toBe('PermissionDenied');
    expect(e1.retryable).toBe(false);
    expect(e1.context.code).toBe('SignatureDoesNotMatch');
    expect(e1.context.status).toBe(403);
    expect([e1.code, e1.context.credentials]).toEqual(['SIGNATURE_MISMATCH', 'explicit credentials']);
    expect(e1.message).toContain('explicit credentials'); // the message names the credential source
    // HEAD has no body, and a 403 to HEAD makes stat try `GET bytes=0-0` (HEAD-less stat), whose XML
    // names the cause: the same code as the read, still naming the source.
    const e2 = await failure(backend.stat('obj.bin'));
    expect([e2.kind, e2.code, e2.context.credentials]).toEqual(['PermissionDenied', 'SIGNATURE_MISMATCH', 'explicit credentials']);
    for (const e of [e1, e2]) {
      const shown = everything(e);
      expect(shown).not.toContain(secret);
      expect(shown).not.toContain('Signature=');
      expect(shown).not.toContain('AWS4-HMAC-SHA256');
    }
  });

  it('maps an unknown access key to PermissionDenied (InvalidAccessKeyId)', async () => {
    const backend = s3Backend({ ...base, credentials: { accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: moto.secretAccessKey } });
    const err = await failure(backend.read('obj.bin', { suffix: 4 }));
    expect(err.kind).toBe('PermissionDenied');
    expect(err.context.code).toBe('InvalidAccessKeyId');
    expect(everything(err)).not.toContain(moto.secretAccessKey);
  });

  it('sends anonymous requests unsigned; moto refuses them as PermissionDenied naming "anonymous"', async () => {
    const seen: Record<string, string>[] = [];
    const backend = s3Backend({ bucket, endpoint: moto.endpoint, anonymous: true, env: {}, dispatcher: recordingDispatcher(seen) });
    expect(backend.credentialSource).toBe('anonymous (unsigned requests)');
    const err = await failure(backend.read('obj.bin', { offset: 0, length: 1 }));
    expect([err.kind, err.code, err.context.credentials]).toEqual(['PermissionDenied', 'ACCESS_DENIED', 'anonymous (unsigned requests)']);
    expect(seen).toHaveLength(1);
    expect(Object.keys(seen[0] ?? {}).sort()).toEqual([':path', 'range']);
  });

  it('signs with temporary credentials and their session token; a bad token is PermissionDenied without the token', async () => {
    const temp = await moto.assumeRole();
    expect(temp.accessKeyId).toMatch(/^ASIA/);
    const seen: Record<string, string>[] = [];
    const backend = s3Backend({ ...base, credentials: temp, dispatcher: recordingDispatcher(seen) });
    const r = await readAll(backend, 'obj.bin', { suffix: 16 });
    expect(Buffer.from(r.bytes).equals(Buffer.from(data.subarray(-16)))).toBe(true);
    expect(seen[0]?.['x-amz-security-token']).toBe(temp.sessionToken);
    expect(seen[0]?.authorization).toContain('x-amz-security-token');

    // The sessionToken option joins explicit keys that carry none.
    const joined = s3Backend({ ...base, credentials: { accessKeyId: temp.accessKeyId, secretAccessKey: temp.secretAccessKey }, sessionToken: temp.sessionToken });
    expect((await joined.stat('obj.bin')).size).toBe(data.byteLength);

    const badToken = `${temp.sessionToken.slice(0, -8)}AAAAAAAA`;
    const bad = s3Backend({ ...base, credentials: { ...temp, sessionToken: badToken } });
    const err = await failure(bad.read('obj.bin', { offset: 0 }));
    expect(err.kind).toBe('PermissionDenied');
    expect(err.context.code).toBe('InvalidToken');
    const shown = everything(err);
    expect(shown).not.toContain(badToken);
    expect(shown).not.toContain(temp.secretAccessKey);
  });

  it('calls a credentials provider once and reuses its result until near expiry', async () => {
    let calls = 0;
    const backend = s3Backend({
      ...base,
      credentials: async () => {
        calls++;
        return { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey, expiration: new Date(Date.now() + 3_600_000) };
      },
    });
    await Promise.all([backend.stat('obj.bin'), backend.stat('obj.bin'), readAll(backend, 'obj.bin', { offset: 0, length: 1 })]);
    await backend.stat('obj.bin');
    expect(calls).toBe(1);
    expect(backend.credentialSource).toBe('credentials from the provider function');
  });

  it('maps NoSuchKey and NoSuchBucket to NotFound', async () => {
    const missingKey = await failure(s3Backend(base).read('nope.bin', { offset: 0 }));
    expect(missingKey.kind).toBe('NotFound');
    expect(missingKey.context.code).toBe('NoSuchKey');
    const missingBucket = await failure(s3Backend({ ...base, bucket: 'no-such-bucket' }).read('obj.bin', { offset: 0 }));
    expect(missingBucket.kind).toBe('NotFound');
    expect(missingBucket.context.code).toBe('NoSuchBucket');
    expect(missingBucket.code).toBe('NOT_FOUND');
    expect((await failure(s3Backend(base).stat('nope.bin'))).kind).toBe('NotFound');
  });

  it('costs exactly the requests it should (withMetrics request list)', async () => {
    // The dispatcher sees what really went on the wire: nothing may bypass the metrics.
    const wire: Record<string, string>[] = [];
    const backend = withMetrics(s3Backend({ ...base, dispatcher: recordingDispatcher(wire) }));
    const list = () => backend.metrics.snapshot().requests.map((q) => [q.op, q.path, q.rangeHeader ?? null, q.status]);

    expect((await backend.stat('obj.bin')).size).toBe(data.byteLength);
    expect(list()).toEqual([['HEAD', 'obj.bin', null, 200]]);
    backend.metrics.reset();

    const tail = await readAll(backend, 'obj.bin', { suffix: 8 });
    expect(tail.meta.size).toBe(data.byteLength);
    expect(list()).toEqual([['GET', 'obj.bin', 'bytes=-8', 206]]);
    backend.metrics.reset();

    // Start past EOF: one GET answered 416, no HEAD (the size is not needed to say so).
    const past = await failure(backend.read('obj.bin', { offset: data.byteLength + 5, length: 3 }));
    expect(past.kind).toBe('RangeNotSatisfied');
    expect(list()).toEqual([['GET', 'obj.bin', `bytes=${data.byteLength + 5}-${data.byteLength + 7}`, 416]]);
    backend.metrics.reset();

    // An empty object: S3 answers `bytes=0-` with 416 and the size (0) in its XML body: no HEAD.
    const empty = await readAll(backend, 'empty.bin', { offset: 0 });
    expect(empty.range).toEqual({ offset: 0, length: 0 });
    expect(empty.meta.size).toBe(0);
    expect(list()).toEqual([['GET', 'empty.bin', 'bytes=0-', 416]]);
    expect(wire.map((h) => `${h.range ?? 'HEAD'} ${h[':path']}`)).toEqual([
      'HEAD /data/obj.bin',
      'bytes=-8 /data/obj.bin',
      `bytes=${data.byteLength + 5}-${data.byteLength + 7} /data/obj.bin`,
      'bytes=0- /data/empty.bin',
    ]);
  });

  it('honours If-Match: the current ETag reads, another is ConditionNotMatch', async () => {
    const backend = s3Backend(base);
    const { etag } = await backend.stat('obj.bin');
    expect(etag).toMatch(/^"[0-9a-f]{32}"$/);
    const r = await readAll(backend, 'obj.bin', { offset: 0, length: 4 }, { ifMatch: etag as string });
    expect(r.meta.etag).toBe(etag);
    const err = await failure(backend.read('obj.bin', { offset: 0, length: 4 }, { ifMatch: '"0123456789abcdef0123456789abcdef"' }));
    expect(err.kind).toBe('ConditionNotMatch');
    expect(err.context.code).toBe('PreconditionFailed');
    expect(err.retryable).toBe(false);
  });

  it('pins moto quirks around If-Match (real S3 differs: `*` matches any existing object)', async () => {
    const backend = s3Backend(base);
    const { etag } = await backend.stat('obj.bin');
    // moto answers `If-Match: *` with 412, and a weak form of the right ETag with 412 too.
    expect((await failure(backend.read('obj.bin', { offset: 0, length: 1 }, { ifMatch: '*' }))).kind).toBe('ConditionNotMatch');
    expect((await failure(backend.read('obj.bin', { offset: 0, length: 1 }, { ifMatch: `W/${etag}` }))).kind).toBe('ConditionNotMatch');
    // An unquoted ETag matches on GET (on HEAD, moto answers 412: the stat interface sends no If-Match).
    const unquoted = await readAll(backend, 'obj.bin', { offset: 0, length: 1 }, { ifMatch: String(etag).replace(/"/g, '') });
    expect(unquoted.bytes.byteLength).toBe(1);
  });

  it('passes a given dispatcher every request', async () => {
    const seen: Record<string, string>[] = [];
    const backend = s3Backend({ ...base, dispatcher: recordingDispatcher(seen) });
    await backend.stat('obj.bin');
    await readAll(backend, 'obj.bin', { offset: 0 });
    expect(seen.map((h) => h[':path'])).toEqual(['/data/obj.bin', '/data/obj.bin']);
  });
});
