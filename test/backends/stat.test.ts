/**
 * statOverHttp (src/backends/stat.ts) on its own, with responses as any HTTP client would wrap them
 * (here: plain objects, as a fetch-based backend builds them from `Response`); statHttpObject through
 * the http and fetch backends that share it, against the local object server. The HTTP and S3
 * backends run it against real servers in test/reliability/catalogue-versions.test.ts (cases 30, 31)
 * and test/backends/s3/presign.test.ts; `statOfVersion` there too (case 35), and its sharing,
 * aborts and version checks here.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, fetch as undiciFetch } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { fetchBackend } from '../../src/backends/fetch/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { forgetHeadRefusals, headRefused, statOfVersion, statOverHttp, untotalledSize, UNTOTALLED_SIZE_MEMORY, type StatResponse } from '../../src/backends/stat.js';
import type { ObjectMeta } from '../../src/types.js';
import { collectBody } from '../../src/body.js';
import { ReaderError } from '../../src/errors.js';

function answer(status: number, headers: Record<string, string> = {}, body = ''): StatResponse {
  const lower = Object.fromEntries(Object.entries(headers).map(([k, v]) => [k.toLowerCase(), v]));
  return {
    status,
    header: (name) => lower[name.toLowerCase()],
    text: async () => body,
    discard: async () => undefined,
    error: async () => new ReaderError(status === 404 ? 'NotFound' : 'PermissionDenied', `status ${status}`, { status }),
  };
}

/** A server script: what HEAD and the ranged GET answer, and what was sent. */
function server(head: StatResponse, get: StatResponse) {
  const sent: string[] = [];
  return {
    sent,
    opts: (origin = 'https://cdn.example') => ({
      origin,
      head: true,
      sendHead: async () => (sent.push('HEAD'), head),
      sendRangedGet: async () => (sent.push('GET bytes=0-0'), get),
      sizeFromErrorBody: (text: string) => {
        const m = /<ActualObjectSize>(\d+)<\/ActualObjectSize>/.exec(text);
        return m ? Number(m[1]) : undefined;
      },
      context: { backend: 'test', op: 'stat', path: 'f' },
    }),
  };
}

const ok206 = answer(206, { 'Content-Range': 'bytes 0-0/1234', ETag: '"v1"', 'Last-Modified': 'Thu, 01 Jan 2026 00:00:00 GMT' });

beforeEach(() => forgetHeadRefusals());

describe('statOverHttp', () => {
  it('HEAD 200: its Content-Length, ETag and Last-Modified; no GET; nothing remembered', async () => {
    const s = server(answer(200, { 'content-length': '99', etag: '"h"' }), ok206);
    expect(await statOverHttp(s.opts())).toEqual({ size: 99, etag: '"h"' });
    expect([s.sent, headRefused('https://cdn.example')]).toEqual([['HEAD'], false]);
  });

  for (const status of [403, 405, 501]) {
    it(`HEAD ${status}: GET bytes=0-0 tells size and version; the origin is remembered, and the next stat skips HEAD`, async () => {
      const s = server(answer(status), ok206);
      const meta = await statOverHttp(s.opts());
      expect([meta.size, meta.etag, meta.lastModified?.toISOString()]).toEqual([1234, '"v1"', '2026-01-01T00:00:00.000Z']);
      expect(meta.via?.map((w) => [w.method, w.status, w.bytes])).toEqual([
        ['HEAD', status, 0],
        ['GET', 206, 1],
      ]);
      expect(headRefused('https://cdn.example')).toBe(true);
      expect(headRefused('https://other.example')).toBe(false);
      const again = await statOverHttp(s.opts());
      expect(again.via?.map((w) => w.method)).toEqual(['GET']);
      expect(s.sent).toEqual(['HEAD', 'GET bytes=0-0', 'GET bytes=0-0']);
    });
  }

  it('a refused HEAD whose GET fails too (wrong credentials) is the GET error, and nothing is remembered', async () => {
    const s = server(answer(403), answer(403, {}, '<Error><Code>SignatureDoesNotMatch</Code></Error>'));
    await expect(statOverHttp(s.opts())).rejects.toMatchObject({ kind: 'PermissionDenied' });
    expect(headRefused('https://cdn.example')).toBe(false);
  });

  it('a 404 HEAD is the error as it is, without a GET', async () => {
    const s = server(answer(404), ok206);
    await expect(statOverHttp(s.opts())).rejects.toMatchObject({ kind: 'NotFound' });
    expect(s.sent).toEqual(['HEAD']);
  });

  it('an empty object: a 416 (bytes */0, or an error body naming size 0, or nothing at all) is size 0', async () => {
    for (const a of [answer(416, { 'content-range': 'bytes */0' }), answer(416, {}, '<Error><ActualObjectSize>0</ActualObjectSize></Error>'), answer(416)]) {
      const meta = await statOverHttp({ ...server(answer(405), a).opts(), head: false });
      expect([meta.size, meta.via?.map((w) => `${w.method} ${w.status}`)]).toEqual([0, ['GET 416']]);
    }
  });

  it('a 416 that names a non-zero size, a 206 without a size, a 200 without Content-Length are Unexpected with their codes', async () => {
    const cases: [StatResponse, string][] = [
      [answer(416, { 'content-range': 'bytes */50' }), 'BAD_STATUS'],
      [answer(206, { 'content-range': 'bytes 0-0/*' }), 'BAD_CONTENT_RANGE'],
      [answer(206, { 'content-range': 'bytes 5-5/50' }), 'BAD_CONTENT_RANGE'],
      [answer(200), 'RANGE_IGNORED'],
    ];
    for (const [a, code] of cases) {
      await expect(statOverHttp({ ...server(answer(405), a).opts(), head: false })).rejects.toMatchObject({ kind: 'Unexpected', code, retryable: false });
    }
    // A 200 with Content-Length: the server ignored Range, and its length is the size.
    expect((await statOverHttp({ ...server(answer(405), answer(200, { 'content-length': '77' })).opts(), head: false })).size).toBe(77);
  });
});

describe('statHttpObject: the stat of the http (undici) and fetch backends, against the local object server', () => {
  let server: ObjectServer;
  beforeAll(async () => {
    server = await new ObjectServer().start();
    server.put('stat/a.bin', new Uint8Array(321));
  });
  afterAll(() => server.stop());
  const log = () => server.requests.filter((r) => r.path.startsWith('stat/')).map((r) => `${r.method} ${r.range ?? ''}`.trim());
  const backends = { http: (o: { head?: boolean } = {}) => httpBackend({ baseUrl: server.url, ...o }), fetch: (o: { head?: boolean } = {}) => fetchBackend({ baseUrl: server.url, ...o }) };

  for (const [kind, make] of Object.entries(backends)) {
    it(`${kind}: one HEAD tells size, ETag and Last-Modified; head: false sends GET bytes=0-0 instead`, async () => {
      const before = log().length;
      const meta = await make().stat('stat/a.bin');
      expect([meta.size, meta.etag?.startsWith('"'), meta.lastModified instanceof Date]).toEqual([321, true, true]);
      expect((await make({ head: false }).stat('stat/a.bin')).size).toBe(321);
      expect(log().slice(before)).toEqual(['HEAD', 'GET bytes=0-0']);
    });

    it(`${kind}: a path that is no http(s) URL is InvalidInput INVALID_URL for stat and read alike, before any request; an aborted signal sends nothing`, async () => {
      const before = server.requests.length;
      const plain = kind === 'http' ? httpBackend() : fetchBackend();
      for (const call of [() => plain.stat('ftp://host/x'), () => plain.read('not a url', { offset: 0, length: 1 })]) {
        const err = await call().catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ReaderError);
        expect([(err as ReaderError).kind, (err as ReaderError).code, (err as ReaderError).context.backend]).toEqual(['InvalidInput', 'INVALID_URL', kind]);
      }
      const aborted = await make().stat('stat/a.bin', { signal: AbortSignal.abort() }).catch((e: unknown) => e);
      expect((aborted as ReaderError).kind).toBe('Aborted');
      expect(server.requests.length).toBe(before);
    });

    it(`${kind}: a Content-Range without a total costs one HEAD for the GETs of one version (case 35), each range right`, async () => {
      server.put('stat/nt.bin', new Uint8Array(1000).map((_, i) => i & 0xff));
      server.fault = 'no-total';
      try {
        const before = log().length;
        const backend = make();
        for (const [offset, length] of [[0, 10], [500, 10], [995, 10]] as const) {
          const res = await backend.read('stat/nt.bin', { offset, length });
          expect([res.meta.size, res.range.length]).toEqual([1000, Math.min(length, 1000 - offset)]);
          expect([...(await collectBody(res.body))]).toEqual([...Array(res.range.length).keys()].map((i) => (offset + i) & 0xff));
        }
        expect(log().slice(before)).toEqual(['GET bytes=0-9', 'HEAD', 'GET bytes=500-509', 'GET bytes=995-1004']);
      } finally {
        server.fault = undefined;
      }
    });

    it(`${kind}: a 206 without a total on the pool's only connection: its body keeps flowing, so the stat that sizes it gets the connection (no hang)`, async () => {
      const big = new Uint8Array(4 * 1024 * 1024).map((_, i) => (i * 13) & 0xff);
      server.put('stat/big.bin', big);
      server.fault = 'no-total';
      const agent = new Agent({ connections: 1 });
      try {
        const before = log().length;
        const backend = kind === 'http' ? httpBackend({ baseUrl: server.url, dispatcher: agent }) : fetchBackend({ baseUrl: server.url, fetch: ((u: string, init: object) => undiciFetch(u, { ...init, dispatcher: agent })) as unknown as typeof fetch });
        const res = await backend.read('stat/big.bin', { offset: 0, length: big.byteLength }, { signal: AbortSignal.timeout(20_000) });
        expect(res.meta.size).toBe(big.byteLength);
        expect(Buffer.from(await collectBody(res.body)).equals(Buffer.from(big))).toBe(true);
        expect(log().slice(before)).toEqual([`GET bytes=0-${big.byteLength - 1}`, 'HEAD']);
      } finally {
        server.fault = undefined;
        await agent.close();
      }
    });
  }
});

describe('statOfVersion and untotalledSize: the size for a Content-Range without a total', () => {
  /** A stat that answers when told to (or fails Aborted when its signal fires), counting its calls. */
  function statsOf(meta: ObjectMeta) {
    const calls: string[] = [];
    const pins: (string | undefined)[] = [];
    const pending: (() => void)[] = [];
    const stat = (path: string, ifMatch: string | undefined, signal?: AbortSignal) =>
      new Promise<ObjectMeta>((resolve, reject) => {
        calls.push(path);
        pins.push(ifMatch);
        signal?.addEventListener('abort', () => reject(new ReaderError('Aborted', 'aborted', {}, { code: 'ABORTED' })));
        pending.push(() => resolve(meta));
      });
    return { calls, pins, stat, answer: () => pending.splice(0).forEach((f) => f()) };
  }
  const tick = () => new Promise((r) => setTimeout(r, 0));

  it('one stat per path and strong ETag, shared by callers that ask together; a weak or no ETag asks each time', async () => {
    const s = statsOf({ size: 42, etag: '"v1"' });
    const stat = statOfVersion(s.stat);
    const both = Promise.all([stat('a', '"v1"'), stat('a', '"v1"')]);
    s.answer();
    expect((await both).map((m) => m.size)).toEqual([42, 42]);
    expect((await stat('a', '"v1"')).size).toBe(42);
    expect(s.calls).toEqual(['a']);
    for (const etag of [undefined, 'W/"v1"']) {
      const p = stat('a', etag);
      s.answer();
      expect((await p).size).toBe(42);
    }
    expect(s.calls).toEqual(['a', 'a', 'a']);
    expect(s.pins).toEqual(['"v1"', undefined, undefined]); // pinned (If-Match) only to a strong ETag
  });

  it('a caller that aborts stops waiting alone: the ones still waiting ask once more, together', async () => {
    const s = statsOf({ size: 7, etag: '"v1"' });
    const stat = statOfVersion(s.stat);
    const ac = new AbortController();
    const first = stat('a', '"v1"', ac.signal);
    const others = [1, 2, 3, 4, 5].map(() => stat('a', '"v1"', new AbortController().signal));
    ac.abort();
    await expect(first).rejects.toMatchObject({ kind: 'Aborted' });
    await tick();
    s.answer();
    expect((await Promise.all(others)).map((m) => m.size)).toEqual([7, 7, 7, 7, 7]);
    expect(s.calls).toEqual(['a', 'a']);
  });

  it('a stat of another ETag is not remembered; the memory is bounded', async () => {
    const s = statsOf({ size: 9, etag: '"v2"' });
    const stat = statOfVersion(s.stat);
    const p = stat('a', '"v1"');
    s.answer();
    expect((await p).etag).toBe('"v2"');
    await tick();
    const again = stat('a', '"v1"');
    s.answer();
    await again;
    expect(s.calls).toEqual(['a', 'a']); // asked again: nothing tied "v1" to that stat
    const q = stat('a', '"v2"');
    s.answer();
    expect((await q).size).toBe(9);
    // Past the bound the oldest entry is forgotten: asking for it again stats again.
    for (let i = 0; i < UNTOTALLED_SIZE_MEMORY; i++) {
      const r = stat(`p${i}`, '"v2"');
      s.answer();
      await r;
    }
    const calls = s.calls.length;
    const last = stat('a', '"v2"');
    s.answer();
    expect((await last).size).toBe(9);
    expect(s.calls.length).toBe(calls + 1);
  });

  it('untotalledSize: the stat of another version is ETAG_CHANGED with the caller\'s context: another ETag (weakly compared), Last-Modified, or a size short of the bytes got', () => {
    const ctx = { backend: 't', op: 'read', path: 'a', range: { offset: 500, length: 10 } };
    const meta = { size: 100, etag: 'W/"a"', lastModified: new Date('2026-01-01T00:00:00Z') };
    expect(untotalledSize(meta, { etag: '"a"', lastModified: 'Thu, 01 Jan 2026 00:00:00 GMT', end: 99 }, ctx)).toBe(100);
    expect(untotalledSize({ size: 100 }, { end: 99 }, ctx)).toBe(100);
    const changed = [
      [meta, { etag: 'W/"b"', end: 9 }],
      [meta, { lastModified: 'Fri, 02 Jan 2026 00:00:00 GMT', end: 9 }],
      [{ size: 50 }, { etag: '"a"', end: 99 }],
    ] as const;
    for (const [m, r] of changed) {
      let err: unknown;
      try {
        untotalledSize(m, r, ctx);
      } catch (e) {
        err = e;
      }
      expect(err).toMatchObject({ kind: 'ConditionNotMatch', code: 'ETAG_CHANGED', context: { range: { offset: 500, length: 10 } } });
    }
  });
});

describe('a 206 without a total whose stat fails while its body stalls', () => {
  it('http and fetch: the read fails with the stat\'s error at once (the stalled body is released, not waited on); the HEAD is pinned where the backend may send If-Match', async () => {
    const seen: string[] = [];
    let closed = 0;
    const server = createServer((req, res) => {
      seen.push(`${req.method} ${req.headers['if-match'] ?? '-'}`);
      req.socket.once('close', () => closed++);
      if (req.method === 'HEAD') return void setTimeout(() => res.writeHead(500).end(), 50);
      res.writeHead(206, { 'content-range': 'bytes 0-99999/*', 'content-length': '100000', etag: '"v1"' });
      res.write(Buffer.alloc(1000)); // then nothing more
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      for (const backend of [httpBackend({ baseUrl, dispatcher: new Agent() }), fetchBackend({ baseUrl, ifMatch: false })]) {
        const t0 = performance.now();
        const err = await backend.read('obj', { offset: 0, length: 100_000 }, { signal: AbortSignal.timeout(10_000) }).catch((e: unknown) => e);
        expect(err).toMatchObject({ kind: 'Unavailable' });
        expect(performance.now() - t0).toBeLessThan(5_000); // not the 10 s signal: nothing waited on the stalled body
      }
      expect(seen).toEqual(['GET -', 'HEAD "v1"', 'GET -', 'HEAD -']); // fetch with ifMatch: false never sends If-Match
      for (let i = 0; i < 100 && closed < 2; i++) await new Promise((r) => setTimeout(r, 10));
      expect(closed).toBeGreaterThanOrEqual(2); // both GETs' connections were closed, not left streaming
    } finally {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    }
  });
});
