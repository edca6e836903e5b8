/**
 * Fault catalogue, versions and servers that refuse HEAD: case 4 extended to the cached-footer path,
 * and cases 26–31 and 35 (see ../shared/DESIGN.md for 1–25, test/reliability/catalogue.test.ts). Each runs
 * over HTTP (ObjectServer) and S3 (moto), behind the socket-level fault proxy, which also plays the
 * servers that send no ETag (it drops the header and gives each version its own Last-Modified) and
 * those that refuse HEAD. Request lists are asserted on the server side (the proxy's log) and on the
 * client side (withMetrics).
 */
import type { FileHandle } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { RecordBatchReader, tableFromArrays, tableToIPC } from 'apache-arrow';
import { beforeEach, describe, expect, it } from 'vitest';
import { arrowFileHandle } from '../../src/adapters/arrow-ipc.js';
import type { HttpBackendOptions } from '../../src/backends/http/backend.js';
import { forgetHeadRefusals } from '../../src/backends/stat.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { main } from '../../src/cli/main.js';
import { hasErrorCode } from '../../src/errors.js';
import { withMetrics, type MeteredBackend } from '../../src/layers/metrics.js';
import { createMetadataCache, metadataCacheKey } from '../../src/parquet/cache.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';
import { WHOLE_BATCHES_BUDGET_SHARE } from '../../src/parquet/whole.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { allRows, rowMatches, writeFilterFixture } from '../support/filter-fixture.js';
import type { FaultProxy } from '../support/fault-proxy.js';
import { testParquet, testRows } from '../support/parquet-files.js';
import { BUCKET, moto, motoOk, rawHttp, rawS3, rig, s3proxy, useCatalogue } from './catalogue-setup.js';
import { collectBody as collect } from '../../src/body.js';
import { failure, same } from './helpers.js';

const KEY = 'f.parquet';
/** A footer window smaller than the files: data is fetched, not held by the open. */
const WINDOW = 2048;

useCatalogue();
beforeEach(() => forgetHeadRefusals());

type Etags = 'etag' | 'no etag';

/** One storage behind its proxy, with a way to replace the object and to hide its ETag. */
interface Target {
  name: string;
  proxy: () => FaultProxy;
  backend: (opts?: HttpBackendOptions & { head?: boolean }) => MeteredBackend;
  put: (key: string, data: Uint8Array) => Promise<void>;
}

const targets = (): Target[] => [
  { name: 'http', proxy: () => rig.proxy, backend: (opts = {}) => withMetrics(rawHttp(opts)), put: async (key, data) => void rig.server.put(key, data) },
  ...(motoOk
    ? [
        {
          name: 's3',
          proxy: () => s3proxy as FaultProxy,
          backend: (opts: { head?: boolean } = {}) => withMetrics(rawS3(opts.head === undefined ? {} : { head: opts.head })),
          put: async (key: string, data: Uint8Array) => void (await moto?.put(BUCKET, key, data)),
        },
      ]
    : []),
];

/**
 * Serves the objects of `t` without ETags: the proxy drops the header and gives every version its
 * own Last-Modified (`version()` says which), as a server that only knows modification times does.
 */
function hideEtags(t: Target, version: () => number): void {
  t.proxy().policy = () => ({
    action: 'pass',
    rewrite: (h) => {
      h.delete('etag');
      h.set('last-modified', new Date(Date.UTC(2026, 0, 1, 0, 0, version())).toUTCString());
    },
  });
}

const wire = (t: Target) => t.proxy().log.map((r) => `${r.method} ${r.range ?? '-'} ${r.status}${r.ifMatch ? ' if-match' : ''}`);
const listed = (b: MeteredBackend) => b.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? '-'} ${r.status}`);
const fresh = (t: Target) => {
  t.proxy().log.length = 0;
};

/** Two versions of one file: the same size, or not. */
function versions(size: 'same size' | 'larger' | 'smaller'): [Uint8Array, Uint8Array] {
  const rows = { 'same size': [3000, 3000], larger: [3000, 4000], smaller: [4000, 3000] }[size];
  const v1 = testParquet({ rows: rows[0] as number, rowGroupSize: 1000, idBase: 1000 });
  const v2 = testParquet({ rows: rows[1] as number, rowGroupSize: 1000, idBase: 100_000 });
  expect(v1.byteLength === v2.byteLength, 'the two versions are of the size the case says').toBe(size === 'same size');
  return [v1, v2];
}

describe('case 4 (cached footer). A reader that has returned bytes meets a changed object → ConditionNotMatch / ETAG_CHANGED, never bytes of two versions', () => {
  for (const t of targets()) {
    for (const etags of ['etag', 'no etag'] as Etags[]) {
      it(`adapters and the reader of a warm source, and readBatches after a yield (${t.name}, ${etags})`, async () => {
        const [v1, v2] = versions('same size');
        let version = 1;
        if (etags === 'no etag') hideEtags(t, () => version);
        await t.put(KEY, v1);
        const cache = createMetadataCache();
        const backend = t.backend();
        const cold = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
        // A budget whose share is just under the id chunks readBatches still needs after the first
        // one (read below): it then streams row group by row group, so a row group after the first
        // yield is fetched after the change (within the share it would come in the first wave).
        const [first0, ...rest] = cold.columnChunks.map((g) => g.find((c) => c.column === 'id')?.length ?? 0);
        expect(first0).toBe(cold.columnChunks[0]?.[0]?.length);
        const maxMemory = Math.floor(rest.reduce((n, l) => n + l, 0) / WHOLE_BATCHES_BUDGET_SHARE) - 1;
        await cold.close();
        const warm = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW, reader: { readahead: false, maxMemory } });
        expect(warm.openRequests).toBe(0);
        const buffer = warm.toAsyncBuffer();
        const reader = warm.reader;
        const [g0, g1] = warm.columnChunks;
        const a = g0?.[0] as { offset: number; length: number };
        const b = g1?.[0] as { offset: number; length: number };
        // The first data request validates the cached footer: bytes of v1, returned.
        expect(same(new Uint8Array(await buffer.slice(a.offset, a.offset + a.length)), v1.subarray(a.offset, a.offset + a.length))).toBe(true);
        const batches = warm.readBatches({ columns: ['id'] });
        const first = await batches.next();
        expect(first.done ? undefined : first.value.getChild('id')?.get(0)).toBe(1000);
        // Replace the object: whatever already handed out v1 bytes must not hand out v2 bytes.
        await t.put(KEY, v2);
        version = 2;
        fresh(t);
        const errs = [
          await failure(Promise.resolve(buffer.slice(b.offset, b.offset + b.length)), 'ConditionNotMatch'),
          await failure(reader.readAt(b.offset + 1, 10), 'ConditionNotMatch'),
          await failure(batches.next(), 'ConditionNotMatch'),
        ];
        expect(errs.every((e) => hasErrorCode(e, 'ETAG_CHANGED'))).toBe(true);
        // The bytes it had stay readable, and are v1's: never a stitched answer.
        expect(same(await reader.readAt(a.offset, a.length), v1.subarray(a.offset, a.offset + a.length))).toBe(true);
        // Every request that met v2 asked for it with If-Match (ETag) or was answered with v2's Last-Modified.
        const statuses = t.proxy().log.map((r) => r.status);
        expect(statuses.length).toBeGreaterThan(0);
        expect(statuses.every((s) => s === (etags === 'etag' ? 412 : 206))).toBe(true);
        // The contradicted footer left the cache: the next open reads the new tail, once, and works.
        expect(cache.size).toBe(0);
        const next = await warm.reopen();
        expect(next.openRequests).toBe(1);
        expect((await next.readObjects({ rowStart: 0, rowEnd: 2 })).map((r) => r.id)).toEqual([100_000, 100_001]);
        expect(cache.get(metadataCacheKey(backend, KEY))?.size).toBe(v2.byteLength);
        await next.close();
        await warm.close();
      });
    }
  }
});

describe('26–28. The object is replaced between opens → the warm open finds it on its first data request, re-opens once, reads the new version; the cache holds only it', () => {
  const cases = [
    { n: 26, size: 'same size', etags: 'etag' },
    { n: 27, size: 'larger', etags: 'etag' },
    { n: 27, size: 'smaller', etags: 'etag' },
    { n: 28, size: 'same size', etags: 'no etag' },
    { n: 28, size: 'larger', etags: 'no etag' },
    { n: 28, size: 'smaller', etags: 'no etag' },
  ] as const;
  for (const t of targets()) {
    for (const c of cases) {
      it(`${c.n}. ${c.size}, ${c.etags} (${t.name}): readObjects and readTable return the new rows, at most one extra round trip, no call fails`, async () => {
        const [v1, v2] = versions(c.size);
        let version = 1;
        if (c.etags === 'no etag') hideEtags(t, () => version);
        await t.put(KEY, v1);
        const cache = createMetadataCache();
        const backend = t.backend();
        const key = metadataCacheKey(backend, KEY);
        const first = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
        expect(await first.readObjects({ rowStart: 0, rowEnd: 2 })).toEqual(testRows(2, 1000));
        await first.close();
        await t.put(KEY, v2);
        version = 2;
        const rows2 = testRows(c.size === 'larger' ? 4000 : 3000, 100_000);

        // What a cold open of the new version costs: the floor to compare with.
        const cold = t.backend();
        const ref = await openParquet(cold, KEY, { metadataCache: false, footerSizeHint: WINDOW });
        expect(await ref.readObjects()).toEqual(rows2);
        await ref.close();
        const coldTrips = cold.metrics.snapshot().roundTrips;

        fresh(t);
        backend.metrics.reset();
        const warm = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
        expect(warm.openRequests).toBe(0);
        expect(await warm.readObjects()).toEqual(rows2);
        // Server side: the cached footer's data wave (refused by If-Match, or answered by v2 and
        // dropped: 206, or 416 past v2's end), exactly one new tail, then the new version's data.
        const log = wire(t);
        const tailAt = log.indexOf(`GET bytes=-${WINDOW} 206`);
        expect(log.filter((l) => l.startsWith(`GET bytes=-${WINDOW}`))).toHaveLength(1);
        expect(tailAt).toBeGreaterThan(0);
        const stale = c.etags === 'etag' ? / 412 if-match$/ : / (206|416)$/;
        expect(log.slice(0, tailAt).every((l) => stale.test(l)), log.join('\n')).toBe(true);
        expect(log.slice(tailAt + 1).filter((l) => !stale.test(l) || c.etags !== 'etag').every((l) => / 206( if-match)?$/.test(l)), log.join('\n')).toBe(true);
        expect(log.slice(tailAt + 1).some((l) => / 206( if-match)?$/.test(l))).toBe(true);
        expect(listed(backend).sort()).toEqual(t.proxy().log.map((r) => `${r.method} ${r.range} ${r.status}`).sort());
        expect(backend.metrics.snapshot().roundTrips).toBeLessThanOrEqual(coldTrips + 1);
        // The source is bound to the new version; the cache holds exactly that one.
        expect([warm.size, warm.numRows]).toEqual([v2.byteLength, rows2.length]);
        expect(cache.size).toBe(1);
        const entry = cache.get(key);
        expect(entry?.size).toBe(v2.byteLength);
        if (c.etags === 'etag') expect(entry?.etag).toBe(warm.etag);
        else expect([entry?.etag, entry?.lastModified?.getTime()]).toEqual([undefined, Date.UTC(2026, 0, 1, 0, 0, 2)]);
        // readTable on the same source: the new version, no further re-open.
        fresh(t);
        const table = await warm.readTable({ columns: ['id'] });
        expect([table.numRows, table.getChild('id')?.get(0)]).toEqual([rows2.length, 100_000]);
        expect(wire(t).some((l) => l.startsWith(`GET bytes=-${WINDOW}`))).toBe(false);
        await warm.close();
        // The next open trusts the new entry, and its first data request confirms it: no call fails twice.
        fresh(t);
        const again = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
        expect(again.openRequests).toBe(0);
        expect(await again.readObjects({ rowStart: 2999, rowEnd: 3000 })).toEqual(rows2.slice(2999, 3000));
        expect(wire(t).every((l) => / 206( if-match)?$/.test(l))).toBe(true);
        await again.close();
      });
    }

    it(`brr-style whole reads (readWhole) and readBatches before their first batch re-open too; concurrent calls share one re-open (${t.name})`, async () => {
      const [v1, v2] = versions('larger');
      await t.put(KEY, v1);
      const cache = createMetadataCache();
      const backend = t.backend();
      await (await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW })).close();
      await t.put(KEY, v2);
      const warm = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
      fresh(t);
      // Two calls at once on the stale footer: both find the change, one tail GET serves both.
      const [objs, table] = await Promise.all([warm.readObjects({ rowStart: 2990, rowEnd: 3000 }), warm.readTable({ columns: ['word'] })]);
      expect(objs).toEqual(testRows(4000, 100_000).slice(2990, 3000));
      expect(table.numRows).toBe(4000);
      expect(wire(t).filter((l) => l.startsWith(`GET bytes=-${WINDOW}`))).toHaveLength(1);
      await warm.close();
      // readWhole: the plan made inside runs again on the new version (its row groups are v2's).
      await t.put(KEY, v1);
      const w2 = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
      let runs = 0;
      const groups = await w2.readWhole(async (file) => {
        runs++;
        const plan = file.plan();
        await file.prefetch(plan);
        return (await file.readTable({ rowGroups: plan.rowGroups })).numRows;
      });
      expect([groups, runs, w2.numRows]).toEqual([3000, 2, 3000]);
      await w2.close();
      // readBatches: the change is found before anything is yielded, so it re-opens and yields v2.
      await t.put(KEY, v2);
      const w3 = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
      let rows = 0;
      let firstId: unknown;
      for await (const batch of w3.readBatches({ columns: ['id'] })) {
        firstId ??= batch.getChild('id')?.get(0);
        rows += batch.numRows;
      }
      expect([rows, firstId]).toEqual([4000, 100_000]);
      await w3.close();
    });
  }
});

describe('26–28 (filtered reads). The page index and bloom filters are of one version → a filtered read that finds the object replaced re-opens and prunes with the new version\'s, never the old', () => {
  for (const t of targets()) {
    it(`readObjects and readTable with a filter after a replacement return the new version's matching rows (${t.name})`, async () => {
      // The same rows in other row groups (4 of 3,000 rows, then 6 of 2,000): v1's page index and
      // bloom filters point at pages and chunks that v2 does not have where v1 had them.
      const v1 = writeFilterFixture({ bloomFilter: true, rowGroupSize: 3_000 });
      const v2 = writeFilterFixture({ bloomFilter: true, rowGroupSize: 2_000 });
      const filter = { and: [{ column: 'id', gte: 4_000, lt: 4_400 }, { column: 'word', eq: 'delta' }] };
      const want = (await allRows(v2)).filter((r) => rowMatches(r, filter));
      expect(want.length).toBeGreaterThan(0);
      await t.put(KEY, v1);
      const source = await openParquet(t.backend(), KEY, { metadataCache: false, footerSizeHint: WINDOW });
      expect([await source.loadPageIndex(), await source.loadBloomFilters()]).toEqual([true, true]);
      expect([source.pages?.length, source.blooms?.length]).toEqual([4, 4]);
      // v1's indexes prune v1's pages (nothing of the data is fetched yet: the read below asks v1's reader first).
      expect(source.plan({ filter }).rowRanges?.length).toBeGreaterThan(0);

      await t.put(KEY, v2);
      fresh(t);
      expect(await source.readObjects({ filter })).toEqual(want);
      // One re-open (a new tail), and the source now holds v2's layout, without v1's indexes.
      expect(wire(t).filter((l) => l.startsWith(`GET bytes=-${WINDOW}`))).toHaveLength(1);
      expect([source.size, source.rowGroups.length, source.pages, source.blooms]).toEqual([v2.byteLength, 6, undefined, undefined]);
      // Loaded again, they are v2's and prune v2's pages.
      expect([await source.loadPageIndex(), await source.loadBloomFilters()]).toEqual([true, true]);
      expect([source.pages?.length, source.blooms?.length]).toEqual([6, 6]);
      const table = await source.readTable({ filter, columns: ['id'] });
      expect(table.getChild('id')?.toArray()).toEqual(BigInt64Array.from(want.map((r) => r.id as bigint)));
      await source.close();
    }, 60_000);
  }
});

describe('26–28 (brr read). The object is replaced between the open and the read of one `brr read` → it plans and reads again on the new version; nothing of the old is printed', () => {
  it('http: the tail of v1, its data request refused (412), the tail of v2, the data of v2; the output is v2', async () => {
    // Larger than brr's footer window (~786 KiB), so the read needs data requests after the open.
    const v1 = testParquet({ rows: 250_000, rowGroupSize: 50_000, idBase: 1000 });
    const v2 = testParquet({ rows: 270_000, rowGroupSize: 50_000, idBase: 100_000 });
    expect(v1.byteLength).toBeGreaterThan(DEFAULT_FOOTER_WINDOW);
    await rig.server.put(KEY, v1);
    let swapped = false;
    rig.proxy.script([
      { match: { range: /^bytes=-/ }, action: 'pass' },
      {
        match: 'GET',
        before: () => {
          rig.server.put(KEY, v2);
          swapped = true;
        },
        action: 'pass',
      },
    ]);
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let out = '';
    let err = '';
    stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
    stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    const code = await main(['read', `${rig.proxy.url}/${KEY}`, '--columns', 'id', '--format', 'csv'], { stdout, stderr, env: {}, signal: new AbortController().signal });
    expect([code, err, swapped]).toEqual([0, '', true]);
    expect(out.trimEnd().split('\n')).toEqual(['id', ...testRows(270_000, 100_000).map((r) => String(r.id))]);
    const log = wire(targets()[0] as Target);
    expect(log.filter((l) => l.startsWith('GET bytes=-'))).toHaveLength(2);
    expect(log[0]).toMatch(/^GET bytes=-\d+ 206$/);
    expect(log[1]).toMatch(/ 412 if-match$/);
    expect(log[2]).toMatch(/^GET bytes=-\d+ 206$/);
    expect(log.slice(3).every((l) => / 206 if-match$/.test(l))).toBe(true);
  });
});

describe('29. A change fails a call at most once: a reader that met it evicts the footer; the next open reads the new one', () => {
  for (const t of targets()) {
    it(`a BufferReader over a cold source fails with ETAG_CHANGED; then open, reopen and whole reads all work (${t.name})`, async () => {
      const [v1, v2] = versions('same size');
      await t.put(KEY, v1);
      const cache = createMetadataCache();
      const backend = t.backend();
      const src = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW, reader: { readahead: false } });
      const chunk = src.columnChunks[1]?.[0] as { offset: number; length: number };
      await src.readAt(8, 4); // bytes handed out
      await t.put(KEY, v2);
      const err = await failure(src.readAt(chunk.offset, chunk.length), 'ConditionNotMatch');
      expect(err.code).toBe('ETAG_CHANGED');
      expect(cache.size).toBe(0); // no later open trusts the footer that failed
      const failures: unknown[] = [];
      for (let i = 0; i < 3; i++) {
        const s = await openParquet(backend, KEY, { metadataCache: cache, footerSizeHint: WINDOW });
        await s.readObjects({ rowStart: 0, rowEnd: 1 }).then(
          (r) => expect(r).toEqual(testRows(1, 100_000)),
          (e: unknown) => failures.push(e),
        );
        expect(s.openRequests).toBe(i === 0 ? 1 : 0);
        await s.close();
      }
      expect(failures).toEqual([]);
      await src.close();
    });
  }
});

describe('30. HEAD refused (403 presigned-style, 405, 501) or head: false → stat by GET bytes=0-0, once per origin; size(), SeekFrom.end, arrowFileHandle, openParquet work', () => {
  const arrow = tableToIPC(tableFromArrays({ n: Int32Array.from({ length: 5000 }, (_, i) => i) }), 'file');
  for (const t of targets()) {
    it(`HEAD answers 403 (${t.name}): the request list shows GET bytes=0-0 once, then reads`, async () => {
      const [v1] = versions('same size');
      await t.put(KEY, v1);
      await t.put('a.arrow', arrow);
      t.proxy().script([{ match: 'HEAD', action: 'status', status: 403, times: 100 }]);
      const backend = t.backend();
      const br = new BufferReader(backend, KEY, { readahead: false });
      expect(await br.size()).toBe(v1.byteLength);
      const rr = new RangeReader(backend, KEY);
      expect(await rr.seek(SeekFrom.end(-4))).toBe(v1.byteLength - 4);
      const tail = new Uint8Array(4);
      expect(await rr.read(tail)).toBe(4);
      expect(Buffer.from(tail).toString()).toBe('PAR1');
      const handle = arrowFileHandle(new BufferReader(backend, 'a.arrow'));
      const batches = await RecordBatchReader.from(handle as unknown as FileHandle);
      await batches.open();
      let n = 0;
      for await (const b of batches) n += b.numRows;
      expect([batches.isFile(), n]).toEqual([true, 5000]);
      const source = await openParquet(backend, KEY, { metadataCache: false, footerSizeHint: WINDOW });
      expect(await source.readObjects({ rowStart: 0, rowEnd: 1 })).toEqual(testRows(1, 1000));
      // Server side: HEAD refused once for the origin; each reader that needs a size sends one
      // GET bytes=0-0 (the BufferReader, the RangeReader's SeekFrom.end, arrow's stat), then reads.
      // openParquet needs no size: its suffix GET tells it.
      const log = wire(t);
      // The size's ETag pins the version: the reads after it carry If-Match.
      expect(log.slice(0, 4)).toEqual(['HEAD - 403', 'GET bytes=0-0 206', 'GET bytes=0-0 206', `GET bytes=${v1.byteLength - 4}- 206 if-match`]);
      expect(log[4]).toBe('GET bytes=0-0 206'); // arrow's stat
      expect(log.filter((l) => l.startsWith('HEAD'))).toHaveLength(1);
      expect(log.filter((l) => l.startsWith('GET bytes=0-0'))).toHaveLength(3);
      expect(log.slice(5).every((l) => l.startsWith('GET') && !l.startsWith('GET bytes=0-0') && / 206( if-match)?$/.test(l))).toBe(true);
      expect(log.slice(5).some((l) => l === `GET bytes=-${WINDOW} 206`)).toBe(true);
      // Client side: the metrics list is the same list.
      expect(listed(backend)).toEqual(t.proxy().log.map((r) => `${r.method} ${r.range ?? '-'} ${r.status}`));
      await Promise.all([br.close(), rr.close(), handle.close(), source.close()]);
    });

    it(`head: false never sends HEAD; 405 and 501 fall back like 403; a 404 HEAD is NotFound without a GET (${t.name})`, async () => {
      const [v1] = versions('same size');
      await t.put(KEY, v1);
      const noHead = t.backend({ head: false });
      expect((await noHead.stat(KEY)).size).toBe(v1.byteLength);
      expect(wire(t)).toEqual(['GET bytes=0-0 206']);
      for (const status of [405, 501]) {
        forgetHeadRefusals();
        fresh(t);
        t.proxy().script([{ match: 'HEAD', action: 'status', status }]);
        const meta = await t.backend().stat(KEY);
        expect([meta.size, meta.via?.map((w) => `${w.method} ${w.status}`)]).toEqual([v1.byteLength, [`HEAD ${status}`, 'GET 206']]);
        expect(wire(t)).toEqual([`HEAD - ${status}`, 'GET bytes=0-0 206']);
      }
      forgetHeadRefusals();
      fresh(t);
      await failure(t.backend().stat('missing.parquet'), 'NotFound');
      expect(wire(t)).toEqual(['HEAD - 404']);
    });
  }
});

describe('31. HEAD-less stat of an empty object (416) and of a server that ignores Range (200)', () => {
  for (const t of targets()) {
    it(`an empty object: 416 says size 0 (Content-Range bytes */0, or S3's ActualObjectSize) (${t.name})`, async () => {
      await t.put('empty.bin', new Uint8Array(0));
      const backend = t.backend({ head: false });
      const reader = new BufferReader(backend, 'empty.bin');
      expect(await reader.size()).toBe(0);
      expect(await reader.read(new Uint8Array(10))).toBe(0);
      expect(wire(t)).toEqual(['GET bytes=0-0 416']);
      await reader.close();
    });

    it(`Range ignored: the 200's Content-Length is the size; Range cut wrong: Unexpected BAD_CONTENT_RANGE (${t.name})`, async () => {
      const [v1] = versions('same size');
      await t.put(KEY, v1);
      t.proxy().script([{ match: 'GET', action: 'ignore-range' }]);
      expect((await t.backend({ head: false }).stat(KEY)).size).toBe(v1.byteLength);
      expect(wire(t)).toEqual(['GET bytes=0-0 200']); // the proxy stripped the Range it logs
      t.proxy().script([{ match: 'GET', action: 'content-range', value: 'bytes 0-0/*' }]);
      const err = await failure(t.backend({ head: false }).stat(KEY), 'Unexpected');
      expect(err.code).toBe('BAD_CONTENT_RANGE');
    });
  }
});

/** Serves `t`'s ranged GETs with a Content-Range that gives no total (`bytes a-b/*`), as some servers do. */
function hideTotals(t: Target, also?: (h: Map<string, string>) => void): void {
  t.proxy().policy = () => ({
    action: 'pass',
    rewrite: (h) => {
      const cr = h.get('content-range');
      if (cr !== undefined) h.set('content-range', cr.replace(/\/\d+$/, '/*'));
      also?.(h);
    },
  });
}

describe('35. Content-Range without a total (`bytes a-b/*`) → one stat per object and version, not a HEAD per GET; a replaced object is sized by its own stat', () => {
  const data = new Uint8Array(200_000).map((_, i) => (i * 7 + (i >> 8)) & 0xff);
  const ranges = [
    { offset: 0, length: 100 },
    { offset: 50_000, length: 1000 },
    { offset: 150_000, length: 10 },
    { offset: 199_990, length: 100 }, // past the end: clamped by the remembered size
  ];
  for (const t of targets()) {
    it(`GETs of one version: one HEAD for the first, none after; every range right (${t.name})`, async () => {
      await t.put(KEY, data);
      hideTotals(t);
      const backend = t.backend();
      for (const r of ranges) {
        const res = await backend.read(KEY, r);
        expect(res.meta.size).toBe(data.byteLength);
        expect(res.range).toEqual({ offset: r.offset, length: Math.min(r.length, data.byteLength - r.offset) });
        expect(same(await collect(res.body), data.subarray(r.offset, r.offset + r.length))).toBe(true);
      }
      // The HEAD is pinned to the GET's version (If-Match).
      expect(wire(t)).toEqual(['GET bytes=0-99 206', 'HEAD - 200 if-match', 'GET bytes=50000-50999 206', 'GET bytes=150000-150009 206', 'GET bytes=199990-200089 206']);
      // GETs asked together wait for one stat.
      fresh(t);
      const other = t.backend();
      const all = await Promise.all(ranges.map((r) => other.read(KEY, r)));
      for (const res of all) await collect(res.body);
      expect(wire(t).filter((w) => w.startsWith('HEAD'))).toEqual(['HEAD - 200 if-match']);
      // A reader over it: its reads after the first cost no HEAD.
      fresh(t);
      const reader = new BufferReader(t.backend(), KEY, { readahead: false });
      for (const r of ranges) expect(same(await reader.readAt(r.offset, r.length), data.subarray(r.offset, r.offset + r.length))).toBe(true);
      expect(wire(t).filter((w) => w.startsWith('HEAD'))).toEqual(['HEAD - 200 if-match']);
      await reader.close();
    });

    it(`a replaced object: its new ETag asks a new stat (the new size); replaced between GET and HEAD: ETAG_CHANGED (${t.name})`, async () => {
      const v2 = data.subarray(0, 120_000).map((b) => b ^ 0x5a);
      await t.put(KEY, data);
      hideTotals(t);
      const backend = t.backend();
      await collect((await backend.read(KEY, { offset: 0, length: 10 })).body);
      await t.put(KEY, v2);
      fresh(t);
      const res = await backend.read(KEY, { offset: 119_995, length: 100 });
      expect(res.meta.size).toBe(v2.byteLength);
      expect(res.range).toEqual({ offset: 119_995, length: 5 });
      expect(same(await collect(res.body), v2.subarray(119_995))).toBe(true);
      expect(wire(t)).toEqual(['GET bytes=119995-120094 206', 'HEAD - 200 if-match']);
      // The object changes after the GET's response, before the HEAD that sizes it: the pinned HEAD is refused.
      fresh(t);
      t.proxy().script([{ match: 'HEAD', action: 'pass', before: () => t.put(KEY, data) }]);
      const err = await failure(t.backend().read(KEY, { offset: 0, length: 10 }), 'ConditionNotMatch');
      expect([err.code, err.context.op, err.context.range, err.context.status]).toEqual(['ETAG_CHANGED', 'read', { offset: 0, length: 10 }, 412]);
      expect(wire(t)).toEqual(['GET bytes=0-9 206', 'HEAD - 412 if-match']);
    });

    it(`replaced between GET and HEAD where If-Match cannot tell: weak ETags differ, or a server ignoring If-Match on HEAD sends no ETag and a size short of the bytes got → ETAG_CHANGED (${t.name})`, async () => {
      const v2 = data.subarray(0, 120_000).map((b) => b ^ 0x5a);
      await t.put(KEY, data);
      // Weak ETags: compared weakly, W/"x" and W/"y" are two versions.
      const weaken = (h: Map<string, string>): void => {
        const e = h.get('etag');
        if (e !== undefined) h.set('etag', `W/${e}`);
      };
      hideTotals(t, weaken);
      t.proxy().script([{ match: 'HEAD', action: 'pass', before: () => t.put(KEY, v2), rewrite: weaken }]);
      const weak = await failure(t.backend().read(KEY, { offset: 0, length: 10 }), 'ConditionNotMatch');
      expect([weak.code, weak.message]).toEqual(['ETAG_CHANGED', expect.stringContaining('the stat found W/')]);
      expect(wire(t)).toEqual(['GET bytes=0-9 206', 'HEAD - 200']); // a weak ETag pins nothing
      // A server that ignores If-Match on HEAD (played by the proxy), whose object was replaced by a
      // shorter one, sends no ETag: its size ends before the bytes the GET got.
      await t.put(KEY, data);
      fresh(t);
      hideTotals(t);
      t.proxy().script([{ match: 'HEAD', action: 'pass', rewrite: (h) => (h.delete('etag'), h.set('content-length', String(v2.byteLength))) }]);
      const short = await failure(t.backend().read(KEY, { offset: 150_000, length: 10 }, { signal: new AbortController().signal }), 'ConditionNotMatch');
      expect([short.code, short.message, short.context.range]).toEqual(['ETAG_CHANGED', expect.stringContaining('fewer than the GET got'), { offset: 150_000, length: 10 }]);
      expect(wire(t)).toEqual(['GET bytes=150000-150009 206', 'HEAD - 200 if-match']);
    });

    it(`no ETag: nothing ties a response to a stat, so each GET asks (${t.name})`, async () => {
      await t.put(KEY, data);
      hideTotals(t, (h) => h.delete('etag'));
      const backend = t.backend();
      for (const r of ranges.slice(0, 2)) expect(same(await collect((await backend.read(KEY, r)).body), data.subarray(r.offset, r.offset + r.length))).toBe(true);
      expect(wire(t)).toEqual(['GET bytes=0-99 206', 'HEAD - 200', 'GET bytes=50000-50999 206', 'HEAD - 200']);
    });
  }
});
