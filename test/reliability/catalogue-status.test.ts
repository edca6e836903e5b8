/**
 * Fault catalogue: error statuses, retries, aborts and credentials (cases 14, 16, 17).
 * ../shared/DESIGN.md, one `describe` per case. Network faults go through the socket-level fault proxy
 * in front of a real server (catalogue-setup.ts). Where another file covers the case in more depth,
 * the describe names it (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { type RetryEvent } from '../../src/layers/retry.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { activeTimers, agentBusy, eventually, failure, readBytes, s3ErrorXml, same, within } from './helpers.js';
import { SECRET, agent, data, http, moto, motoOk, rig, s3, s3proxy, targets, useCatalogue } from './catalogue-setup.js';

useCatalogue();

describe('14. 503 SlowDown / 500 / 502 / 429 / RequestTimeout → retry with backoff + full jitter; 403/404/412 final', () => {
  // also: test/reliability/retry.test.ts (jitter formula, Retry-After, budget), test/backends/s3/errors.test.ts (mapping)
  it.skipIf(!motoOk)('S3 error bodies: retryable ones are retried, each once, then the read succeeds', async () => {
    const events: RetryEvent[] = [];
    const xml = { 'content-type': 'application/xml' };
    (s3proxy as FaultProxy).script([
      { match: 'GET', action: 'status', status: 503, headers: { ...xml, 'retry-after': '0' }, body: s3ErrorXml('SlowDown') },
      { match: 'GET', action: 'status', status: 500, headers: xml, body: s3ErrorXml('InternalError') },
      { match: 'GET', action: 'status', status: 502, headers: xml, body: '<html>bad gateway</html>' },
      { match: 'GET', action: 'status', status: 429, headers: { 'retry-after': '0' } },
      { match: 'GET', action: 'status', status: 400, headers: xml, body: s3ErrorXml('RequestTimeout') },
    ]);
    expect(same(await readBytes(s3({}, events), 'o.bin', { offset: 0, length: 10 }), data.subarray(0, 10))).toBe(true);
    expect(events.map((e) => [e.error.kind, e.error.context.code ?? e.error.context.status])).toEqual([
      ['RateLimited', 'SlowDown'],
      ['Unavailable', 'InternalError'],
      ['Unavailable', 502],
      ['RateLimited', 429],
      ['Timeout', 'RequestTimeout'],
    ]);
    expect(events.every((e, i) => e.attempt === i + 1)).toBe(true);
  });

  for (const t of targets()) {
    it(`403, 404 and 412 are final: one request each (${t.name})`, async () => {
      const b = t.backend();
      t.proxy().script([{ match: 'GET', action: 'status', status: 403, body: s3ErrorXml('AccessDenied') }]);
      await failure(b.read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
      await failure(b.read('missing.bin', { offset: 0, length: 1 }), 'NotFound');
      await failure(b.read('o.bin', { offset: 0, length: 1 }, { ifMatch: '"not-the-etag"' }), 'ConditionNotMatch');
      expect(t.proxy().log.map((r) => r.status)).toEqual([403, 404, 412]);
    });
  }
});

describe('16. AbortSignal fired → stop all in-flight requests of that read, AbortError, nothing leaks', () => {
  // also: test/parquet/source.test.ts ("abort rejects with AbortError"), test/reliability/retry.test.ts
  it('BufferReader: four stalled parallel requests end at once; no socket or timer left', async () => {
    const timers = activeTimers();
    rig.proxy.policy = () => ({ action: 'stall', after: 100 });
    const ac = new AbortController();
    const reader = new BufferReader(http(), 'o.bin', { gap: 0, adaptive: false, signal: ac.signal });
    const p = reader.readRanges([0, 30_000, 60_000, 90_000].map((offset) => ({ offset, length: 1000 })));
    await eventually(() => rig.proxy.active === 4);
    ac.abort();
    const err = await within(failure(p, 'Aborted'), 1_000);
    expect(err.name).toBe('AbortError');
    await eventually(() => rig.proxy.active === 0 && agentBusy(agent).running === 0);
    await reader.close();
    expect(activeTimers()).toBeLessThanOrEqual(timers);
  });

  it('RangeReader: abort mid-body', async () => {
    rig.proxy.policy = () => ({ action: 'stall', after: 5000 });
    const ac = new AbortController();
    const reader = new RangeReader(http(), 'o.bin', { signal: ac.signal });
    expect(await reader.read(new Uint8Array(100))).toBeGreaterThan(0);
    const p = (async () => {
      for (;;) await reader.read(new Uint8Array(100_000));
    })();
    setTimeout(() => ac.abort(), 20);
    await within(failure(p, 'Aborted'), 1_000);
    await eventually(() => rig.proxy.active === 0);
    await reader.close();
  });
});

describe('17. 404 → NotFound with backend, path; 403 → PermissionDenied; signature mismatch names the credential source, never the secret', () => {
  // also: test/backends/s3/backend.test.ts (wrong secret on auth-mode moto), test/reliability/security.test.ts
  for (const t of targets()) {
    it(`404 (${t.name})`, async () => {
      const err = await failure(t.backend().stat('no/such.bin'), 'NotFound');
      expect(err.context).toMatchObject({ backend: t.name, path: 'no/such.bin' });
      expect(err.code).toBe('NOT_FOUND');
      expect(err.message).toContain('no/such.bin'); // the message names the path
    });
  }

  it.skipIf(!motoOk)('SignatureDoesNotMatch echoing the string to sign: PermissionDenied naming the source, without secrets', async () => {
    const body = `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIDCATALOGUE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 ${SECRET}</StringToSign><SignatureProvided>deadbeef</SignatureProvided></Error>`;
    (s3proxy as FaultProxy).script([{ match: 'GET', action: 'status', status: 403, body }]);
    const err = await failure(s3().read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    expect([err.code, err.context.credentials]).toEqual(['SIGNATURE_MISMATCH', 'explicit credentials']);
    expect(err.message).toContain('explicit credentials'); // names the credential source
    expect(`${err.message} ${err.stack} ${JSON.stringify(err.context)}`).not.toContain(SECRET);
  });
});
