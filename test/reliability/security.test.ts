/**
 * Secrets never leak. With a secret access key, a real session token (moto STS), an Authorization
 * header and a presigned-style URL configured, every error path we can drive — wrong secret, unknown
 * key, bad token, 401/403/404/412/416, 5xx and 429 until the budget is spent, resets, stalls, the
 * deadline, aborts, protocol errors, refused connections, redirects, servers echoing what they were
 * sent — is collected, and none of the secrets appears in any error's message, String(), stack,
 * JSON context, cause chain or util.inspect; nor in stats(), metrics snapshots, retry counters or
 * anything logged meanwhile. A redirect to another host never carries credentials, and the fs backend
 * behind backendFromUrl (with its retry layer) cannot be escaped.
 */
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { collectBody } from '../../src/body.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { backendFromUrl } from '../../src/backends/url.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withRetry, type RetryOptions } from '../../src/layers/retry.js';
import { openParquet } from '../../src/parquet/source.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import type { Backend } from '../../src/types.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { randomBytes } from '../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { eventually, s3ErrorXml, startRig, type Rig } from './helpers.js';

const motoOk = requireMotoInCi('test/reliability/security.test.ts');
const data = randomBytes(40_000, 77);
const WRONG_SECRET = 'wrong-secret-Zq8xW2vB7nK4mP1rT6yU';
const HTTP_TOKEN = 'http-bearer-token-Hq3Lm9Pz2Vx7Rt5K';
const URL_TOKEN = 'presigned-session-token-Fw4Jd8Ns1Qa6';
const URL_SIGNATURE = 'c0ffee0123456789abcdef0123456789abcdef0123456789abcdef0123456789';

/** Every secret any test configured (filled in as they are created: moto's real key, the STS token). */
const secrets = new Set<string>([WRONG_SECRET, HTTP_TOKEN, `Bearer ${HTTP_TOKEN}`, URL_TOKEN, URL_SIGNATURE]);
/** Every error and every stats/metrics output produced, checked together at the end. */
const errors: { path: string; err: unknown }[] = [];
const outputs: { what: string; text: string }[] = [];
const logged: string[] = [];

const fast: RetryOptions = { baseMs: 1, capMs: 5, maxAttempts: 3 };

/** Runs `p`, expects a failure, and keeps the error for the final check. */
async function collect(path: string, p: Promise<unknown>, kind?: ReaderError['kind']): Promise<ReaderError> {
  const err = await p.then(
    () => new Error(`${path}: expected a failure`),
    (e: unknown) => e,
  );
  errors.push({ path, err });
  expect(err, path).toBeInstanceOf(ReaderError);
  if (kind) expect((err as ReaderError).kind, `${path}: ${(err as ReaderError).message}`).toBe(kind);
  return err as ReaderError;
}

/** Everything an error shows: message, String(), stack, context, and the same for each cause; util.inspect of it all. */
function shown(err: unknown): string {
  const parts: string[] = [];
  let e: unknown = err;
  for (let depth = 0; e !== undefined && e !== null && depth < 10; depth++) {
    if (e instanceof Error) {
      parts.push(e.message, String(e), e.stack ?? '');
      if (e instanceof ReaderError) parts.push(JSON.stringify(e.context));
      e = (e as { cause?: unknown }).cause;
    } else {
      parts.push(String(e));
      break;
    }
  }
  parts.push(inspect(err, { depth: 8, showHidden: false }));
  return parts.join('\n');
}

function drain(res: { body: AsyncIterable<Uint8Array> }): Promise<Uint8Array> {
  return collectBody(res.body);
}

let rig: Rig;
let agent: Agent;
let echo: { url: string; seen: IncomingHttpHeaders[]; close: () => Promise<void> };
let other: { url: string; seen: IncomingHttpHeaders[]; close: () => Promise<void> };
const restore: (() => void)[] = [];

/** A server that records every request's headers and answers with `handler`. */
async function recorder(handler: (req: { url?: string; headers: IncomingHttpHeaders }, res: import('node:http').ServerResponse) => void) {
  const seen: IncomingHttpHeaders[] = [];
  const server: Server = createServer((req, res) => {
    seen.push(req.headers);
    handler(req, res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => new Promise<void>((r) => (server.closeAllConnections(), server.close(() => r()))),
  };
}

beforeAll(async () => {
  // Capture everything logged while the tests run.
  for (const name of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const orig = console[name];
    console[name] = (...args: unknown[]) => {
      logged.push(args.map((a) => (typeof a === 'string' ? a : inspect(a, { depth: 6 }))).join(' '));
    };
    restore.push(() => (console[name] = orig));
  }
  for (const stream of [process.stdout, process.stderr]) {
    const orig = stream.write.bind(stream);
    stream.write = ((chunk: unknown, ...rest: unknown[]) => {
      logged.push(String(chunk));
      return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
    }) as typeof stream.write;
    restore.push(() => (stream.write = orig));
  }
  rig = await startRig();
  rig.server.put('o.bin', data);
  agent = new Agent({ connections: 8 });
  // Echoes every request header back in a 500 body; the client must not repeat them.
  echo = await recorder((req, res) => {
    res.writeHead(500, { 'content-type': 'text/plain' }).end(`you sent: ${JSON.stringify(req.headers)} to ${req.url}`);
  });
  other = await recorder((_req, res) => {
    res.writeHead(200, { 'content-length': '5' }).end('hello');
  });
});
afterAll(async () => {
  for (const r of restore.reverse()) r();
  await agent?.close();
  await echo?.close();
  await other?.close();
  await rig?.stop();
});

describe('HTTP with an Authorization header and presigned-style URLs', () => {
  const headers = { authorization: `Bearer ${HTTP_TOKEN}` };
  const http = (opts: RetryOptions = fast): Backend => withRetry(httpBackend({ baseUrl: rig.proxy.url, headers, dispatcher: agent }), opts);

  it('statuses: 401, 403, 404, 412, 416, and 500/503/429 until the budget is spent', async () => {
    for (const status of [401, 403]) {
      rig.proxy.script([{ match: 'GET', action: 'status', status, body: `denied for ${headers.authorization}` }]);
      await collect(`http ${status}`, http().read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    }
    await collect('http 404', http().read('missing.bin', { offset: 0, length: 1 }), 'NotFound');
    await collect('http 412', http().read('o.bin', { offset: 0, length: 1 }, { ifMatch: '"x"' }), 'ConditionNotMatch');
    await collect('http 416', http().read('o.bin', { offset: 50_000 }), 'RangeNotSatisfied');
    for (const status of [500, 503, 429]) {
      rig.proxy.script([{ match: 'GET', action: 'status', status, times: 3, headers: { 'retry-after': '0' }, body: `echo: ${headers.authorization}` }]);
      await collect(`http ${status} exhausted`, http().read('o.bin', { offset: 0, length: 1 }));
    }
  });

  it('a server echoing the request headers in its error body', async () => {
    const b = withRetry(httpBackend({ baseUrl: echo.url, headers, dispatcher: agent }), fast);
    const err = await collect('echo 500', b.read('o.bin', { offset: 0, length: 1 }), 'Unavailable');
    expect(err.message).toContain('[redacted]');
    expect(echo.seen[0]?.authorization).toBe(headers.authorization); // it was sent to the right host
  });

  it('transport failures: resets and truncations until the budget is spent, a stall past the deadline, an abort, a refused connection', async () => {
    rig.proxy.script([{ match: 'GET', action: 'reset', after: 100, times: 3 }]);
    await collect('http reset exhausted', http().read('o.bin', { offset: 0 }).then(drain), 'Interrupted');
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 100, times: 3 }]);
    await collect('http truncate exhausted', http().read('o.bin', { offset: 0 }).then(drain), 'Interrupted');
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 10, times: 3 }]);
    await collect('http deadline', http({ ...fast, stallMs: 10_000, deadlineMs: 100 }).read('o.bin', { offset: 0 }).then(drain), 'Timeout');
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 10, times: 3 }]);
    await collect('http stall exhausted', http({ ...fast, stallMs: 50 }).read('o.bin', { offset: 0 }).then(drain), 'Timeout');
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 10 }]);
    const ac = new AbortController();
    const res = await http().read('o.bin', { offset: 0 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 20);
    await collect('http abort', drain(res), 'Aborted');
    const gone = await recorder(() => undefined);
    await gone.close();
    await collect('http refused', withRetry(httpBackend({ baseUrl: gone.url, headers }), fast).stat('o.bin'), 'Unavailable');
  });

  it('protocol errors: a wrong Content-Range, a body longer than announced', async () => {
    rig.proxy.script([{ match: 'GET', action: 'content-range', value: 'bytes 5-14/40000' }]);
    await collect('http wrong content-range', http().read('o.bin', { offset: 0, length: 10 }), 'Unexpected');
    rig.server.fault = 'long-body';
    try {
      await collect('http long body', http().read('o.bin', { offset: 0, length: 10 }).then(drain), 'Unexpected');
    } finally {
      rig.server.fault = undefined;
    }
  });

  it('presigned-style URLs: the query string (signature, token) is redacted from errors and metrics', async () => {
    const url = (key: string) => `${rig.proxy.url}/${key}?X-Amz-Credential=AKID&X-Amz-Security-Token=${URL_TOKEN}&X-Amz-Signature=${URL_SIGNATURE}`;
    const b = withMetrics(withRetry(httpBackend({ dispatcher: agent }), fast));
    const err = await collect('presigned 404', b.read(url('missing.bin'), { offset: 0, length: 1 }), 'NotFound');
    expect(err.message).toContain('X-Amz-Security-Token=[redacted]');
    rig.proxy.script([{ match: 'GET', action: 'reset', after: 5, times: 3 }]);
    await collect('presigned reset', b.read(url('o.bin'), { offset: 0 }).then(drain), 'Interrupted');
    const reader = new BufferReader(b, url('o.bin'), { metrics: true });
    expect((await reader.readAt(0, 10)).byteLength).toBe(10);
    await collect('presigned readAt past EOF', reader.readAt(90_000, 10), 'RangeNotSatisfied');
    outputs.push({ what: 'presigned BufferReader stats', text: JSON.stringify(reader.stats()) });
    outputs.push({ what: 'presigned metrics', text: JSON.stringify(b.metrics.snapshot()) });
    await reader.close();
    const rr = new RangeReader(b, url('missing.bin'));
    await collect('presigned RangeReader', rr.read(new Uint8Array(4)), 'NotFound');
  });

  it('a redirect to another host never carries the Authorization header', async () => {
    const redirector = await recorder((_req, res) => res.writeHead(302, { location: `${other.url}/o` }).end());
    try {
      const b = withRetry(httpBackend({ baseUrl: redirector.url, headers, dispatcher: agent }), fast);
      expect(new TextDecoder().decode(await drain(await b.read('o', { offset: 0, length: 5 })))).toBe('hello');
      expect(redirector.seen[0]?.authorization).toBe(headers.authorization);
      expect(other.seen.at(-1)?.authorization).toBeUndefined();
      expect(JSON.stringify(other.seen)).not.toContain(HTTP_TOKEN);
    } finally {
      await redirector.close();
    }
    const toFile = await recorder((_req, res) => res.writeHead(302, { location: 'file:///etc/passwd' }).end());
    try {
      await collect('redirect to file://', httpBackend({ baseUrl: toFile.url, headers }).read('o', { offset: 0, length: 1 }), 'PermissionDenied');
    } finally {
      await toFile.close();
    }
  });

  it('openParquet(url) with headers: errors and stats stay clean', async () => {
    rig.server.put('not.parquet', data);
    await collect('openParquet not parquet', openParquet(`${rig.proxy.url}/not.parquet`, { metadataCache: false, url: { http: { headers }, retry: fast } }), 'InvalidData');
    await collect('openParquet 404', openParquet(`${rig.proxy.url}/none.parquet`, { metadataCache: false, url: { http: { headers }, retry: fast } }), 'NotFound');
  });
});

describe.skipIf(!motoOk)('S3 with a secret key and a session token (moto, signatures checked)', () => {
  let moto: MotoServer;
  let proxy: FaultProxy;
  let temp: { accessKeyId: string; secretAccessKey: string; sessionToken: string };

  beforeAll(async () => {
    moto = await startMoto({ auth: true });
    await moto.createBucket('sec');
    await moto.put('sec', 'o.bin', data);
    temp = await moto.assumeRole();
    for (const s of [moto.secretAccessKey, temp.secretAccessKey, temp.sessionToken]) secrets.add(s);
    proxy = await FaultProxy.start(moto.endpoint);
  }, 60_000);
  afterAll(async () => {
    await proxy?.stop();
    await moto?.stop();
  });

  const s3 = (credentials: { accessKeyId: string; secretAccessKey: string; sessionToken?: string }, opts: RetryOptions = fast, viaProxy = false) =>
    withRetry(s3Backend({ bucket: 'sec', endpoint: viaProxy ? proxy.url : moto.endpoint, region: moto.region, credentials, env: {}, dispatcher: agent }), opts);

  it('wrong secret, unknown key, bad session token: PermissionDenied naming the source', async () => {
    const wrong = await collect('s3 wrong secret GET', s3({ accessKeyId: moto.accessKeyId, secretAccessKey: WRONG_SECRET }).read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    expect(wrong.message).toContain('explicit credentials');
    expect(wrong.context.code).toBe('SignatureDoesNotMatch');
    await collect('s3 wrong secret HEAD', s3({ accessKeyId: moto.accessKeyId, secretAccessKey: WRONG_SECRET }).stat('o.bin'), 'PermissionDenied');
    await collect('s3 unknown key', s3({ accessKeyId: 'AKIAUNKNOWNKEY000000', secretAccessKey: moto.secretAccessKey }).read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    const badToken = `${temp.sessionToken.slice(0, -8)}AAAAAAAA`;
    secrets.add(badToken);
    await collect('s3 bad token', s3({ ...temp, sessionToken: badToken }).read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    const providerFails = withRetry(
      s3Backend({ bucket: 'sec', endpoint: moto.endpoint, region: moto.region, env: {}, credentials: async () => Promise.reject(new Error('no credentials here')) }),
      fast,
    );
    await collect('s3 provider fails', providerFails.stat('o.bin'), 'PermissionDenied');
  });

  it('with a valid session token: 404, 412, 416, and server errors, resets, stalls, the deadline and aborts through the proxy', async () => {
    const ok = s3(temp);
    await collect('s3 404', ok.read('missing.bin', { offset: 0, length: 1 }), 'NotFound');
    await collect('s3 404 HEAD', ok.stat('missing.bin'), 'NotFound');
    await collect('s3 412', ok.read('o.bin', { offset: 0, length: 1 }, { ifMatch: '"nope"' }), 'ConditionNotMatch');
    await collect('s3 416', ok.read('o.bin', { offset: 90_000 }), 'RangeNotSatisfied');
    const via = s3(temp, fast, true);
    for (const [status, code] of [
      [503, 'SlowDown'],
      [500, 'InternalError'],
      [400, 'RequestTimeout'],
    ] as const) {
      // the error body repeats the token and the secret: S3 never does, a hostile server might
      proxy.script([{ match: 'GET', action: 'status', status, times: 3, body: s3ErrorXml(code, `token ${temp.sessionToken} secret ${temp.secretAccessKey}`) }]);
      await collect(`s3 ${code} exhausted`, via.read('o.bin', { offset: 0, length: 1 }));
    }
    proxy.script([{ match: 'GET', action: 'status', status: 403, body: s3ErrorXml('AccessDenied', `denied ${temp.sessionToken}`) }]);
    await collect('s3 403 echoing the token', via.read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    proxy.script([{ match: 'GET', action: 'reset', after: 10, times: 3 }]);
    await collect('s3 reset exhausted', via.read('o.bin', { offset: 0 }).then(drain), 'Interrupted');
    proxy.script([{ match: 'GET', action: 'stall', after: 10, times: 3 }]);
    await collect('s3 deadline', s3(temp, { ...fast, stallMs: 10_000, deadlineMs: 100 }, true).read('o.bin', { offset: 0 }).then(drain), 'Timeout');
    proxy.script([{ match: 'GET', action: 'stall', after: -1 }]);
    const ac = new AbortController();
    const p = via.read('o.bin', { offset: 0 }, { signal: ac.signal });
    await eventually(() => proxy.active > 0);
    ac.abort();
    await collect('s3 abort', p, 'Aborted');
    proxy.script([{ match: 'GET', action: 'content-range', value: 'bytes 1-1/40000' }]);
    await collect('s3 wrong content-range', via.read('o.bin', { offset: 0, length: 1 }), 'Unexpected');
  });

  it('a redirect answer (wrong region) is not followed: the other host never sees the request', async () => {
    const before = other.seen.length;
    proxy.script([
      {
        match: 'GET',
        action: 'status',
        status: 301,
        headers: { location: `${other.url}/sec/o.bin`, 'x-amz-bucket-region': 'eu-west-3' },
        body: '<Error><Code>PermanentRedirect</Code><Message>The bucket you are attempting to access must be addressed using the specified endpoint.</Message></Error>',
      },
    ]);
    const err = await collect('s3 301', s3(temp, fast, true).read('o.bin', { offset: 0, length: 1 }), 'InvalidInput');
    expect(err.message).toContain('eu-west-3');
    expect(other.seen.length).toBe(before);
  });

  it('stats and metrics of readers that met errors', async () => {
    const retrying = s3(temp);
    const b = withMetrics(retrying);
    const reader = new BufferReader(b, 'o.bin', { metrics: true });
    expect((await reader.readAt(0, 100)).byteLength).toBe(100);
    await collect('s3 BufferReader past EOF', reader.readAt(90_000, 1), 'RangeNotSatisfied');
    const missing = new BufferReader(b, 'missing.bin', { metrics: true });
    await collect('s3 BufferReader 404', missing.readAt(0, 10), 'NotFound');
    for (const [what, r] of [
      ['s3 reader stats', reader],
      ['s3 missing reader stats', missing],
    ] as const) outputs.push({ what, text: JSON.stringify(r.stats()) });
    outputs.push({ what: 's3 metrics', text: JSON.stringify(b.metrics.snapshot()) });
    outputs.push({ what: 's3 retry counters', text: JSON.stringify(retrying.retryCounters()) });
    outputs.push({ what: 's3 backend', text: inspect(retrying, { depth: 4 }) });
    await reader.close();
    await missing.close();
  });
});

describe('the fs backend behind backendFromUrl (with its retry layer) cannot be escaped', () => {
  // also: test/backends/fs/escape.test.ts (the backend itself, every form)
  it('.., absolute paths, symlinks out, encoded separators', async () => {
    const outer = await mkdtemp(join(tmpdir(), 'brr-sec-'));
    try {
      const root = join(outer, 'root');
      await mkdir(root);
      await writeFile(join(outer, 'secret.txt'), 'top secret');
      await writeFile(join(root, 'data.bin'), 'fine');
      await symlink(join(outer, 'secret.txt'), join(root, 'link-out'));
      const { backend, path } = backendFromUrl(join(root, 'data.bin'));
      expect(path).toBe('data.bin');
      expect(new TextDecoder().decode(await drain(await backend.read(path, { offset: 0 })))).toBe('fine');
      for (const p of ['../secret.txt', 'sub/../../secret.txt', join(outer, 'secret.txt'), 'link-out']) {
        const err = await collect(`fs ${p}`, backend.read(p, { offset: 0 }), 'PermissionDenied');
        expect(err.message).not.toContain('top secret');
      }
      await collect('fs encoded', backend.read('..%2fsecret.txt', { offset: 0 }), 'NotFound');
      await collect('fs encoded dots', backend.read('%2e%2e/secret.txt', { offset: 0 }), 'NotFound');
    } finally {
      await rm(outer, { recursive: true, force: true });
    }
  });
});

describe('none of it shows a secret', () => {
  it('errors, stats, metrics, logs', () => {
    expect(errors.length).toBeGreaterThanOrEqual(motoOk ? 45 : 25);
    const list = [...secrets].filter((s) => s.length >= 8);
    for (const { path, err } of errors) {
      const text = shown(err);
      for (const s of list) expect(text.includes(s), `${path} shows a secret: ${text.slice(0, 400)}`).toBe(false);
    }
    for (const { what, text } of outputs) for (const s of list) expect(text.includes(s), `${what} shows a secret`).toBe(false);
    const log = logged.join('\n');
    for (const s of list) expect(log.includes(s), 'a log line shows a secret').toBe(false);
  });
});
