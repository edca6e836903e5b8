/**
 * Fault catalogue: bodies that end short, run long, reset, stall, or come as 200 or a wider 206 (cases
 * 1–3, 6, 7, 13, 15). ../shared/DESIGN.md, one `describe` per case. Network faults go through the
 * socket-level fault proxy in front of a real server (catalogue-setup.ts). Where another file covers
 * the case in more depth, the describe names it (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { collectBody } from '../../src/body.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { withRetry } from '../../src/layers/retry.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { failure, readBytes, same, within } from './helpers.js';
import { SIZE, data, drain, http, rawHttp, rig, targets, useCatalogue } from './catalogue-setup.js';

useCatalogue();

describe('1. body shorter than Content-Length → retryable error, resume from the last byte received', () => {
  // also: test/backends/http/faults.test.ts (short body), test/reliability/retry.test.ts
  it('without retries: Interrupted (retryable), never a short result', async () => {
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 1000 }]);
    const res = await rawHttp().read('o.bin', { offset: 0, length: 50_000 });
    const err = await failure(collectBody(res.body), 'Interrupted');
    expect(err.retryable).toBe(true);
  });

  for (const t of targets()) {
    it(`withRetry resumes at the next byte with If-Match (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'truncate', after: 1000 }]);
      const res = await t.backend().read('o.bin', { offset: 10, length: 50_000 });
      expect(same(await collectBody(res.body), data.subarray(10, 50_010))).toBe(true);
      expect(t.proxy().log.map((r) => [r.range, r.ifMatch ?? null])).toEqual([
        ['bytes=10-50009', null],
        ['bytes=1010-50009', res.meta.etag],
      ]);
    });
  }
});

describe('2. body longer than requested → error', () => {
  // also: test/backends/http/faults.test.ts (long body), test/reliability/retry.test.ts
  it('a chunked 206 running past its Content-Range is Unexpected, not retried', async () => {
    rig.server.fault = 'long-body';
    const res = await http().read('o.bin', { offset: 0, length: 100 });
    const err = await failure(collectBody(res.body), 'Unexpected');
    expect(err.code).toBe('LONG_BODY');
    expect(rig.proxy.log).toHaveLength(1);
  });

  for (const t of targets()) {
    it(`a Content-Length other than the Content-Range's is Unexpected, not retried (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'content-length', delta: 10 }]);
      await failure(t.backend().read('o.bin', { offset: 0, length: 100 }), 'Unexpected');
      expect(t.proxy().log).toHaveLength(1);
    });
  }
});

describe('3. connection reset mid-body → resume with Range: bytes=<next>-…, within a retry budget', () => {
  for (const t of targets()) {
    it(`resumes after a reset from the next byte received (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'reset', after: 20_000 }]);
      const bytes = await readBytes(t.backend(), 'o.bin', { offset: 0, length: 60_000 });
      expect(same(bytes, data.subarray(0, 60_000))).toBe(true);
      const [first, second] = t.proxy().log;
      expect(first?.action).toBe('reset');
      const resumedAt = Number(/^bytes=(\d+)-59999$/.exec(second?.range ?? '')?.[1]);
      expect(resumedAt).toBeGreaterThan(0);
      expect(resumedAt).toBeLessThanOrEqual(20_000);
      expect(second?.ifMatch).toBeDefined();
    });
  }

  it('gives up with Interrupted once the budget is used', async () => {
    rig.proxy.script([{ match: 'GET', action: 'reset', after: 100, times: 20 }]);
    const res = await http({ maxAttempts: 3 }).read('o.bin', { offset: 0, length: 50_000 });
    await failure(collectBody(res.body), 'Interrupted');
    expect(rig.proxy.log).toHaveLength(3);
  });
});

describe('6. ranged request answered 200 with the whole body → cut the window out, never assume 206', () => {
  // also: test/backends/http/faults.test.ts (ignore-range)
  for (const t of targets()) {
    it(`reads the right window from 200 answers, at the start, the middle and by suffix (${t.name})`, async () => {
      t.proxy().policy = () => ({ action: 'ignore-range' });
      const b = t.backend();
      for (const [range, want] of [
        [{ offset: 0, length: 100 }, data.subarray(0, 100)],
        [{ offset: 70_000, length: 5000 }, data.subarray(70_000, 75_000)],
        [{ suffix: 16 }, data.subarray(-16)],
      ] as const) {
        const res = await b.read('o.bin', range);
        expect(res.status).toBe(200);
        expect(same(await collectBody(res.body), want)).toBe(true);
      }
    });
  }

  it('a 200 answer cut short is resumed like a 206', async () => {
    rig.server.fault = 'ignore-range';
    rig.proxy.script([{ match: 'GET', action: 'truncate', after: 5000 }]);
    const bytes = await readBytes(http(), 'o.bin', { offset: 1000, length: 30_000 });
    expect(same(bytes, data.subarray(1000, 31_000))).toBe(true);
  });
});

describe('7. 206 with a Content-Range other than asked → error, or skip leading bytes of a superset', () => {
  // also: test/backends/http/faults.test.ts
  for (const t of targets()) {
    it(`a shifted Content-Range is Unexpected and not retried (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'content-range', value: (v) => (v ?? '').replace(/bytes (\d+)-(\d+)/, (_, a, b) => `bytes ${+a + 1}-${+b + 1}`) }]);
      const err = await failure(t.backend().read('o.bin', { offset: 100, length: 10 }), 'Unexpected');
      expect(err.code).toBe('BAD_CONTENT_RANGE');
      expect(t.proxy().log).toHaveLength(1);
    });

    it(`a superset (the server sent from byte 0) is trimmed to the bytes asked (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'widen-range', from: 0 }]);
      const res = await t.backend().read('o.bin', { offset: 40_000, length: 100 });
      expect(res.range).toEqual({ offset: 40_000, length: 100 });
      expect(same(await collectBody(res.body), data.subarray(40_000, 40_100))).toBe(true);
      expect(t.proxy().log[0]?.bytes).toBe(40_100);
    });
  }
});

describe('13. read returning 0 before EOF is forbidden: short reads are fine, 0 means EOF', () => {
  it('through random truncations without retries: errors, or short reads, never an early 0', async () => {
    let n = 0;
    rig.proxy.policy = () => (n++ % 2 === 0 ? { action: 'truncate', after: 5000 + (n % 7) * 1000 } : undefined);
    for (const reader of [new RangeReader(rawHttp(), 'o.bin'), new BufferReader(rawHttp(), 'o.bin', { maxRangeSize: 20_000 })]) {
      const out = new Uint8Array(SIZE);
      let errors = 0;
      for (;;) {
        let got: number;
        try {
          got = await reader.read(out.subarray(reader.position, Math.min(SIZE, reader.position + 9000)));
        } catch (err) {
          expect(err).toBeInstanceOf(ReaderError);
          expect((err as ReaderError).retryable).toBe(true);
          errors++;
          continue;
        }
        if (got === 0) break;
      }
      expect(reader.position).toBe(SIZE);
      expect(same(out, data)).toBe(true);
      expect(errors).toBeGreaterThan(0);
      await reader.close();
    }
  });

  it('with withRetry the same faults never reach the reader', async () => {
    let n = 0;
    rig.proxy.policy = () => (n++ % 2 === 0 ? { action: 'truncate', after: 5000 } : undefined);
    const out = await drain(new RangeReader(http(), 'o.bin'), SIZE);
    expect(same(out, data)).toBe(true);
  });
});

describe('15. stalled body (no bytes for N s) → timeout, abort, retry', () => {
  // also: test/reliability/retry.test.ts (stall before the headers, the deadline)
  for (const t of targets()) {
    it(`a body that stops is aborted after stallMs and resumed (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'stall', after: 8000 }]);
      const b = t.backend({ stallMs: 400 });
      const bytes = await within(readBytes(b, 'o.bin', { offset: 0, length: 40_000 }));
      expect(same(bytes, data.subarray(0, 40_000))).toBe(true);
      expect(t.proxy().log.map((r) => [r.range, r.action])).toEqual([
        ['bytes=0-39999', 'stall'],
        ['bytes=8000-39999', 'pass'],
      ]);
      expect(b.retryCounters().stalls).toBe(1);
    });
  }

  it('a BufferReader whose parallel requests include a stalled one still answers right', async () => {
    rig.proxy.script([{ match: { range: /^bytes=60000-/ }, action: 'stall', after: 10 }]);
    const reader = new BufferReader(http({ stallMs: 400 }), 'o.bin', { gap: 0, adaptive: false });
    const parts = await within(reader.readRanges([0, 30_000, 60_000, 90_000].map((offset) => ({ offset, length: 1000 }))));
    parts.forEach((p, i) => expect(same(p, data.subarray(i * 30_000, i * 30_000 + 1000))).toBe(true));
    await reader.close();
  });
});

describe('35. a server that ignores Range: the metrics count the bytes that crossed the wire, and say so', () => {
  // also: test/cli/cli.test.ts ("--stats says when the server ignored Range")
  it('withMetrics and BufferReader.stats(): wire bytes apart from delivered bytes, the ignored range counted', async () => {
    rig.server.fault = 'ignore-range'; // the real server answers every ranged GET with 200 and the whole object
    const metered = withMetrics(rawHttp());
    const reader = new BufferReader(metered, 'o.bin', { gap: 0, readahead: false, adaptive: false });
    expect(same(await reader.readAt(50_000, 1000), data.subarray(50_000, 51_000))).toBe(true);
    const snap = metered.metrics.snapshot();
    const [rec] = snap.requests;
    expect([rec?.rangeHeader, rec?.status, rec?.rangeIgnored, rec?.delivered]).toEqual(['bytes=50000-50999', 200, true, 1000]);
    // the body came from byte 0: everything up to byte 50,999 crossed the wire (a chunk boundary may add some)
    expect(rec?.bytes).toBeGreaterThanOrEqual(51_000);
    expect(rec?.bytes).toBeLessThanOrEqual(SIZE);
    expect(snap).toMatchObject({ gets: 1, rangesIgnored: 1, bytesDelivered: 1000, bytesReceived: rec?.bytes });
    expect(reader.stats()).toMatchObject({ requests: 1, rangesIgnored: 1, bytesFetched: 1000, bytesReceived: rec?.bytes });
    await reader.close();
  });

  it('a 206, and a 200 to a request for the whole object, are not an ignored range', async () => {
    const metered = withMetrics(rawHttp());
    await readBytes(metered, 'o.bin', { offset: 50_000, length: 1000 });
    rig.server.fault = 'ignore-range';
    await readBytes(metered, 'o.bin', { offset: 0 });
    const snap = metered.metrics.snapshot();
    expect(snap.requests.map((r) => [r.status, r.rangeIgnored ?? false, r.bytes, r.delivered])).toEqual([
      [206, false, 1000, 1000],
      [200, false, SIZE, SIZE],
    ]);
    expect(snap).toMatchObject({ rangesIgnored: 0, bytesReceived: 1000 + SIZE, bytesDelivered: 1000 + SIZE });
  });
});
