/**
 * A real moto S3 server for tests: started on 127.0.0.1 and a free port, stopped by PID.
 *
 * - `startMoto()` has signatures unchecked (any key passes); `startMoto({ auth: true })` starts it with
 *   `INITIAL_NO_AUTH_ACTION_COUNT`, spends those requests creating an IAM user with an allow-all
 *   policy and an access key (boto3), and from then on every request must be signed by that key.
 * - `motoAvailability()` says whether python3 + moto + boto3 are here. Tests use
 *   `describe.skipIf(!moto.ok)` and, when `CI` is set, `requireMotoInCi()` fails instead of skipping.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { Agent, getGlobalDispatcher, request, type Dispatcher } from 'undici';
import { describe, it } from 'vitest';
import { signS3Request } from '../../src/backends/s3/signer.js';
import { objectTarget, resolveS3Location } from '../../src/backends/s3/url.js';

export const MOTO_HELPER = fileURLToPath(new URL('./moto_helper.py', import.meta.url));
/** moto.server with SigV4 query-signature (presigned URL) checking added to its auth mode: `startMoto({ auth: true, presigned: true })`. */
export const MOTO_PRESIGN_SERVER = fileURLToPath(new URL('./moto_presign_server.py', import.meta.url));
export const PYTHON = process.env.PYTHON ?? 'python3';
/** Requests moto serves unauthenticated in auth mode: exactly the three IAM calls of `setup-auth`. */
export const MOTO_NO_AUTH_ACTIONS = 3;
/** How long moto may take to answer after spawn (its import of every service takes 1–3 s). */
export const MOTO_START_TIMEOUT_MS = 30_000;
export const MOTO_REGION = 'us-east-1';

export interface MotoAvailability {
  ok: boolean;
  /** Why not, when not. */
  reason?: string;
  versions?: { moto: string; boto3: string };
}

let availability: MotoAvailability | undefined;

/** Whether python3 with moto and boto3 can run here (checked once per process). */
export function motoAvailability(): MotoAvailability {
  if (availability) return availability;
  const r = spawnSync(PYTHON, [MOTO_HELPER, 'check'], { encoding: 'utf8', timeout: 60_000 });
  if (r.error || r.status !== 0) {
    const why = r.error ? r.error.message : (r.stderr || '').trim().split('\n').pop();
    availability = { ok: false, reason: `${PYTHON} with moto[server] and boto3 is needed for the S3 tests: ${why}` };
  } else {
    availability = { ok: true, versions: JSON.parse(r.stdout) as { moto: string; boto3: string } };
  }
  return availability;
}

export const IN_CI = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';

/**
 * Call at the top of a test file that needs moto. Without moto: in CI it registers a failing test
 * (the S3 tests are not optional there); locally it logs why the suites will be skipped.
 * Returns whether moto is available (for `describe.skipIf(!ok)`).
 */
export function requireMotoInCi(file: string): boolean {
  const a = motoAvailability();
  if (a.ok) return true;
  if (IN_CI) {
    describe(`moto is required in CI (${file})`, () => {
      it('has python3 with moto and boto3', () => {
        throw new Error(a.reason);
      });
    });
  } else {
    console.warn(`[skip] ${file}: ${a.reason}`);
  }
  return false;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Runs the python helper; rejects with its stderr on failure. */
export async function runHelper(args: string[], input?: unknown): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const child = spawn(PYTHON, [MOTO_HELPER, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(out));
      else reject(new Error(`moto_helper ${args[0]} exited ${code}: ${err.trim().split('\n').slice(-3).join(' | ')}`));
    });
    child.stdin.end(input === undefined ? '' : JSON.stringify(input));
  });
}

export interface MotoServer {
  endpoint: string;
  port: number;
  pid: number;
  region: string;
  /** In auth mode, the only key moto accepts; otherwise any key works and these are placeholders. */
  accessKeyId: string;
  secretAccessKey: string;
  auth: boolean;
  /** The dispatcher that reaches it (accepts moto's self-signed certificate in `ssl` mode). */
  dispatcher: Dispatcher;
  /** Creates a bucket with a signed PUT (our signer). */
  createBucket(bucket: string): Promise<void>;
  /** Stores an object with a signed PUT (our signer); returns its ETag. */
  put(bucket: string, key: string, data: Uint8Array): Promise<string>;
  /** Temporary credentials (IAM role assumed through STS; auth mode only): a real session token. */
  assumeRole(): Promise<{ accessKeyId: string; secretAccessKey: string; sessionToken: string; expiration: Date }>;
  /** Stores objects with boto3 in one python run; returns their ETags. */
  putWithBoto3(bucket: string, objects: { key: string; data: Uint8Array }[], createBucket?: boolean): Promise<Record<string, string>>;
  stop(): Promise<void>;
}

async function waitUntilAnswering(endpoint: string, dispatcher: Dispatcher, child: ChildProcess, logs: () => string): Promise<void> {
  const deadline = Date.now() + MOTO_START_TIMEOUT_MS;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`moto exited with ${child.exitCode} before answering: ${logs()}`);
    try {
      // /moto-api/ is moto's dashboard: it answers without counting as an S3/IAM action.
      const res = await request(`${endpoint}/moto-api/data.json`, { method: 'GET', dispatcher });
      await res.body.dump();
      if (res.statusCode === 200) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) throw new Error(`moto did not answer within ${MOTO_START_TIMEOUT_MS} ms: ${logs()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** Sends one signed request to moto with our own signer (test-side PUTs). */
export async function signedRequest(
  moto: Pick<MotoServer, 'endpoint' | 'region' | 'accessKeyId' | 'secretAccessKey' | 'dispatcher'>,
  method: 'PUT' | 'GET' | 'DELETE',
  bucket: string,
  key: string | undefined,
  body?: Uint8Array,
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  const loc = resolveS3Location({ bucket, region: moto.region, endpoint: moto.endpoint, forcePathStyle: true, env: {} });
  const t = key === undefined ? { origin: loc.endpoint.origin, host: loc.endpoint.host, path: `/${bucket}` } : objectTarget(loc, key);
  const headers = await signS3Request(
    { method, protocol: loc.endpoint.protocol, host: t.host, path: t.path, ...(body ? { body } : {}) },
    { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
    moto.region,
  );
  // Origin and path apart: a URL string would be normalised (`a/../b` → `b`) before it is sent.
  const res = await moto.dispatcher.request({ origin: t.origin, path: t.path, method, headers, ...(body ? { body } : {}) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, text };
}

/**
 * Starts moto on 127.0.0.1 and a free port. `auth: true` checks every signature; `presigned: true`
 * (with auth) checks presigned URLs' query signatures too (MOTO_PRESIGN_SERVER); `ssl: true` serves
 * https with a self-signed certificate (use `server.dispatcher`, which accepts it).
 */
export async function startMoto(opts: { auth?: boolean; ssl?: boolean; presigned?: boolean } = {}): Promise<MotoServer> {
  const port = await freePort();
  const endpoint = `${opts.ssl ? 'https' : 'http'}://127.0.0.1:${port}`;
  const dispatcher = opts.ssl ? new Agent({ connect: { rejectUnauthorized: false } }) : getGlobalDispatcher();
  const env: NodeJS.ProcessEnv = { ...process.env, PYTHONUNBUFFERED: '1' };
  delete env.INITIAL_NO_AUTH_ACTION_COUNT;
  if (opts.auth) env.INITIAL_NO_AUTH_ACTION_COUNT = String(MOTO_NO_AUTH_ACTIONS);
  // `python3 -m moto.server`, not the `moto_server` shim: the shim forks, and its PID is not moto's.
  // `presigned`: moto 5.2's auth mode cannot check query-signed URLs; the launcher adds that (botocore verifies).
  const server = opts.presigned ? [MOTO_PRESIGN_SERVER] : ['-m', 'moto.server'];
  const args = [...server, '-H', '127.0.0.1', '-p', String(port), ...(opts.ssl ? ['--ssl'] : [])];
  const child = spawn(PYTHON, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  const keep = (d: Buffer) => {
    log = (log + d.toString('utf8')).slice(-4000);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const stop = async () => {
    if (opts.ssl) await (dispatcher as Agent).close().catch(() => undefined);
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitUntilAnswering(endpoint, dispatcher, child, () => log);
    let accessKeyId = 'moto-any-key';
    let secretAccessKey = 'moto-any-secret';
    if (opts.auth) {
      const key = (await runHelper(['setup-auth', endpoint])) as { accessKeyId: string; secretAccessKey: string };
      accessKeyId = key.accessKeyId;
      secretAccessKey = key.secretAccessKey;
    }
    const server: MotoServer = {
      endpoint,
      port,
      pid: child.pid as number,
      region: MOTO_REGION,
      accessKeyId,
      secretAccessKey,
      auth: !!opts.auth,
      dispatcher,
      async createBucket(bucket) {
        const res = await signedRequest(server, 'PUT', bucket, undefined);
        if (res.status !== 200) throw new Error(`create bucket ${bucket}: ${res.status} ${res.text}`);
      },
      async put(bucket, key, data) {
        const res = await signedRequest(server, 'PUT', bucket, key, data);
        if (res.status !== 200) throw new Error(`put ${bucket}/${key}: ${res.status} ${res.text}`);
        return String(res.headers.etag);
      },
      async assumeRole() {
        const c = (await runHelper(['assume-role', endpoint], { accessKeyId, secretAccessKey })) as {
          accessKeyId: string;
          secretAccessKey: string;
          sessionToken: string;
          expiration: string;
        };
        return { ...c, expiration: new Date(c.expiration) };
      },
      async putWithBoto3(bucket, objects, createBucket = false) {
        const out = (await runHelper(['put', endpoint], {
          region: MOTO_REGION,
          accessKeyId,
          secretAccessKey,
          bucket,
          createBucket,
          objects: objects.map((o) => ({ key: o.key, dataBase64: Buffer.from(o.data).toString('base64') })),
        })) as { etags: Record<string, string> };
        return out.etags;
      },
      stop,
    };
    return server;
  } catch (err) {
    await stop();
    throw err;
  }
}
