/** The peers' request counter, against the real object server: what it records is what the server saw. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../../bench/object-server.js';
import { countingFetch, parseRangeRequest, withGlobalFetch } from '../../../src/cli/bench/counting-fetch.js';
import { randomBytes } from '../../support/data.js';

let server: ObjectServer;
const bytes = randomBytes(300_000, 3);

beforeAll(async () => {
  server = await new ObjectServer().start();
  server.put('a.bin', bytes);
});
afterAll(() => server?.stop());

describe('parseRangeRequest', () => {
  it('bounded, open-ended and suffix ranges; anything else is no range', () => {
    expect(parseRangeRequest('bytes=10-19')).toEqual({ offset: 10, length: 10 });
    expect(parseRangeRequest('bytes=10-')).toEqual({ offset: 10 });
    expect(parseRangeRequest('bytes=-8')).toEqual({ suffix: 8 });
    for (const h of [null, '', 'bytes=-', 'bytes=0-1,5-6', 'items=0-1']) expect(parseRangeRequest(h)).toBeUndefined();
  });
});

describe('countingFetch', () => {
  it('records each request as the server logs it: method, range, status, body bytes, round trips', async () => {
    server.resetLog();
    const c = countingFetch();
    const url = `${server.url}/a.bin`;
    const head = await c.fetch(url, { method: 'HEAD' });
    expect(head.status).toBe(200);
    const [one, two] = await Promise.all([c.fetch(url, { headers: { Range: 'bytes=0-99' } }), c.fetch(new Request(url, { headers: { range: 'bytes=-1000' } }))]);
    expect(new Uint8Array(await (one as Response).arrayBuffer())).toEqual(bytes.subarray(0, 100));
    expect((await (two as Response).arrayBuffer()).byteLength).toBe(1000);
    const open = await c.fetch(url, { headers: { range: 'bytes=1000-' } });
    expect(open.url).toBe(url); // kept on the wrapped response (parquet-wasm parses it)
    await open.body?.cancel(); // given up on: ends the record
    const s = c.snapshot();
    expect(s.requests.map((r) => [r.op, r.rangeHeader, r.status])).toEqual([
      ['HEAD', undefined, 200],
      ['GET', 'bytes=0-99', 206],
      ['GET', 'bytes=-1000', 206],
      ['GET', 'bytes=1000-', 206],
    ]);
    expect(server.requests.map((r) => [r.method, r.range, r.status])).toEqual(s.requests.map((r) => [r.op, r.rangeHeader, r.status]));
    expect(s).toMatchObject({ gets: 3, heads: 1, roundTrips: 3 });
    expect(s.requests.slice(0, 3).map((r) => r.bytes)).toEqual([0, 100, 1000]);
    expect(s.requests[3]?.bytesRequested).toBe(299_000); // open-ended: what the response offered
    expect(s.requests.every((r) => !r.open && r.end >= r.start)).toBe(true);
  });

  it('a failed request is recorded and rethrown', async () => {
    const c = countingFetch();
    await expect(c.fetch('http://127.0.0.1:1/nothing')).rejects.toThrow();
    expect(c.snapshot().requests.map((r) => [r.op, r.status, r.open])).toEqual([['GET', 'Unexpected', false]]);
  });
});

describe('withGlobalFetch', () => {
  it('swaps the global fetch for one call and restores it, even on failure; refuses a second swap meanwhile', async () => {
    const original = globalThis.fetch;
    const c = countingFetch();
    await withGlobalFetch(c.fetch, async () => {
      expect(globalThis.fetch).toBe(c.fetch);
      await (await fetch(`${server.url}/a.bin`, { method: 'HEAD' })).arrayBuffer();
      await expect(withGlobalFetch(c.fetch, async () => 1)).rejects.toMatchObject({ code: 'INTERNAL' });
    });
    expect(globalThis.fetch).toBe(original);
    expect(c.snapshot().heads).toBe(1); // counted, and no recursion through the swapped global
    await expect(withGlobalFetch(c.fetch, async () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(globalThis.fetch).toBe(original);
  });
});
