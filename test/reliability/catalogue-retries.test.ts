/**
 * Fault catalogue: retries that end (cases 32–34). When `withRetry` gives up, the error says so
 * (`RETRIES_EXHAUSTED`, not retryable: a caller's own loop must not retry again); DNS failures are
 * final; one read has one retry budget, the backend's `withRetry`, and nothing retries on top of it.
 * Network faults go through the socket-level fault proxy in front of a real server (catalogue-setup.ts).
 */
import type { LookupAddress } from 'node:dns';
import { describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { collectBody } from '../../src/body.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import type { ReaderError } from '../../src/errors.js';
import { withRetry } from '../../src/layers/retry.js';
import { openParquet } from '../../src/parquet/source.js';
import { testingFile } from '../support/parquet-testing.js';
import { fast, data, rig, targets, useCatalogue } from './catalogue-setup.js';
import { failure, readBytes, s3ErrorXml, same, within } from './helpers.js';

useCatalogue();

/** Asserts `err` is the error withRetry ends with after `attempts` requests that each failed with `lastCode`. */
function expectExhausted(err: ReaderError, attempts: number, lastCode: ReaderError['code']): void {
  expect([err.code, err.retryable, err.context.attempts, err.context.lastCode]).toEqual(['RETRIES_EXHAUSTED', false, attempts, lastCode]);
  expect((err.cause as ReaderError).code).toBe(lastCode);
}

describe('32. 503 forever → exactly maxAttempts requests, then RETRIES_EXHAUSTED, retryable: false', () => {
  // also: test/layers/retry-policy.test.ts (the policy alone), test/reliability/retry.test.ts
  for (const t of targets()) {
    it(`a GET and a HEAD with maxAttempts: 3 (${t.name})`, async () => {
      t.proxy().policy = () => ({ action: 'status', status: 503, headers: { 'content-type': 'application/xml', 'retry-after': '0' }, body: s3ErrorXml('SlowDown') });
      const b = t.backend({ maxAttempts: 3 });
      const read = await failure(b.read('o.bin', { offset: 0, length: 10 }), 'RateLimited');
      expectExhausted(read, 3, 'RATE_LIMITED');
      const stat = await failure(b.stat('o.bin'), 'RateLimited');
      expectExhausted(stat, 3, 'RATE_LIMITED');
      expect(t.proxy().log.map((r) => [r.method, r.range ?? null, r.status])).toEqual([
        ['GET', 'bytes=0-9', 503],
        ['GET', 'bytes=0-9', 503],
        ['GET', 'bytes=0-9', 503],
        ['HEAD', null, 503],
        ['HEAD', null, 503],
        ['HEAD', null, 503],
      ]);
      expect(b.retryCounters()).toMatchObject({ attempts: 6, retries: 4, exhausted: 2 });
    });
  }

  it("a caller's own loop that retries while err.retryable stops at once: still exactly maxAttempts requests", async () => {
    rig.proxy.policy = () => ({ action: 'status', status: 503, headers: { 'retry-after': '0' } });
    const b = targets()[0].backend({ maxAttempts: 3 });
    let calls = 0;
    let last: unknown;
    for (let i = 0; i < 5; i++) {
      calls++;
      last = await b.read('o.bin', { offset: 0, length: 10 }).then(() => undefined, (e: unknown) => e);
      if (!(last as ReaderError).retryable) break;
    }
    expect([calls, (last as ReaderError).code, rig.proxy.log.length]).toEqual([1, 'RETRIES_EXHAUSTED', 3]);
  });

  it('a body reset on every attempt: the resumes share the same budget', async () => {
    rig.proxy.policy = () => ({ action: 'reset', after: 1000 });
    const res = await targets()[0].backend({ maxAttempts: 3 }).read('o.bin', { offset: 0, length: 50_000 });
    const err = await failure(collectBody(res.body), 'Interrupted');
    // a reset mid-body reaches undici as a reset or as a body short of its Content-Length, as the socket closes
    expect(['CONNECTION_RESET', 'SHORT_BODY']).toContain(err.context.lastCode);
    expectExhausted(err, 3, err.context.lastCode as ReaderError['code']);
    expect(rig.proxy.log).toHaveLength(3);
  });

  it('the time budget ends it the same way (totalMs)', async () => {
    rig.proxy.policy = () => ({ action: 'status', status: 503, headers: { 'retry-after': '1' } });
    const err = await failure(targets()[0].backend({ totalMs: 500 }).read('o.bin', { offset: 0, length: 10 }), 'RateLimited');
    expectExhausted(err, 1, 'RATE_LIMITED');
    expect(rig.proxy.log).toHaveLength(1);
  });
});

/** An undici Agent whose name lookups answer as `answer` says (loopback only), counting them. */
function resolver(answer: (n: number) => 'ENOTFOUND' | 'EAI_AGAIN' | 'ok'): { agent: Agent; lookups: () => number } {
  let n = 0;
  const lookup = (hostname: string, options: { all?: boolean }, cb: (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void): void => {
    const what = answer(++n);
    if (what !== 'ok') {
      const err = Object.assign(new Error(`getaddrinfo ${what} ${hostname}`), { code: what, hostname }) as NodeJS.ErrnoException;
      cb(err, '');
    } else if (options.all) cb(null, [{ address: '127.0.0.1', family: 4 }]);
    else cb(null, '127.0.0.1', 4);
  };
  return { agent: new Agent({ connect: { lookup } as never }), lookups: () => n };
}

describe('33. DNS failures are final: ENOTFOUND at once, EAI_AGAIN after one retry (DNS_FAILURE)', () => {
  const url = () => `http://brr-dns.test:${new URL(rig.server.url).port}`;

  it('ENOTFOUND: one lookup, DNS_FAILURE, not retryable', async () => {
    const { agent, lookups } = resolver(() => 'ENOTFOUND');
    const b = withRetry(httpBackend({ baseUrl: url(), dispatcher: agent }), fast);
    const err = await within(failure(b.read('o.bin', { offset: 0, length: 10 }), 'Unavailable'));
    expect([err.code, err.retryable, lookups()]).toEqual(['DNS_FAILURE', false, 1]);
    await agent.close();
  });

  it('EAI_AGAIN twice: two lookups, then DNS_FAILURE, not retryable', async () => {
    const { agent, lookups } = resolver(() => 'EAI_AGAIN');
    const b = withRetry(httpBackend({ baseUrl: url(), dispatcher: agent }), fast);
    const err = await within(failure(b.stat('o.bin'), 'Unavailable'));
    expect([err.code, err.retryable, err.context.attempts, lookups()]).toEqual(['DNS_FAILURE', false, 2, 2]);
    expect(b.retryCounters()).toMatchObject({ attempts: 2, retries: 1, exhausted: 0 });
    await agent.close();
  });

  it('EAI_AGAIN once: the one retry reads the right bytes', async () => {
    const { agent, lookups } = resolver((n) => (n === 1 ? 'EAI_AGAIN' : 'ok'));
    const b = withRetry(httpBackend({ baseUrl: url(), dispatcher: agent }), fast);
    expect(same(await readBytes(b, 'o.bin', { offset: 5, length: 100 }), data.subarray(5, 105))).toBe(true);
    expect(lookups()).toBe(2);
    await agent.close();
  });
});

describe('34. one retry budget per read: nothing retries on top of withRetry', () => {
  const file = testingFile('data/alltypes_plain.parquet');
  const footer = new DataView(file.buffer, file.byteOffset).getUint32(file.byteLength - 8, true) + 8;
  const dataEnd = file.byteLength - footer;
  /** Opens with a tail window of exactly the footer, so every data read is a request of its own. */
  const open = () => openParquet(`${rig.proxy.url}/f.parquet`, { metadataCache: false, footerSizeHint: footer, url: { retry } });
  const isData = (range: string | undefined) => Number(/^bytes=(\d+)-/.exec(range ?? '')?.[1] ?? Infinity) < dataEnd;
  /** 503 for every GET of the data region (the footer's suffix GET passes). */
  const dataFails = () => {
    rig.server.put('f.parquet', file);
    rig.proxy.policy = (req) => (isData(req.header('range')) ? { action: 'status', status: 503, headers: { 'retry-after': '0' } } : undefined);
  };
  const dataGets = (from = 0) => rig.proxy.log.slice(from).filter((r) => isData(r.range));
  const retry = { maxAttempts: 3, baseMs: 1, capMs: 10 };

  it('parquet-wasm Blob: a failed slice costs maxAttempts requests, reports RETRIES_EXHAUSTED once, never settles', async () => {
    dataFails();
    const source = await open();
    const errors: ReaderError[] = [];
    const blob = source.toBlob((e) => errors.push(e));
    const settled = blob.slice(4, 104).arrayBuffer().then(() => 'settled', () => 'rejected');
    await within(
      (async () => {
        while (errors.length === 0) await new Promise((r) => setTimeout(r, 5));
      })(),
    );
    expect(errors).toHaveLength(1);
    expectExhausted(errors[0] as ReaderError, 3, 'RATE_LIMITED');
    const [first] = dataGets();
    expect(dataGets().map((r) => [r.method, r.range, r.status])).toEqual(Array(3).fill(['GET', first?.range, 503]));
    expect(await Promise.race([settled, new Promise((r) => setTimeout(() => r('pending'), 50))])).toBe('pending');
    await source.close();
  });

  it('readTable and readObjects: each data range is tried maxAttempts times in all', async () => {
    dataFails();
    const source = await open();
    for (const read of [() => source.readTable(), () => source.readObjects()]) {
      const from = rig.proxy.log.length;
      const err = await within(failure(read(), 'RateLimited'));
      expectExhausted(err, 3, 'RATE_LIMITED');
      const counts = new Map<string, number>();
      for (const r of dataGets(from)) counts.set(r.range as string, (counts.get(r.range as string) ?? 0) + 1);
      expect(counts.size).toBeGreaterThan(0);
      expect([...counts.values()].every((n) => n === 3), JSON.stringify([...counts])).toBe(true);
    }
    await source.close();
  });

  it('a BufferReader does not retry either: its caller sees RETRIES_EXHAUSTED after maxAttempts', async () => {
    dataFails();
    const reader = new BufferReader(withRetry(httpBackend({ baseUrl: rig.proxy.url }), retry), 'f.parquet', { readahead: false, adaptive: false });
    expectExhausted(await failure(reader.readAt(0, 100), 'RateLimited'), 3, 'RATE_LIMITED');
    expect(dataGets()).toHaveLength(3);
    await reader.close();
  });
});
