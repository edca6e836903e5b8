/**
 * Fault catalogue: ranges at and past the edges: EOF, empty objects, no suffix, no multi-range, seeks
 * (cases 8–12). ../shared/DESIGN.md, one `describe` per case. Network faults go through the socket-
 * level fault proxy in front of a real server (catalogue-setup.ts). Where another file covers the case
 * in more depth, the describe names it (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { collectBody } from '../../src/body.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { withRetry } from '../../src/layers/retry.js';
import { readTail } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { testingFile } from '../support/parquet-testing.js';
import { failure, same } from './helpers.js';
import { BUCKET, SIZE, data, fast, http, httpWire, moto, motoOk, rawHttp, rig, s3, s3proxy, targets, useCatalogue } from './catalogue-setup.js';

useCatalogue();

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
