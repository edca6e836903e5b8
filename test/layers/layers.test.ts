import { describe, expect, it } from 'vitest';
import { collectBody } from '../../src/body.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { withLimit } from '../../src/layers/limit.js';
import { countRoundTrips, withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { withRetry } from '../../src/layers/retry.js';
import { ReaderError } from '../../src/errors.js';
import type { Backend, ByteRange, ListPageOptions, ReadOptions } from '../../src/types.js';
import { randomBytes } from '../support/data.js';

const data = randomBytes(10_000, 9);

/** Counts requests in flight at the inner backend, with a body that stays open until consumed. */
function concurrencyProbe(inner: Backend) {
  let now = 0;
  let peak = 0;
  const backend: Backend = {
    kind: inner.kind,
    capabilities: inner.capabilities,
    stat: (p, o) => inner.stat(p, o),
    async read(path: string, range: ByteRange, opts?: ReadOptions) {
      now++;
      peak = Math.max(peak, now);
      await new Promise((r) => setTimeout(r, 5));
      const res = await inner.read(path, range, opts);
      const body = res.body;
      return {
        ...res,
        body: (async function* () {
          try {
            yield* body;
          } finally {
            now--;
          }
        })(),
      };
    },
  };
  return { backend, peak: () => peak };
}

describe('withMetrics', () => {
  it('records each request with op, range, status, bytes and times', async () => {
    const b = withMetrics(memoryBackend({ o: data }));
    await b.stat('o');
    await collectBody((await b.read('o', { offset: 10, length: 100 })).body);
    await collectBody((await b.read('o', { suffix: 8 })).body);
    await collectBody((await b.read('o', { offset: 9000 })).body);
    await b.read('missing', { offset: 0 }).catch(() => undefined);
    const s = b.metrics.snapshot();
    expect(s.requests.map((r) => [r.op, r.rangeHeader, r.status, r.bytes, r.bytesRequested])).toEqual([
      ['HEAD', undefined, 200, 0, 0],
      ['GET', 'bytes=10-109', 206, 100, 100],
      ['GET', 'bytes=-8', 206, 8, 8],
      ['GET', 'bytes=9000-', 206, 1000, 1000],
      ['GET', 'bytes=0-', 'NotFound', 0, 0],
    ]);
    expect(s).toMatchObject({ gets: 4, heads: 1, bytesReceived: 1108, bytesRequested: 1108, roundTrips: 5 });
    for (const r of s.requests) {
      expect(r.end).toBeGreaterThanOrEqual(r.start);
      expect(r.open).toBe(false);
    }
    b.metrics.reset();
    expect(b.metrics.snapshot().requests).toEqual([]);
  });

  it('counts parallel requests as one round trip', async () => {
    const b = withMetrics(withThrottle(memoryBackend({ o: data }), { ttfbMs: 10 }));
    await Promise.all([0, 1, 2, 3].map(async (i) => collectBody((await b.read('o', { offset: i * 100, length: 100 })).body)));
    await collectBody((await b.read('o', { offset: 0, length: 1 })).body);
    expect(b.metrics.snapshot()).toMatchObject({ gets: 5, roundTrips: 2 });
  });

  it('countRoundTrips: a request starting after every earlier one ended starts a new trip', () => {
    expect(countRoundTrips([])).toBe(0);
    expect(
      countRoundTrips([
        { start: 0, end: 10 },
        { start: 1, end: 12 },
        { start: 12, end: 20 },
        { start: 13, end: 14 },
        { start: 30, end: 31 },
      ]),
    ).toBe(3);
  });
});

describe('withLimit', () => {
  it('never has more than `concurrency` requests in flight, and finishes them all', async () => {
    const probe = concurrencyProbe(memoryBackend({ o: data }));
    const b = withLimit(probe.backend, { concurrency: 3 });
    const results = await Promise.all(
      Array.from({ length: 20 }, async (_, i) => collectBody((await b.read('o', { offset: i * 100, length: 100 })).body)),
    );
    expect(probe.peak()).toBe(3);
    results.forEach((r, i) => expect(Buffer.from(r).equals(Buffer.from(data.subarray(i * 100, i * 100 + 100)))).toBe(true));
  });

  it('holds a permit while a body is open and frees it when the body is abandoned', async () => {
    const b = withLimit(memoryBackend({ o: data }, { chunkSize: 100 }), { concurrency: 1 });
    const first = await b.read('o', { offset: 0 });
    let second = false;
    const pending = b.read('o', { offset: 0, length: 10 }).then((r) => ((second = true), r));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false); // waiting for the open body
    for await (const _ of first.body) break; // abandon it
    const r = await pending;
    expect(second).toBe(true);
    expect((await collectBody(r.body)).byteLength).toBe(10);
  });

  it('frees the permit of a body given up before its first chunk (return() without next())', async () => {
    const b = withLimit(memoryBackend({ o: data }, { chunkSize: 100 }), { concurrency: 1 });
    // A leaked permit would make the next read wait forever: it fails (Aborted) instead of hanging.
    const signal = AbortSignal.timeout(5000);
    for (let i = 0; i < 3; i++) {
      const res = await b.read('o', { offset: 0 }, { signal });
      await res.body[Symbol.asyncIterator]().return?.(); // what a layer that drops an unwanted response does
    }
    const next = await b.read('o', { offset: 0, length: 10 }, { signal });
    expect((await collectBody(next.body)).byteLength).toBe(10);
  });

  it('a waiting request can be aborted', async () => {
    const b = withLimit(memoryBackend({ o: data }), { concurrency: 1 });
    const first = await b.read('o', { offset: 0 });
    const ac = new AbortController();
    const waiting = b.read('o', { offset: 0, length: 1 }, { signal: ac.signal });
    ac.abort();
    await expect(waiting).rejects.toMatchObject({ kind: 'Aborted' });
    await collectBody(first.body);
    expect((await collectBody((await b.read('o', { offset: 0, length: 2 })).body)).byteLength).toBe(2);
  });

  it('rejects a bad concurrency', () => {
    expect(() => withLimit(memoryBackend(), { concurrency: 0 })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' }));
  });
});

describe('withThrottle', () => {
  it('delays the first byte by ttfbMs and paces the body', async () => {
    const b = withMetrics(withThrottle(memoryBackend({ o: data }), { ttfbMs: 30, bytesPerSecond: 100_000 }));
    const body = await collectBody((await b.read('o', { offset: 0, length: 5000 })).body);
    expect(Buffer.from(body).equals(Buffer.from(data.subarray(0, 5000)))).toBe(true);
    const [r] = b.metrics.snapshot().requests;
    // Semantics, not speed: the modelled delays are lower bounds (timers may fire up to 1 ms early).
    expect((r?.firstByte ?? 0) - (r?.start ?? 0)).toBeGreaterThanOrEqual(29);
    expect((r?.end ?? 0) - (r?.start ?? 0)).toBeGreaterThanOrEqual(29 + 49);
  });

  it('aborts during the modelled delay', async () => {
    const b = withThrottle(memoryBackend({ o: data }), { ttfbMs: 10_000 });
    const ac = new AbortController();
    const p = b.read('o', { offset: 0 }, { signal: ac.signal });
    setTimeout(() => ac.abort(), 5);
    await expect(p).rejects.toMatchObject({ kind: 'Aborted' });
  });
});

describe('every layer forwards every Backend member', () => {
  const inner = memoryBackend({ o: data });
  const layers: [string, Backend][] = [
    ['withMetrics', withMetrics(inner)],
    ['withLimit', withLimit(inner, { concurrency: 2 })],
    ['withThrottle', withThrottle(inner, { ttfbMs: 0 })],
    ['withRetry', withRetry(inner)],
  ];
  it.each(layers)('%s', async (_name, layer) => {
    expect(layer.kind).toBe(inner.kind);
    expect(layer.capabilities).toEqual(inner.capabilities);
    expect(await layer.stat('o')).toEqual(await inner.stat('o'));
    const r = await layer.read('o', { offset: 1, length: 3 }, { ifMatch: (await inner.stat('o')).etag as string });
    expect(r.range).toEqual({ offset: 1, length: 3 });
    expect(Buffer.from(await collectBody(r.body)).equals(Buffer.from(data.subarray(1, 4)))).toBe(true);
    await expect(layer.read('o', { offset: 0, length: 1 }, { ifMatch: '"nope"' })).rejects.toMatchObject({ kind: 'ConditionNotMatch' });
    expect(layer.capabilities.list).toBe(true);
    expect(await layer.listPage?.('')).toEqual(await inner.listPage(''));
    const listed = [];
    for await (const e of layer.list?.('') ?? []) listed.push(e);
    expect(listed).toEqual([{ path: 'o', ...(await inner.stat('o')) }]);
  });

  it.each([
    ['withMetrics', withMetrics],
    ['withLimit', (b: Backend) => withLimit(b, { concurrency: 1 })],
    ['withThrottle', (b: Backend) => withThrottle(b, { ttfbMs: 0 })],
    ['withRetry', (b: Backend) => withRetry(b)],
  ] as const)('%s adds no listing to a backend that has none', (_name, wrap) => {
    const { list: _l, listPage: _p, ...rest } = inner;
    const layer = wrap({ ...rest, capabilities: { suffix: true, etag: true, ifMatch: true } });
    expect(layer.listPage).toBeUndefined();
    expect(layer.list).toBeUndefined();
  });
});

describe('listing through the layers', () => {
  const many = memoryBackend(Object.fromEntries(Array.from({ length: 2500 }, (_, i) => [`k/${String(i).padStart(5, '0')}`, 'x'])));

  it('withMetrics records one LIST per page, apart from GETs and HEADs', async () => {
    const b = withMetrics(many);
    let n = 0;
    for await (const _ of b.list?.('k/') ?? []) n++;
    expect(n).toBe(2500);
    const snap = b.metrics.snapshot();
    expect(snap).toMatchObject({ gets: 0, heads: 0, lists: 3 });
    expect(snap.requests.map((r) => [r.op, r.path, r.entries, r.status])).toEqual([
      ['LIST', 'k/', 1000, 200],
      ['LIST', 'k/', 1000, 200],
      ['LIST', 'k/', 500, 200],
    ]);
  });

  it('withRetry asks a failed page again with the same cursor, and the listing is whole', async () => {
    const cursors: (string | undefined)[] = [];
    let failures = 1;
    const flaky: Backend = {
      ...many,
      listPage: async (prefix: string, opts?: ListPageOptions) => {
        cursors.push(opts?.cursor);
        if (opts?.cursor !== undefined && failures-- > 0) throw new ReaderError('Unavailable', 'S3 server error', { status: 500 });
        return many.listPage(prefix, opts);
      },
    };
    const b = withRetry(flaky, { baseMs: 1 });
    const seen: string[] = [];
    for await (const e of b.list?.('k/') ?? []) seen.push(e.path);
    expect(seen).toEqual(Array.from({ length: 2500 }, (_, i) => `k/${String(i).padStart(5, '0')}`));
    expect(cursors).toEqual([undefined, 'k/00999', 'k/00999', 'k/01999']);
    expect(b.retryCounters()).toMatchObject({ operations: 3, attempts: 4, retries: 1 });
  });

  it('withRetry does not retry a final listing error', async () => {
    let calls = 0;
    const denied: Backend = {
      ...many,
      listPage: async () => {
        calls++;
        throw new ReaderError('PermissionDenied', 'access denied', { status: 403 });
      },
    };
    const b = withRetry(denied, { baseMs: 1 });
    await expect(b.listPage?.('k/')).rejects.toMatchObject({ kind: 'PermissionDenied' });
    expect(calls).toBe(1);
  });

  it('withLimit holds a permit per page; withThrottle delays each page', async () => {
    const t = withMetrics(withThrottle(many, { ttfbMs: 20 }));
    await t.listPage?.('k/');
    const [r] = t.metrics.snapshot().requests;
    expect((r?.end ?? 0) - (r?.start ?? 0)).toBeGreaterThanOrEqual(19);
    const l = withLimit(withThrottle(many, { ttfbMs: 20 }), { concurrency: 1 });
    const m = withMetrics(l);
    await Promise.all([m.listPage?.('k/'), m.read('k/00001', { offset: 0 })]);
    const [a, g] = m.metrics.snapshot().requests;
    // one permit: the GET's response came at least one TTFB after the LIST's
    expect((g?.firstByte ?? 0) - (a?.start ?? 0)).toBeGreaterThanOrEqual(39);
  });
});
