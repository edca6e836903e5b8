/**
 * Fault catalogue: objects that change and ETags that are weak or absent (cases 4, 5).
 * ../shared/DESIGN.md, one `describe` per case. Network faults go through the socket-level fault proxy
 * in front of a real server (catalogue-setup.ts). Where another file covers the case in more depth,
 * the describe names it (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { readTail } from '../../src/parquet/footer.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { testingFile } from '../support/parquet-testing.js';
import { failure, same } from './helpers.js';
import { data, http, rig, targets, useCatalogue, v2 } from './catalogue-setup.js';

useCatalogue();

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
      expect(err.code).toBe('ETAG_CHANGED');
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
    expect(err.code).toBe('ETAG_CHANGED');
    expect(rig.proxy.log.map((r) => [r.range, r.ifMatch ?? null])).toEqual([
      ['bytes=-100', null],
      [expect.stringMatching(/^bytes=\d+-\d+$/), null],
    ]);
  });
});
