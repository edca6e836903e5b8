/**
 * withRetry on real servers behind the socket-level fault proxy: which errors are retried and how
 * long it waits (asserted through `onRetry`, never by the clock), resuming bodies from their next
 * byte pinned to one version, stalls, the deadline, aborts, and that nothing is left behind.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { collectBody } from '../../src/body.js';
import { backendFromUrl } from '../../src/backends/url.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { RETRY_BASE_MS, RETRY_CAP_MS, RETRY_MAX_ATTEMPTS, RETRY_STALL_MS, RETRY_TOTAL_MS, withRetry, type RetryEvent, type RetryOptions } from '../../src/layers/retry.js';
import { openParquet } from '../../src/parquet/source.js';
import { randomBytes } from '../support/data.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { testingFile } from '../support/parquet-testing.js';
import { activeTimers, agentBusy, eventually, failure, readBytes, same, startRig, within, type Rig } from './helpers.js';

const data = randomBytes(200_000, 21);
const motoOk = requireMotoInCi('test/reliability/retry.test.ts');
let rig: Rig;
let agent: Agent;

beforeAll(async () => {
  rig = await startRig();
  rig.server.put('o.bin', data);
  agent = new Agent({ connections: 8 });
});
afterAll(async () => {
  await agent.close();
  await rig.stop();
});
beforeEach(() => {
  rig.proxy.reset();
  rig.server.put('o.bin', data);
});

function backend(opts: RetryOptions = {}, events: RetryEvent[] = []) {
  return withRetry(httpBackend({ baseUrl: rig.proxy.url, dispatcher: agent }), {
    baseMs: 1,
    capMs: 10,
    onRetry: (e) => events.push(e),
    ...opts,
  });
}

const wire = () => rig.proxy.log.map((r) => [r.method, r.range ?? null, r.ifMatch ?? null, r.action, r.status]);

describe('withRetry: the layer', () => {
  it('documents its defaults as named constants', () => {
    expect([RETRY_MAX_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS, RETRY_TOTAL_MS, RETRY_STALL_MS]).toEqual([10, 100, 15_000, 60_000, 30_000]);
  });

  it('forwards every member of the backend it wraps, and counts what it did', async () => {
    const inner = withMetrics(memoryBackend({ a: 'abc' }));
    const b = withRetry(inner);
    expect(b.kind).toBe('memory');
    expect(b.capabilities).toBe(inner.capabilities);
    expect(b.metrics).toBe(inner.metrics);
    expect(new TextDecoder().decode(await readBytes(b, 'a', { offset: 1 }))).toBe('bc');
    expect((await b.stat('a')).size).toBe(3);
    expect(b.retryCounters()).toMatchObject({ operations: 2, attempts: 2, retries: 0 });
    // wrapping twice works too
    expect(withRetry(b).retryCounters().operations).toBe(0);
  });

  it('rejects bad options with InvalidInput', () => {
    for (const o of [{ maxAttempts: 0 }, { baseMs: -1 }, { stallMs: Number.NaN }, { deadlineMs: 0 }]) {
      expect(() => withRetry(memoryBackend(), o)).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
    }
  });
});

describe('withRetry: what is retried, and the backoff', () => {
  it('retries 503 SlowDown, 500, 502, 429 and 408, then reads', async () => {
    const events: RetryEvent[] = [];
    rig.proxy.script([503, 500, 502, 429, 408].map((status) => ({ match: 'GET', action: 'status', status })));
    const bytes = await readBytes(backend({}, events), 'o.bin', { offset: 5, length: 10 });
    expect(same(bytes, data.subarray(5, 15))).toBe(true);
    expect(events.map((e) => [e.attempt, e.error.kind, e.error.context.status])).toEqual([
      [1, 'RateLimited', 503],
      [2, 'Unavailable', 500],
      [3, 'Unavailable', 502],
      [4, 'RateLimited', 429],
      [5, 'Timeout', 408],
    ]);
    expect(rig.proxy.log.map((r) => r.status)).toEqual([503, 500, 502, 429, 408, 206]);
  });

  it('full jitter: the delay is random() × min(cap, base × 2^(n-1))', async () => {
    const events: RetryEvent[] = [];
    rig.proxy.script([{ match: 'GET', action: 'status', status: 500, times: 6 }]);
    await readBytes(backend({ baseMs: 2, capMs: 20, random: () => 0.5 }, events), 'o.bin', { offset: 0, length: 1 });
    expect(events.map((e) => e.delayMs)).toEqual([1, 2, 4, 8, 10, 10]);
  });

  it('honours Retry-After when it is longer than the backoff', async () => {
    const events: RetryEvent[] = [];
    rig.proxy.script([{ match: 'GET', action: 'status', status: 429, headers: { 'retry-after': '1' } }]);
    const bytes = await within(readBytes(backend({ random: () => 0 }, events), 'o.bin', { offset: 0, length: 4 }));
    expect(same(bytes, data.subarray(0, 4))).toBe(true);
    expect(events.map((e) => [e.error.kind, e.delayMs])).toEqual([['RateLimited', 1000]]);
  });

  it('gives up at once when Retry-After lies past the retry budget', async () => {
    rig.proxy.script([{ match: 'GET', action: 'status', status: 503, headers: { 'retry-after': '3600' } }]);
    const err = await failure(backend({ totalMs: 5_000 }).read('o.bin', { offset: 0, length: 4 }), 'RateLimited');
    expect([err.code, err.retryable, err.context.attempts, err.context.lastCode]).toEqual(['RETRIES_EXHAUSTED', false, 1, 'RATE_LIMITED']);
    expect(err.retryAfterMs).toBe(3_600_000);
    expect(rig.proxy.log).toHaveLength(1);
  });

  it('stops after maxAttempts requests with the last error, saying so', async () => {
    rig.proxy.script([{ match: 'GET', action: 'status', status: 500, times: 10 }]);
    const b = backend({ maxAttempts: 4 });
    const err = await failure(b.read('o.bin', { offset: 0, length: 4 }), 'Unavailable');
    expect([err.code, err.retryable, err.context.attempts, (err.cause as ReaderError).code]).toEqual(['RETRIES_EXHAUSTED', false, 4, 'SERVER_UNAVAILABLE']);
    expect(rig.proxy.log).toHaveLength(4);
    expect(b.retryCounters()).toMatchObject({ attempts: 4, retries: 3, exhausted: 1 });
  });

  it('never retries final errors: 403, 404, 412, 416, a wrong Content-Range', async () => {
    const b = backend();
    rig.proxy.script([{ match: 'GET', action: 'status', status: 403 }]);
    await failure(b.read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    await failure(b.read('missing.bin', { offset: 0, length: 1 }), 'NotFound');
    await failure(b.read('o.bin', { offset: 0, length: 1 }, { ifMatch: '"other"' }), 'ConditionNotMatch');
    await failure(b.read('o.bin', { offset: data.byteLength }), 'RangeNotSatisfied');
    rig.proxy.script([{ match: 'GET', action: 'content-range', value: 'bytes 1-10/200000' }]);
    await failure(b.read('o.bin', { offset: 0, length: 10 }), 'Unexpected');
    expect(rig.proxy.log.map((r) => r.status)).toEqual([403, 404, 412, 416, 206]);
    expect(b.retryCounters().retries).toBe(0);
  });

  it('retries a stat (HEAD) the same way', async () => {
    rig.proxy.script([
      { match: 'HEAD', action: 'status', status: 503 },
      { match: 'HEAD', action: 'drop' },
    ]);
    expect((await backend().stat('o.bin')).size).toBe(data.byteLength);
    expect(rig.proxy.log.map((r) => [r.method, r.action])).toEqual([
      ['HEAD', 'status'],
      ['HEAD', 'drop'],
      ['HEAD', 'pass'],
    ]);
  });
});

describe('withRetry: bodies resume from the next byte, pinned to the first version', () => {
  it('a truncated body continues with Range: bytes=<next>-<end> and If-Match', async () => {
    const events: RetryEvent[] = [];
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 1000 }]);
    const b = backend({}, events);
    const res = await b.read('o.bin', { offset: 100, length: 50_000 });
    expect(res.range).toEqual({ offset: 100, length: 50_000 });
    expect(same(await collectBody(res.body), data.subarray(100, 50_100))).toBe(true);
    const etag = res.meta.etag;
    expect(wire()).toEqual([
      ['GET', 'bytes=100-50099', null, 'truncate', 206],
      ['GET', 'bytes=1100-50099', etag, 'pass', 206],
    ]);
    expect(events.map((e) => [e.error.kind, e.resumeAt])).toEqual([['Interrupted', 1100]]);
    expect(b.retryCounters()).toMatchObject({ resumes: 1, retries: 1 });
  });

  it('resumes a suffix and an open-ended read as bounded ranges', async () => {
    rig.proxy.script([
      { match: 'GET', action: 'truncate', after: 10 },
      { match: { range: /^bytes=199000-$/ }, action: 'reset', after: 10 },
    ]);
    const b = backend();
    expect(same(await readBytes(b, 'o.bin', { suffix: 300 }), data.subarray(-300))).toBe(true);
    expect(same(await readBytes(b, 'o.bin', { offset: 199_000 }), data.subarray(199_000))).toBe(true);
    const ranges = rig.proxy.log.map((r) => r.range);
    expect(ranges.slice(0, 2)).toEqual(['bytes=-300', 'bytes=199710-199999']);
    expect(ranges[2]).toBe('bytes=199000-');
    expect(ranges[3]).toMatch(/^bytes=1990\d\d-199999$/); // from whatever arrived before the reset
  });

  it('an object replaced mid-body: 412 on resume is ConditionNotMatch, no byte of the new version', async () => {
    const v2 = randomBytes(data.byteLength, 99);
    rig.proxy.script([
      { match: 'GET', action: 'truncate', after: 4000 },
      { match: 'GET', before: () => void rig.server.put('o.bin', v2), action: 'pass' },
    ]);
    const res = await backend().read('o.bin', { offset: 0, length: 20_000 });
    const got: Uint8Array[] = [];
    const err = await failure(
      (async () => {
        for await (const c of res.body) got.push(c);
      })(),
      'ConditionNotMatch',
    );
    expect(err.code).toBe('ETAG_CHANGED');
    expect(same(Buffer.concat(got), data.subarray(0, 4000))).toBe(true);
    expect(rig.proxy.log.map((r) => r.status)).toEqual([206, 412]);
  });

  it('a weak ETag is compared, never sent: the same one resumes, a changed one is ConditionNotMatch', async () => {
    const weak = (tag: string) => (h: Map<string, string>) => void h.set('etag', `W/"${tag}"`);
    rig.proxy.script([
      { match: 'GET', action: 'truncate', after: 500, rewrite: weak('same') },
      { match: 'GET', action: 'pass', rewrite: weak('same') },
    ]);
    const b = backend();
    expect(same(await readBytes(b, 'o.bin', { offset: 0, length: 5_000 }), data.subarray(0, 5_000))).toBe(true);
    rig.proxy.script([
      { match: 'GET', action: 'truncate', after: 500, rewrite: weak('v1') },
      { match: 'GET', action: 'pass', rewrite: weak('v2') },
    ]);
    const res = await b.read('o.bin', { offset: 0, length: 5_000 });
    const got: Uint8Array[] = [];
    const err = await failure(
      (async () => {
        for await (const c of res.body) got.push(c);
      })(),
      'ConditionNotMatch',
    );
    expect(err.code).toBe('ETAG_CHANGED');
    expect(same(Buffer.concat(got), data.subarray(0, 500))).toBe(true);
    expect(wire()).toEqual([
      ['GET', 'bytes=0-4999', null, 'truncate', 206],
      ['GET', 'bytes=500-4999', null, 'pass', 206],
      ['GET', 'bytes=0-4999', null, 'truncate', 206],
      ['GET', 'bytes=500-4999', null, 'pass', 206],
    ]);
  });

  it('no ETag and no Last-Modified: the body is not resumed (nothing proves the version)', async () => {
    const anonymous = (h: Map<string, string>) => {
      h.delete('etag');
      h.delete('last-modified');
    };
    rig.proxy.policy = () => ({ action: 'pass', rewrite: anonymous });
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 700, rewrite: anonymous }]);
    const res = await backend().read('o.bin', { offset: 0, length: 5_000 });
    const err = await failure(collectBody(res.body), 'Interrupted');
    expect([err.retryable, err.context.resumable]).toEqual([true, false]);
    expect(['SHORT_BODY', 'CONNECTION_RESET']).toContain(err.code); // the body was cut: undici saw it short, or the socket closed
    expect(rig.proxy.log).toHaveLength(1);
  });

  it('no ETag but Last-Modified: resumed, compared on Last-Modified and size', async () => {
    const noEtag = (h: Map<string, string>) => void h.delete('etag');
    rig.proxy.policy = () => ({ action: 'pass', rewrite: noEtag });
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 700, rewrite: noEtag }]);
    const bytes = await readBytes(backend(), 'o.bin', { offset: 0, length: 5_000 });
    expect(same(bytes, data.subarray(0, 5_000))).toBe(true);
    expect(rig.proxy.log.map((r) => [r.range, r.ifMatch ?? null])).toEqual([
      ['bytes=0-4999', null],
      ['bytes=700-4999', null],
    ]);
  });

  it('resumes within the budget only', async () => {
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 100, times: 10 }]);
    const res = await backend({ maxAttempts: 3 }).read('o.bin', { offset: 0, length: 5_000 });
    const err = await failure(collectBody(res.body), 'Interrupted');
    expect([err.code, err.retryable, err.context.attempts]).toEqual(['RETRIES_EXHAUSTED', false, 3]);
    expect(['SHORT_BODY', 'CONNECTION_RESET']).toContain(err.context.lastCode);
    expect(rig.proxy.log.map((r) => r.range)).toEqual(['bytes=0-4999', 'bytes=100-4999', 'bytes=200-4999']);
  });

  it('a body longer than asked is an error, not retried', async () => {
    rig.server.fault = 'long-body';
    try {
      const res = await backend().read('o.bin', { offset: 0, length: 100 });
      await failure(collectBody(res.body), 'Unexpected');
      expect(rig.proxy.log).toHaveLength(1);
    } finally {
      rig.server.fault = undefined;
    }
  });
});

describe('withRetry: stalls, the deadline, aborts — and nothing left behind', () => {
  it('a stalled body (no bytes for stallMs) is aborted and resumed', async () => {
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 3000 }]);
    const b = backend({ stallMs: 400 });
    const bytes = await within(readBytes(b, 'o.bin', { offset: 0, length: 30_000 }));
    expect(same(bytes, data.subarray(0, 30_000))).toBe(true);
    expect(rig.proxy.log.map((r) => [r.range, r.action])).toEqual([
      ['bytes=0-29999', 'stall'],
      ['bytes=3000-29999', 'pass'],
    ]);
    expect(b.retryCounters()).toMatchObject({ stalls: 1, resumes: 1 });
  });

  it('a request whose headers never come is aborted and retried', async () => {
    rig.proxy.script([{ match: 'GET', action: 'stall', after: -1 }]);
    const events: RetryEvent[] = [];
    const bytes = await within(readBytes(backend({ stallMs: 400 }, events), 'o.bin', { offset: 0, length: 10 }));
    expect(same(bytes, data.subarray(0, 10))).toBe(true);
    expect(events.map((e) => [e.error.kind, e.error.message.includes('stalled')])).toEqual([['Timeout', true]]);
  });

  it('the deadline ends the whole read with Timeout (not retryable) and aborts what is in flight', async () => {
    const timers = activeTimers();
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 100, times: 5 }]);
    const b = backend({ stallMs: 10_000, deadlineMs: 200 });
    const res = await b.read('o.bin', { offset: 0, length: 10_000 });
    const err = await within(failure(collectBody(res.body), 'Timeout'));
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('TIMEOUT');
    expect(b.retryCounters().deadlines).toBe(1);
    await eventually(() => agentBusy(agent).running === 0 && rig.proxy.active === 0);
    expect(activeTimers()).toBeLessThanOrEqual(timers);
  });

  it('the caller aborting mid-body rejects with AbortError at once; no socket, no timer left', async () => {
    const timers = activeTimers();
    rig.proxy.script([{ match: 'GET', action: 'stall', after: 2000 }]);
    const ac = new AbortController();
    const res = await backend().read('o.bin', { offset: 0, length: 50_000 }, { signal: ac.signal });
    const reading = collectBody(res.body);
    await eventually(() => rig.proxy.log.length === 1);
    setTimeout(() => ac.abort(), 20);
    const err = await within(failure(reading, 'Aborted'), 1_000);
    expect(err.name).toBe('AbortError');
    await eventually(() => agentBusy(agent).running === 0 && rig.proxy.active === 0);
    expect(activeTimers()).toBeLessThanOrEqual(timers);
    expect(rig.proxy.log).toHaveLength(1);
  });

  it('aborting during a backoff sleep rejects at once', async () => {
    rig.proxy.script([{ match: 'GET', action: 'status', status: 503, headers: { 'retry-after': '30' } }]);
    const ac = new AbortController();
    const p = backend({ totalMs: 60_000 }).read('o.bin', { offset: 0, length: 10 }, { signal: ac.signal });
    await eventually(() => rig.proxy.log.length === 1);
    setTimeout(() => ac.abort(), 20);
    await within(failure(p, 'Aborted'), 1_000);
  });

  it('a body abandoned early releases its request and timers', async () => {
    const timers = activeTimers();
    const b = backend({ deadlineMs: 60_000 });
    for (let i = 0; i < 5; i++) {
      const res = await b.read('o.bin', { offset: 0 });
      for await (const _ of res.body) break;
    }
    const untouched = await b.read('o.bin', { offset: 0 });
    await untouched.body[Symbol.asyncIterator]().return?.();
    await eventually(() => agentBusy(agent).running === 0);
    expect(activeTimers()).toBeLessThanOrEqual(timers);
  });
});

describe.skipIf(!motoOk)('withRetry: a server slower than stallMs (moto behind the proxy) is waited for longer, not given up on', () => {
  /** The proxy holds every GET this long before forwarding it: moto answers each in 2⅔ stall limits. */
  const STALL_MS = 150;
  const SLOW_MS = 400;
  let moto: MotoServer;
  let proxy: FaultProxy;
  /** Sockets for a whole wave: every request of it is on the wire (none waits in the pool). */
  let pool: Agent;
  const s3 = () => s3Backend({ bucket: 'slow', endpoint: proxy.url, region: 'us-east-1', credentials: { accessKeyId: 'k', secretAccessKey: 's' }, dispatcher: pool, env: {} });

  beforeAll(async () => {
    pool = new Agent({ connections: 32 });
    moto = await startMoto();
    await moto.createBucket('slow');
    await moto.put('slow', 'o.bin', data);
    proxy = await FaultProxy.start(moto.endpoint);
  }, 60_000);
  afterAll(async () => {
    await pool?.close();
    await proxy?.stop();
    await moto?.stop();
  });
  beforeEach(() => proxy?.reset());

  it('each stall of a request doubles the next attempt\'s limit: 150 and 300 ms stall, 600 ms gets the answer', async () => {
    proxy.script([{ match: 'GET', action: 'pass', delayMs: SLOW_MS, times: 1_000 }]);
    const events: RetryEvent[] = [];
    const b = withRetry(s3(), { baseMs: 1, capMs: 5, stallMs: STALL_MS, onRetry: (e) => events.push(e) });
    const bytes = await within(readBytes(b, 'o.bin', { offset: 1000, length: 5000 }), 10_000);
    expect(same(bytes, data.subarray(1000, 6000))).toBe(true);
    // at least the 150 and 300 ms attempts stall (a loaded machine may stall the 600 ms one too); all ask the same range
    expect(b.retryCounters().stalls).toBeGreaterThanOrEqual(2);
    expect(events.every((e) => e.error.code === 'STALLED')).toBe(true);
    expect(new Set(proxy.log.map((r) => r.range))).toEqual(new Set(['bytes=1000-5999']));
    expect(b.retryCounters().exhausted).toBe(0);
  });

  it('a wave of parallel GETs that all stall together is read on a later attempt (it was RETRIES_EXHAUSTED)', async () => {
    proxy.script([{ match: 'GET', action: 'pass', delayMs: SLOW_MS, times: 1_000 }]);
    const b = withRetry(s3(), { baseMs: 1, capMs: 5, stallMs: STALL_MS });
    const reader = new BufferReader(b, 'o.bin', { size: data.byteLength, maxRangeSize: 4096, concurrency: 16, readahead: false });
    const bytes = await within(reader.readAt(0, 16 * 4096), 10_000);
    await reader.close();
    expect(same(bytes, data.subarray(0, 16 * 4096))).toBe(true);
    const c = b.retryCounters();
    expect(c.stalls).toBeGreaterThanOrEqual(2 * 16);
    expect(c.exhausted).toBe(0);
  });
});

describe('retries are on by default where users start', () => {
  it('backendFromUrl wraps http(s), s3 and file backends; retry: false turns it off', () => {
    const { backend: b } = backendFromUrl('http://127.0.0.1:9/x');
    expect(typeof (b as ReturnType<typeof withRetry>).retryCounters).toBe('function');
    const { backend: plain } = backendFromUrl('http://127.0.0.1:9/x', { retry: false });
    expect('retryCounters' in plain).toBe(false);
    const { backend: s3 } = backendFromUrl('s3://bkt/k', { s3: { anonymous: true, env: {} } });
    expect((s3 as unknown as { bucket: string }).bucket).toBe('bkt');
    expect('retryCounters' in backendFromUrl('./x.parquet').backend).toBe(true);
  });

  it('openParquet(url) reads through resets, 503s and a stall', async () => {
    const file = testingFile('data/alltypes_plain.parquet');
    rig.server.put('t.parquet', file);
    rig.proxy.script([
      { match: 'GET', action: 'status', status: 503 },
      { match: 'GET', action: 'reset', after: 200 },
      { match: 'GET', action: 'truncate', after: 300 },
    ]);
    const source = await within(openParquet(`${rig.proxy.url}/t.parquet`, { metadataCache: false, url: { retry: { baseMs: 1, stallMs: 500 } } }));
    const table = await within(source.readTable());
    expect(table.numRows).toBe(8);
    await source.close();
    expect(rig.proxy.log.filter((r) => r.action !== 'pass').length).toBe(3);
    // once a response has told the ETag, every later request carries it
    const firstAnswer = rig.proxy.log.findIndex((r) => r.status === 206 || r.status === 200);
    expect(rig.proxy.log.slice(firstAnswer + 1).every((r) => r.ifMatch !== undefined)).toBe(true);
  });

  it('final errors surface from openParquet(url) as they are', async () => {
    const err = await failure(openParquet(`${rig.proxy.url}/missing.parquet`, { metadataCache: false }), 'NotFound');
    expect(err).toBeInstanceOf(ReaderError);
    expect(rig.proxy.log).toHaveLength(1);
  });
});
