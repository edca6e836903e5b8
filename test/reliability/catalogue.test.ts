/**
 * The fault and bad-input catalogue of ../shared/DESIGN.md, one `describe` per case (1–25). Network
 * faults go through the socket-level fault proxy in front of a real server (ObjectServer for HTTP,
 * moto for S3). Each case runs real tests here; where another file covers the case in more depth,
 * the describe names it (`also:`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { collectBody } from '../../src/body.js';
import { httpBackend, type HttpBackendOptions } from '../../src/backends/http/backend.js';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { withRetry, type RetryEvent, type RetryOptions } from '../../src/layers/retry.js';
import { readTail } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { randomBytes } from '../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { testingFile } from '../support/parquet-testing.js';
import { activeTimers, agentBusy, eventually, failure, readBytes, s3ErrorXml, same, startRig, within, type Rig } from './helpers.js';

const motoOk = requireMotoInCi('test/reliability/catalogue.test.ts');
const SIZE = 120_000;
const data = randomBytes(SIZE, 31);
const v2 = randomBytes(SIZE, 32);
const BUCKET = 'catalogue';
const SECRET = 'catalogue-secret-key-0123456789';

let rig: Rig;
let agent: Agent;
let moto: MotoServer | undefined;
let s3proxy: FaultProxy | undefined;

beforeAll(async () => {
  rig = await startRig();
  agent = new Agent({ connections: 16 });
  if (motoOk) {
    moto = await startMoto();
    await moto.createBucket(BUCKET);
    s3proxy = await FaultProxy.start(moto.endpoint);
  }
}, 60_000);
afterAll(async () => {
  await agent.close();
  await s3proxy?.stop();
  await moto?.stop();
  await rig.stop();
});
beforeEach(async () => {
  rig.proxy.reset();
  rig.server.fault = undefined;
  rig.server.put('o.bin', data);
  rig.server.put('empty.bin', new Uint8Array(0));
  if (moto && s3proxy) {
    s3proxy.reset();
    await moto.put(BUCKET, 'o.bin', data);
  }
});

const fast: RetryOptions = { baseMs: 1, capMs: 10 };
const rawHttp = (opts: HttpBackendOptions = {}): Backend => httpBackend({ baseUrl: rig.proxy.url, dispatcher: agent, ...opts });
const http = (opts: RetryOptions = {}, events?: RetryEvent[]) =>
  withRetry(rawHttp(), { ...fast, ...(events ? { onRetry: (e) => events.push(e) } : {}), ...opts });
const rawS3 = (): Backend =>
  s3Backend({
    bucket: BUCKET,
    endpoint: (s3proxy as FaultProxy).url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDCATALOGUE', secretAccessKey: SECRET },
    dispatcher: agent,
    env: {},
  });
const s3 = (opts: RetryOptions = {}, events?: RetryEvent[]) =>
  withRetry(rawS3(), { ...fast, ...(events ? { onRetry: (e) => events.push(e) } : {}), ...opts });
const httpWire = () => rig.proxy.log.map((r) => [r.method, r.range ?? null, r.ifMatch ?? null, r.status]);

/** The targets a network case runs on: HTTP always, S3 over moto when it is here (always in CI). */
const targets = () =>
  [
    { name: 'http', backend: http, proxy: () => rig.proxy, swap: async () => void rig.server.put('o.bin', v2) },
    ...(motoOk ? [{ name: 's3', backend: s3, proxy: () => s3proxy as FaultProxy, swap: async () => void (await moto?.put(BUCKET, 'o.bin', v2)) }] : []),
  ] as const;

/** Reads to the end with `n`-byte reads; asserts that no read returns 0 before the end, and one does at it. */
async function drain(reader: RangeReader | BufferReader, size: number, n = 7000): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (;;) {
    const pos = reader.position;
    const got = await reader.read(pos < size ? out.subarray(pos, Math.min(size, pos + n)) : new Uint8Array(1));
    if (got === 0) {
      expect(pos, 'read returned 0 before the end').toBe(size);
      return out;
    }
  }
}

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
    expect(err.message).toContain('longer');
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

describe('4. object replaced between requests → If-Match with the first ETag → 412 → ConditionNotMatch', () => {
  // also: test/buffer-reader/surface.test.ts (memory), test/reliability/retry.test.ts (mid-body)
  for (const t of targets()) {
    it(`BufferReader: the second request carries If-Match and fails; the first version stays readable (${t.name})`, async () => {
      const reader = new BufferReader(t.backend(), 'o.bin', { gap: 0, maxRangeSize: 10_000, readahead: false, adaptive: false });
      expect(same(await reader.readAt(0, 100), data.subarray(0, 100))).toBe(true);
      await t.swap();
      await failure(reader.readAt(100_000, 100), 'ConditionNotMatch');
      expect(same(await reader.readAt(0, 100), data.subarray(0, 100))).toBe(true);
      const [a, b] = t.proxy().log;
      expect([a?.ifMatch, b?.ifMatch, b?.status]).toEqual([undefined, expect.stringMatching(/^".+"$/), 412]);
      await reader.close();
    });

    it(`RangeReader pins the first ETag too (${t.name})`, async () => {
      const reader = new RangeReader(t.backend(), 'o.bin');
      await reader.read(new Uint8Array(10));
      await reader.seek(SeekFrom.start(100_000));
      await t.swap();
      await failure(reader.read(new Uint8Array(10)), 'ConditionNotMatch');
      expect(t.proxy().log.map((r) => [r.ifMatch === undefined, r.status])).toEqual([
        [true, 206],
        [false, 412],
      ]);
      await reader.close();
    });

    it(`mid-body: the resume is refused, no byte of the new version is yielded (${t.name})`, async () => {
      t.proxy().script([{ match: 'GET', action: 'truncate', after: 3000 }, { match: 'GET', before: t.swap, action: 'pass' }]);
      const res = await t.backend().read('o.bin', { offset: 0, length: 20_000 });
      const got: Uint8Array[] = [];
      const err = await failure(
        (async () => {
          for await (const c of res.body) got.push(c);
        })(),
        'ConditionNotMatch',
      );
      expect(err.message).toContain('object changed while reading');
      expect(same(Buffer.concat(got), data.subarray(0, 3000))).toBe(true);
    });
  }
});

describe('5. no ETag / weak W/ ETag → not sent as a precondition; compared client-side where possible', () => {
  // also: test/reliability/retry.test.ts (weak and absent ETags on resume)
  const weak = (tag: () => string) => (h: Map<string, string>) => void h.set('etag', `W/"${tag()}"`);

  it('weak: no If-Match on the wire; a changed weak ETag is ConditionNotMatch (BufferReader and RangeReader)', async () => {
    let version = 'v1';
    rig.proxy.policy = () => ({ action: 'pass', rewrite: weak(() => version) });
    const br = new BufferReader(http(), 'o.bin', { gap: 0, maxRangeSize: 10_000, readahead: false, adaptive: false });
    const rr = new RangeReader(http(), 'o.bin');
    expect(same(await br.readAt(0, 10), data.subarray(0, 10))).toBe(true);
    await rr.read(new Uint8Array(10));
    await rr.seek(SeekFrom.start(90_000));
    expect(same(await br.readAt(50_000, 10), data.subarray(50_000, 50_010))).toBe(true);
    version = 'v2';
    await failure(br.readAt(100_000, 10), 'ConditionNotMatch');
    await failure(rr.read(new Uint8Array(10)), 'ConditionNotMatch');
    expect(rig.proxy.log.every((r) => r.ifMatch === undefined)).toBe(true);
    await br.close();
    await rr.close();
  });

  it('absent: no If-Match, reads are right; readTail sends no precondition either', async () => {
    rig.proxy.policy = () => ({ action: 'pass', rewrite: (h) => void h.delete('etag') });
    const br = new BufferReader(http(), 'o.bin', { gap: 0, maxRangeSize: 10_000, readahead: false, adaptive: false });
    expect(same(await br.readAt(0, 10), data.subarray(0, 10))).toBe(true);
    expect(same(await br.readAt(100_000, 10), data.subarray(100_000, 100_010))).toBe(true);
    const tail = await readTail(http(), 'o.bin', { footerSizeHint: 8 }).catch((e: unknown) => e);
    expect(tail).toBeInstanceOf(ReaderError); // not Parquet: what matters here is the wire
    expect(rig.proxy.log.every((r) => r.ifMatch === undefined)).toBe(true);
    await br.close();
  });
  it('weak: a footer read in two requests compares the halves; a changed weak ETag is ConditionNotMatch, never stitched', async () => {
    const v1 = testingFile('data/alltypes_plain.parquet');
    const changed = v1.slice();
    changed[10] = (changed[10] as number) ^ 0xff; // another version of the same size
    rig.server.put('f.parquet', v1);
    rig.proxy.script([
      { match: 'GET', action: 'pass', rewrite: weak(() => 'v1') },
      { match: 'GET', before: () => void rig.server.put('f.parquet', changed), action: 'pass', rewrite: weak(() => 'v2') },
    ]);
    const err = await failure(readTail(http(), 'f.parquet', { footerSizeHint: 100 }), 'ConditionNotMatch');
    expect(err.message).toContain('W/"v2"');
    expect(rig.proxy.log.map((r) => [r.range, r.ifMatch ?? null])).toEqual([
      ['bytes=-100', null],
      [expect.stringMatching(/^bytes=\d+-\d+$/), null],
    ]);
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
      expect(err.message).toContain('does not cover');
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

describe('8. range end past EOF → clamp; start ≥ size → RangeNotSatisfied', () => {
  // also: test/conformance/suite.ts ("clamps an end past EOF", "rejects a start at or past EOF") on every backend
  for (const t of targets()) {
    it(`backend, BufferReader and RangeReader (${t.name})`, async () => {
      const b = t.backend();
      const res = await b.read('o.bin', { offset: SIZE - 5, length: 100 });
      expect(res.range).toEqual({ offset: SIZE - 5, length: 5 });
      expect(same(await collectBody(res.body), data.subarray(-5))).toBe(true);
      const err = await failure(b.read('o.bin', { offset: SIZE }), 'RangeNotSatisfied');
      expect(err.retryable).toBe(false);
      const br = new BufferReader(b, 'o.bin');
      expect(same(await br.readAt(SIZE - 3, 50), data.subarray(-3))).toBe(true);
      await failure(br.readAt(SIZE, 1), 'RangeNotSatisfied');
      const rr = new RangeReader(b, 'o.bin');
      await rr.seek(SeekFrom.start(SIZE + 10));
      expect(await rr.read(new Uint8Array(4))).toBe(0);
      await br.close();
      await rr.close();
      // RangeNotSatisfied is final: each 416 answered one request, none was repeated
      expect(t.proxy().log.filter((r) => r.status === 416).map((r) => r.range)).toEqual([`bytes=${SIZE}-`, `bytes=${SIZE + 10}-`]);
    });
  }
});

describe('9. zero-byte object → no ranged request when the size is known; S3 answers 416', () => {
  // also: test/range-reader/range-reader.test.ts ("never requests an empty object"), test/buffer-reader/requests.test.ts
  it('a known size of 0 costs no request (BufferReader, RangeReader)', async () => {
    const br = new BufferReader(http(), 'empty.bin', { size: 0 });
    expect(await br.read(new Uint8Array(10))).toBe(0);
    const rr = new RangeReader(http(), 'empty.bin', { size: 0 });
    expect(await rr.read(new Uint8Array(10))).toBe(0);
    expect(rig.proxy.log).toHaveLength(0);
  });

  it('an unknown size: one GET tells (HTTP 416 bytes */0), no HEAD, no retry', async () => {
    const rr = new RangeReader(http(), 'empty.bin');
    expect(await rr.read(new Uint8Array(10))).toBe(0);
    expect(httpWire()).toEqual([['GET', 'bytes=0-', null, 416]]);
  });

  it.skipIf(!motoOk)('S3: one GET (416 with ActualObjectSize), and openParquet says InvalidData', async () => {
    await moto?.put(BUCKET, 'empty.bin', new Uint8Array(0));
    const rr = new RangeReader(s3(), 'empty.bin');
    expect(await rr.read(new Uint8Array(10))).toBe(0);
    expect(s3proxy?.log.map((r) => [r.method, r.status])).toEqual([['GET', 416]]);
    await failure(openParquet(s3(), 'empty.bin', { metadataCache: false }), 'InvalidData');
  });
});

describe('10. suffix unsupported by the backend (capability) → stat + bounded range', () => {
  it('readTail and SeekFrom.end send HEAD and a bounded GET, never bytes=-N', async () => {
    const b = withRetry(rawHttp({ suffix: false }), fast);
    expect(b.capabilities.suffix).toBe(false);
    const file = testingFile('data/alltypes_plain.parquet');
    rig.server.put('t.parquet', file);
    const source = await openParquet(b, 't.parquet', { metadataCache: false });
    expect(source.numRows).toBe(8);
    const rr = new RangeReader(b, 'o.bin');
    await rr.seek(SeekFrom.end(-8));
    await rr.read(new Uint8Array(8));
    expect(rig.proxy.log.map((r) => [r.method, r.range ?? null])).toEqual([
      ['HEAD', null],
      ['GET', `bytes=0-${file.byteLength - 1}`],
      ['HEAD', null],
      ['GET', `bytes=${SIZE - 8}-`],
    ]);
    await source.close();
    await rr.close();
  });
});

describe('11. never send multi-range or inverted ranges', () => {
  it('random reads through every reader put only single, ordered ranges on the wire', async () => {
    let seed = 11;
    const rnd = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff), seed % n);
    rig.proxy.policy = () => (rnd(10) === 0 ? { action: 'truncate', after: rnd(3000) } : undefined);
    const b = http();
    const br = new BufferReader(b, 'o.bin', { maxMemory: 20_000, gap: 500 });
    const rr = new RangeReader(b, 'o.bin');
    for (let i = 0; i < 150; i++) {
      const offset = rnd(SIZE);
      const length = 1 + rnd(6000);
      const want = data.subarray(offset, offset + length);
      if (i % 3 === 0) expect(same((await br.readRanges([{ offset, length }, { offset: rnd(SIZE), length: 1 }]))[0] as Uint8Array, want)).toBe(true);
      else if (i % 3 === 1) expect(same(await br.readAt(offset, length), want)).toBe(true);
      else {
        await rr.seek(SeekFrom.start(offset));
        const buf = new Uint8Array(Math.min(length, SIZE - offset));
        let at = 0;
        while (at < buf.byteLength) at += await rr.read(buf.subarray(at));
        expect(same(buf, want)).toBe(true);
      }
    }
    await br.close();
    await rr.close();
    expect(rig.proxy.log.length).toBeGreaterThan(50);
    for (const r of rig.proxy.log) {
      const m = /^bytes=(?:(\d+)-(\d*)|-(\d+))$/.exec(r.range ?? '');
      expect(m, r.range).not.toBeNull();
      if (m?.[1] !== undefined && m[2]) expect(Number(m[2])).toBeGreaterThanOrEqual(Number(m[1]));
    }
  });

  it('zero-length and negative ranges are InvalidInput before any request', async () => {
    const b = http();
    await failure(b.read('o.bin', { offset: 5, length: 0 }), 'InvalidInput');
    await failure(b.read('o.bin', { offset: -1, length: 3 }), 'InvalidInput');
    await failure(b.read('o.bin', { suffix: 0 }), 'InvalidInput');
    expect(rig.proxy.log).toHaveLength(0);
  });
});

describe('12. seek before 0 → InvalidInput; seek past end allowed, read there returns 0', () => {
  // also: test/range-reader/range-reader.test.ts ("RangeReader edges"), test/buffer-reader/surface.test.ts
  for (const [name, make] of [
    ['RangeReader', (b: Backend) => new RangeReader(b, 'o.bin')],
    ['BufferReader', (b: Backend) => new BufferReader(b, 'o.bin')],
  ] as const) {
    it(name, async () => {
      const reader = make(http());
      await reader.seek(SeekFrom.start(10));
      await failure(reader.seek(SeekFrom.current(-11)), 'InvalidInput');
      await failure(reader.seek(SeekFrom.start(-1)), 'InvalidInput');
      expect(reader.position).toBe(10);
      expect(await reader.seek(SeekFrom.end(100))).toBe(SIZE + 100);
      expect(await reader.read(new Uint8Array(10))).toBe(0);
      await reader.seek(SeekFrom.start(SIZE - 2));
      expect(await reader.read(new Uint8Array(10))).toBe(2);
      expect(await reader.read(new Uint8Array(10))).toBe(0);
      await reader.close();
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
      expect(err.message).toContain('no/such.bin');
    });
  }

  it.skipIf(!motoOk)('SignatureDoesNotMatch echoing the string to sign: PermissionDenied naming the source, without secrets', async () => {
    const body = `<Error><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does not match the signature you provided.</Message><AWSAccessKeyId>AKIDCATALOGUE</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256 ${SECRET}</StringToSign><SignatureProvided>deadbeef</SignatureProvided></Error>`;
    (s3proxy as FaultProxy).script([{ match: 'GET', action: 'status', status: 403, body }]);
    const err = await failure(s3().read('o.bin', { offset: 0, length: 1 }), 'PermissionDenied');
    expect(err.message).toContain('explicit credentials');
    expect(err.message).toContain('SignatureDoesNotMatch');
    expect(`${err.message} ${err.stack} ${JSON.stringify(err.context)}`).not.toContain(SECRET);
  });
});

// 18–21: Parquet footer bad input, over HTTP with the default retries on (openParquet by URL).
// also: test/parquet/footer.test.ts (each case on memory); test/parquet/bad-data.test.ts and
// test/parquet/corpus.test.ts (every file of parquet-testing/bad_data through parquet-wasm and hyparquet).
const good = testingFile('data/alltypes_plain.parquet');
const goodMetadataLength = new DataView(good.buffer, good.byteOffset).getUint32(good.byteLength - 8, true);

async function badFooter(name: string, bytes: Uint8Array, kind: ReaderError['kind'], message: RegExp): Promise<void> {
  rig.server.put(name, bytes);
  const err = await within(failure(openParquet(`${rig.proxy.url}/${name}`, { metadataCache: false }), kind), 1_000);
  expect(err.message).toMatch(message);
  expect(rig.proxy.log).toHaveLength(1);
}

describe('18. Parquet file < 12 bytes → typed error', () => {
  it('InvalidData within 1 s, one GET', () => badFooter('tiny.parquet', new TextEncoder().encode('PAR1PAR1'), 'InvalidData', /12-byte minimum/));
  it('an empty object too', () => badFooter('empty.parquet', new Uint8Array(0), 'InvalidData', /12-byte minimum/));
});

describe('19. trailing magic not PAR1 → typed error; PARE → "encrypted files unsupported"', () => {
  it('not PAR1: InvalidData', () => badFooter('magic.parquet', good.subarray(0, good.byteLength - 1), 'InvalidData', /not "PAR1"/));
  it('PARE: Unsupported', () => badFooter('enc.parquet', testingFile('data/uniform_encryption.parquet.encrypted'), 'Unsupported', /encrypted/));
});

describe('20. metadata length > file size − 8 → typed error, no giant allocation', () => {
  it('InvalidData naming the length', () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(good.byteLength - 8, 0xfffffff0, true);
    return badFooter('length.parquet', bytes, 'InvalidData', /metadata length 4294967280 exceeds the file/);
  });
});

describe('21. corrupt metadata (Thrift) → typed error naming the offset', () => {
  it('InvalidData at the offset of the metadata', () => {
    const bytes = good.slice();
    const start = good.byteLength - 8 - goodMetadataLength;
    bytes.fill(0xff, start, start + 40);
    return badFooter('thrift.parquet', bytes, 'InvalidData', new RegExp(`at offset ${start}`));
  });
});

describe('22. column chunk range outside the file → typed error before any fetch', () => {
  // also: test/parquet/planner.test.ts ("a chunk outside the data region")
  it('a footer whose chunks point past the data region: InvalidData after the tail GET only', async () => {
    const ml = goodMetadataLength;
    const cut = new Uint8Array(4 + ml + 8);
    cut.set(good.subarray(0, 4));
    cut.set(good.subarray(good.byteLength - ml - 8), 4); // data pages gone, footer intact
    rig.server.put('cut.parquet', cut);
    const err = await failure(openParquet(http(), 'cut.parquet', { metadataCache: false }), 'InvalidData');
    expect(err.message).toMatch(/outside the data region/);
    expect(rig.proxy.log).toHaveLength(1);
  });
});

describe('23. decoder asks for bytes outside the plan → served by a direct (counted) fetch, not an error', () => {
  it('a prefetched plan of one column, then a read of another chunk: one more GET, counted', async () => {
    rig.server.put('tiny-pages.parquet', testingFile('data/alltypes_tiny_pages.parquet'));
    const file = testingFile('data/alltypes_tiny_pages.parquet');
    const source = await openParquet(http(), 'tiny-pages.parquet', { metadataCache: false, footerSizeHint: 64 * 1024, reader: { gap: 0 } });
    const [first] = source.columns;
    await source.prefetch(source.plan({ columns: [first as string], rowGroups: [0] }));
    const before = source.stats().requests;
    const getsBefore = rig.proxy.log.length;
    // a chunk of another column, wholly before the tail the open holds
    const other = source.columnChunks.flat().find((c) => c.column !== first && c.offset + c.length <= source.held.offset);
    if (!other) throw new Error('fixture has no chunk outside the plan and the tail');
    expect(same(await source.readAt(other.offset, other.length), file.subarray(other.offset, other.offset + other.length))).toBe(true);
    expect(source.stats().requests).toBe(before + 1);
    expect(rig.proxy.log.length).toBe(getsBefore + 1);
    await source.close();
  });
});

describe('24. budget smaller than one merged range → still correct (split), never over budget by more than one block', () => {
  // also: test/buffer-reader/memory.test.ts ("a budget smaller than one merged range")
  it('over HTTP: 40 ranges that merge into one 100 KB span, under a 10 KB budget', async () => {
    const reader = new BufferReader(http(), 'o.bin', { maxMemory: 10_000, gap: 64 * 1024, adaptive: false, readahead: false });
    const ranges = Array.from({ length: 40 }, (_, i) => ({ offset: i * 2500, length: 1000 }));
    const parts = await reader.readRanges(ranges);
    parts.forEach((p, i) => expect(same(p, data.subarray(i * 2500, i * 2500 + 1000))).toBe(true));
    const seq = await drain(reader, SIZE, 3000);
    expect(same(seq, data)).toBe(true);
    expect(reader.stats().memory.peak).toBeLessThanOrEqual(10_000 + 10_000);
    await reader.close();
  });
});

describe('25. many concurrent readers on one backend → bounded sockets, fair, no deadlock', () => {
  // also: test/reliability/load.test.ts (1,000 readers, the default 64-socket pool, a shared memory budget)
  it('200 readers over a 4-socket pool: every reader finishes with the right bytes, ≤ 4 sockets', async () => {
    const pool = new Agent({ connections: 4 });
    const counting = await FaultProxy.start(rig.server.url); // its own proxy: it sees this pool's connections only
    const b = withRetry(httpBackend({ baseUrl: counting.url, dispatcher: pool }), fast);
    try {
      const done = await within(
        Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const reader = new BufferReader(b, 'o.bin', { maxMemory: 64 * 1024 });
            const offset = (i * 577) % (SIZE - 2000);
            const bytes = await reader.readAt(offset, 2000);
            await reader.close();
            return same(bytes, data.subarray(offset, offset + 2000));
          }),
        ),
        20_000,
      );
      expect(done.every(Boolean)).toBe(true);
      expect(counting.peakOpen).toBeLessThanOrEqual(4);
      expect(counting.log).toHaveLength(200);
    } finally {
      await pool.close();
      await counting.stop();
    }
  });
});
