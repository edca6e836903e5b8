/** Real HTTP servers that break the protocol: the backend must give the documented behaviour, never wrong bytes. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../../bench/object-server.js';
import { collectBody } from '../../../src/body.js';
import { httpBackend } from '../../../src/backends/http/backend.js';
import { ReaderError } from '../../../src/errors.js';
import { withMetrics } from '../../../src/layers/metrics.js';
import { RangeReader } from '../../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../../src/range-reader/seek-from.js';
import { randomBytes } from '../../support/data.js';

const data = randomBytes(100_000, 5);
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

describe('server ignores Range and answers 200 with the whole body (catalogue 6)', () => {
  it('cuts the requested window out of the whole body', async () => {
    server.fault = 'ignore-range';
    const backend = httpBackend({ baseUrl: server.url });
    const mid = await backend.read('o.bin', { offset: 5000, length: 100 });
    expect(mid.status).toBe(200);
    expect(mid.range).toEqual({ offset: 5000, length: 100 });
    expect(Buffer.from(await collectBody(mid.body)).equals(Buffer.from(data.subarray(5000, 5100)))).toBe(true);
    const tail = await backend.read('o.bin', { suffix: 10 });
    expect(tail.range).toEqual({ offset: 99_990, length: 10 });
    expect(Buffer.from(await collectBody(tail.body)).equals(Buffer.from(data.subarray(99_990)))).toBe(true);
    expect(server.requests.map((r) => [r.range, r.status])).toEqual([
      ['bytes=5000-5099', 200],
      ['bytes=-10', 200],
    ]);
  });

  it('a RangeReader still reads the right bytes', async () => {
    server.fault = 'ignore-range';
    const reader = new RangeReader(httpBackend({ baseUrl: server.url }), 'o.bin');
    await reader.seek(SeekFrom.start(60_000));
    const out = new Uint8Array(await new Response(reader.toReadableStream()).arrayBuffer());
    expect(Buffer.from(out).equals(Buffer.from(data.subarray(60_000)))).toBe(true);
  });
});

describe('server sends a body shorter than its Content-Length (catalogue 1)', () => {
  it('fails with a retryable Interrupted error, never a short result', async () => {
    server.fault = 'short-body';
    const res = await httpBackend({ baseUrl: server.url }).read('o.bin', { offset: 0, length: 50_000 });
    const err = await failure(collectBody(res.body));
    expect(err.kind).toBe('Interrupted');
    expect(err.retryable).toBe(true);
  });

  it('surfaces through RangeReader.read, leaving the position at the last good byte', async () => {
    server.fault = 'short-body';
    const reader = new RangeReader(httpBackend({ baseUrl: server.url }), 'o.bin');
    const buf = new Uint8Array(100_000);
    let pos = 0;
    let err: unknown;
    try {
      for (;;) {
        const n = await reader.read(buf.subarray(pos));
        if (n === 0) break;
        pos += n;
      }
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReaderError);
    expect((err as ReaderError).retryable).toBe(true);
    expect(reader.position).toBe(pos);
    expect(pos).toBeLessThan(100_000);
    expect(Buffer.from(buf.subarray(0, pos)).equals(Buffer.from(data.subarray(0, pos)))).toBe(true);
    expect(reader.state).toBe('Idle');
  });
});

describe('server sends more than it announced (catalogue 2)', () => {
  it('is an error, not extra bytes', async () => {
    server.fault = 'long-body';
    const res = await httpBackend({ baseUrl: server.url }).read('o.bin', { offset: 10, length: 20 });
    const err = await failure(collectBody(res.body));
    expect(err.kind).toBe('Unexpected');
    expect(err.code).toBe('LONG_BODY');
  });
});

describe('server answers 206 with a Content-Range other than asked (catalogue 7)', () => {
  it('is Unexpected with the ranges in the message', async () => {
    server.fault = 'wrong-content-range';
    const err = await failure(httpBackend({ baseUrl: server.url }).read('o.bin', { offset: 100, length: 10 }));
    expect(err.kind).toBe('Unexpected');
    expect(err.retryable).toBe(false);
    expect(err.code).toBe('BAD_CONTENT_RANGE');
    expect(err.message).toContain('bytes 101-110/100000'); // the message shows what the server sent
  });
});

/** A hand-written server for the cases the object server does not model. */
function rawServer(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; close: () => Promise<void> }> {
  const s: Server = createServer(handler);
  return new Promise((resolve) =>
    s.listen(0, '127.0.0.1', () =>
      resolve({
        url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
        close: () => new Promise<void>((r) => (s.closeAllConnections(), s.close(() => r()))),
      }),
    ),
  );
}

describe('responses that need care', () => {
  it('trims a 206 superset down to the requested bytes (catalogue 7)', async () => {
    const srv = await rawServer((req, res) => {
      // Always answers with bytes 0-999 whatever was asked.
      res.writeHead(206, { 'content-range': `bytes 0-999/${data.byteLength}`, 'content-length': '1000', etag: '"x"' });
      res.end(data.subarray(0, 1000));
    });
    try {
      const r = await httpBackend({ baseUrl: srv.url }).read('o', { offset: 300, length: 50 });
      expect(r.range).toEqual({ offset: 300, length: 50 });
      expect(Buffer.from(await collectBody(r.body)).equals(Buffer.from(data.subarray(300, 350)))).toBe(true);
    } finally {
      await srv.close();
    }
  });

  it('416 carries the size; an empty object read from 0 is empty (catalogue 8, 9)', async () => {
    const srv = await rawServer((req, res) => {
      if (req.url === '/empty') res.writeHead(416, { 'content-range': 'bytes */0' }).end();
      else res.writeHead(416, { 'content-range': 'bytes */10' }).end();
    });
    try {
      const backend = httpBackend({ baseUrl: srv.url });
      const empty = await backend.read('empty', { offset: 0 });
      expect(empty.range).toEqual({ offset: 0, length: 0 });
      expect(empty.meta.size).toBe(0);
      const err = await failure(backend.read('ten', { offset: 20 }));
      expect(err.kind).toBe('RangeNotSatisfied');
      expect(err.context.size).toBe(10);
    } finally {
      await srv.close();
    }
  });

  it('maps statuses to kinds, with Retry-After', async () => {
    const statuses: Record<string, [number, Record<string, string>]> = {
      '/403': [403, {}],
      '/429': [429, { 'retry-after': '3' }],
      '/503': [503, {}],
      '/500': [500, {}],
      '/412': [412, {}],
    };
    const srv = await rawServer((req, res) => {
      const [code, headers] = statuses[req.url ?? ''] ?? [404, {}];
      res.writeHead(code, headers).end('nope');
    });
    try {
      const backend = httpBackend({ baseUrl: srv.url });
      const kinds = [];
      for (const p of Object.keys(statuses)) {
        const e = await failure(backend.read(p.slice(1), { offset: 0, length: 1 }));
        kinds.push([p, e.kind, e.retryable, e.retryAfterMs]);
      }
      expect(kinds).toEqual([
        ['/403', 'PermissionDenied', false, undefined],
        ['/429', 'RateLimited', true, 3000],
        ['/503', 'RateLimited', true, undefined],
        ['/500', 'Unavailable', true, undefined],
        ['/412', 'ConditionNotMatch', false, undefined],
      ]);
    } finally {
      await srv.close();
    }
  });

  it('follows redirects, dropping configured headers on a cross-origin hop', async () => {
    const target = await rawServer((req, res) => {
      res.writeHead(200, { 'content-length': '5', 'x-saw-auth': String(req.headers.authorization ?? 'none') });
      res.end('hello');
    });
    const seen: (string | undefined)[] = [];
    const origin = await rawServer((req, res) => {
      seen.push(req.headers.authorization);
      res.writeHead(302, { location: `${target.url}/o` }).end();
    });
    try {
      const backend = withMetrics(httpBackend({ baseUrl: origin.url, headers: { authorization: 'Bearer secret-token' } }));
      const r = await backend.read('o', { offset: 1, length: 3 });
      expect(new TextDecoder().decode(await collectBody(r.body))).toBe('ell');
      expect(seen).toEqual(['Bearer secret-token']);
      expect(backend.metrics.snapshot().gets).toBe(1);
    } finally {
      await origin.close();
      await target.close();
    }
  });

  it('a connection refused is Unavailable (retryable) and names no secret', async () => {
    const srv = await rawServer(() => {});
    const url = srv.url;
    await srv.close();
    const err = await failure(httpBackend({ baseUrl: url, headers: { authorization: 'Bearer secret-token' } }).stat('o'));
    expect(err.kind).toBe('Unavailable');
    expect(err.retryable).toBe(true);
    expect(err.message).not.toContain('secret-token');
  });
});
