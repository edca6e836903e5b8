/**
 * The fetch backend on Node's own fetch, against the real local object server: the conformance
 * suite, the server faults the undici backend is tested with (same shared validation), and the CORS
 * cases through responses that say `type: 'cors'` (the real thing runs in Chromium: test/browser).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../../bench/object-server.js';
import { collectBody } from '../../../src/body.js';
import { fetchBackend } from '../../../src/backends/fetch/backend.js';
import { ReaderError } from '../../../src/errors.js';
import { describeConformance } from '../../conformance/suite.js';
import { randomBytes } from '../../support/data.js';

describeConformance('fetch (baseUrl)', async () => {
  const server = await new ObjectServer().start();
  return {
    backend: fetchBackend({ baseUrl: `${server.url}/bucket` }),
    kind: 'fetch',
    put: async (k, d) => void server.put(`bucket/${k}`, d),
    pathOf: (k) => k,
    teardown: () => server.stop(),
  };
});

describeConformance('fetch (absolute URLs)', async () => {
  const server = await new ObjectServer().start();
  return {
    backend: fetchBackend(),
    kind: 'fetch',
    put: async (k, d) => void server.put(k, d),
    pathOf: (k) => `${server.url}/${k}`,
    teardown: () => server.stop(),
  };
});

const data = randomBytes(50_000, 11);
let server: ObjectServer;

beforeAll(async () => {
  server = await new ObjectServer().start();
  server.put('o.bin', data);
});
afterAll(() => server.stop());
beforeEach(() => {
  server.fault = undefined;
  server.resetLog();
});

async function failure(p: Promise<unknown>): Promise<ReaderError> {
  const err = await p.then(
    () => new Error('expected a failure'),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  return err as ReaderError;
}

/** Node's fetch, with every response marked as a cross-origin CORS one and some headers hidden. */
function corsFetch(hide: string[]): typeof fetch {
  return async (input, init) => {
    const res = await fetch(input, init);
    const headers = new Headers(res.headers);
    for (const h of hide) headers.delete(h);
    const out = new Response(res.body, { status: res.status, statusText: res.statusText, headers });
    Object.defineProperty(out, 'type', { value: 'cors' });
    return out;
  };
}

describe('fetchBackend: the shared response validation', () => {
  it('cuts the window out of a 200 when the server ignores Range (catalogue 6)', async () => {
    server.fault = 'ignore-range';
    const r = await fetchBackend({ baseUrl: server.url }).read('o.bin', { offset: 100, length: 10 });
    expect(r.status).toBe(200);
    expect([...(await collectBody(r.body))]).toEqual([...data.subarray(100, 110)]);
    expect(server.requests.map((q) => [q.method, q.range, q.status])).toEqual([['GET', 'bytes=100-109', 200]]);
  });

  it('refuses a 206 whose Content-Range is not the asked one (catalogue 7)', async () => {
    server.fault = 'wrong-content-range';
    const err = await failure(fetchBackend({ baseUrl: server.url }).read('o.bin', { offset: 0, length: 10 }));
    expect(err.kind).toBe('Unexpected');
    expect(err.message).toMatch(/does not cover/);
  });

  it('a body shorter than announced is Interrupted, retryable (catalogue 1)', async () => {
    server.fault = 'short-body';
    const r = await fetchBackend({ baseUrl: server.url }).read('o.bin', { offset: 0, length: 20_000 });
    const err = await failure(collectBody(r.body));
    expect(err.kind).toBe('Interrupted');
    expect(err.retryable).toBe(true);
  });

  it('a body longer than its Content-Range is Unexpected (catalogue 2)', async () => {
    server.fault = 'long-body';
    const r = await fetchBackend({ baseUrl: server.url }).read('o.bin', { offset: 0, length: 100 });
    const err = await failure(collectBody(r.body));
    expect(err.kind).toBe('Unexpected');
  });

  it('stat is exactly one HEAD', async () => {
    const meta = await fetchBackend({ baseUrl: server.url }).stat('o.bin');
    expect(meta.size).toBe(data.byteLength);
    expect(meta.etag).toMatch(/^".+"$/);
    expect(server.requests.map((q) => q.method)).toEqual(['HEAD']);
  });

  it('sends the configured headers, and keeps their values out of error messages', async () => {
    const token = 'Bearer s3cr3t-t0ken-value';
    const err = await failure(fetchBackend({ baseUrl: server.url, headers: { authorization: token } }).read('missing.bin', { offset: 0, length: 1 }));
    expect(err.kind).toBe('NotFound');
    expect(err.code).toBe('NOT_FOUND');
    expect(err.message).not.toContain('s3cr3t');
  });

  it('a refused connection is Unavailable, retryable', async () => {
    const closed = await new ObjectServer().start();
    const url = closed.url;
    await closed.stop();
    const err = await failure(fetchBackend({ baseUrl: url }).read('o.bin', { offset: 0, length: 1 }));
    expect(err.kind).toBe('Unavailable');
    expect(err.retryable).toBe(true);
  });

  it('uses the fetch it is given', async () => {
    const seen: string[] = [];
    const backend = fetchBackend({
      baseUrl: server.url,
      fetch: (input, init) => {
        seen.push(`${init?.method} ${String(input)} ${new Headers(init?.headers).get('range')}`);
        return fetch(input, init);
      },
    });
    await collectBody((await backend.read('o.bin', { suffix: 5 })).body);
    expect(seen).toEqual([`GET ${server.url}/o.bin bytes=-5`]);
  });
});

describe('fetchBackend: headers hidden by CORS', () => {
  it('a 206 without a visible Content-Range names Access-Control-Expose-Headers', async () => {
    const backend = fetchBackend({ baseUrl: server.url, fetch: corsFetch(['content-range', 'etag']) });
    const err = await failure(backend.read('o.bin', { suffix: 1000 }));
    expect(err.code).toBe('CORS_HEADER_HIDDEN');
    expect(err.retryable).toBe(false);
    expect(err.message).toContain('Access-Control-Expose-Headers: Content-Range, ETag, Content-Length');
    expect(err.message).toContain('Content-Range response header');
  });

  it('a hidden ETag is metadata without one, or an error with requireEtag', async () => {
    const lax = fetchBackend({ baseUrl: server.url, fetch: corsFetch(['etag']) });
    const r = await lax.read('o.bin', { offset: 0, length: 4 });
    await collectBody(r.body);
    expect(r.meta).toMatchObject({ size: data.byteLength });
    expect(r.meta.etag).toBeUndefined();
    const strict = fetchBackend({ baseUrl: server.url, fetch: corsFetch(['etag']), requireEtag: true });
    const readErr = await failure(strict.read('o.bin', { offset: 0, length: 4 }));
    expect(readErr.code).toBe('CORS_HEADER_HIDDEN');
    expect(readErr.message).toContain('ETag response header');
    const statErr = await failure(strict.stat('o.bin'));
    expect(statErr.code).toBe('CORS_HEADER_HIDDEN');
  });

  it('a same-origin (non-CORS) 206 without Content-Range is the ordinary protocol error', async () => {
    const hide: typeof fetch = async (input, init) => {
      const res = await fetch(input, init);
      const headers = new Headers(res.headers);
      headers.delete('content-range');
      return new Response(res.body, { status: res.status, headers });
    };
    const err = await failure(fetchBackend({ baseUrl: server.url, fetch: hide }).read('o.bin', { offset: 0, length: 4 }));
    expect(err.code).not.toBe('CORS_HEADER_HIDDEN');
    expect(err.message).toMatch(/206 without a valid Content-Range/);
  });
});
