/**
 * `readBatches()` of the whole file after a plain open: the bytes the open does not hold in one wave
 * (when they fit the budget share), not one wave per row group. Exact request lists over the local
 * HTTP object server; batches compared with parquet-wasm decoding the same bytes in memory.
 */
import { tableFromIPC, type RecordBatch } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { isReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';
import { WHOLE_BATCHES_BUDGET_SHARE, isWholeRead } from '../../src/parquet/whole.js';

let server: ObjectServer;
let seedPlus: Uint8Array;

beforeAll(async () => {
  seedPlus = await fixture(FIXTURES.seedPlus); // ~1.1 MB, 75 row groups: over the tail window
  server = await new ObjectServer({ ttfbMs: 5 }).start();
  server.put('seedPlus', seedPlus);
}, 120_000);
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, list, roundTrips: () => backend.metrics.snapshot().roundTrips };
}

async function ids(batches: AsyncIterable<RecordBatch>): Promise<bigint[]> {
  const out: bigint[] = [];
  for await (const b of batches) out.push(...(b.getChild('id') ?? []));
  return out;
}

const allIds = () => [...(tableFromIPC(readParquet(seedPlus).intoIPCStream()).getChild('id') ?? [])] as bigint[];

describe('isWholeRead', () => {
  it('is true only without columns, row groups and filter', () => {
    expect(isWholeRead({})).toBe(true);
    expect(isWholeRead({ columns: ['a'] })).toBe(false);
    expect(isWholeRead({ rowGroups: [0] })).toBe(false);
    expect(isWholeRead({ filter: { column: 'a', eq: 1 } })).toBe(false);
  });
});

describe('readBatches() of the whole file after a plain open', () => {
  it('one wave for what the open does not hold: 2 GETs, 2 round trips (not one per row group), every row', async () => {
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
    expect(await ids(source.readBatches())).toEqual(allIds());
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, `GET bytes=0-${seedPlus.byteLength - DEFAULT_FOOTER_WINDOW - 1}`]);
    expect(roundTrips()).toBe(2);
    await source.close();
  });

  it('a rest beyond the budget share still streams row group by row group', async () => {
    const budget = Math.floor((seedPlus.byteLength - DEFAULT_FOOTER_WINDOW) / WHOLE_BATCHES_BUDGET_SHARE) - 1; // the rest just over its share
    const { backend, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false, reader: { maxMemory: budget } });
    const held = source.rowGroups.filter((g) => (source.columnChunks[g.index]?.[0]?.offset ?? 0) >= source.held.offset).length;
    expect(await ids(source.readBatches())).toEqual(allIds());
    // The open, then one wave per row group the tail window does not hold.
    expect(roundTrips()).toBe(1 + source.rowGroups.length - held);
    await source.close();
  });
});

describe('readBatches() of a projection after a plain open', () => {
  /** The `id` chunks of `rowGroups` the open's tail window does not hold, in file order. */
  const missingIds = (source: Awaited<ReturnType<typeof openParquet>>, rowGroups?: number[]) =>
    source.columnChunks
      .flat()
      .filter((c) => c.column === 'id' && (!rowGroups || rowGroups.includes(c.rowGroup)) && c.offset + c.length <= source.held.offset)
      .map((c) => ({ offset: c.offset, length: c.length }));

  it('one wave for the selected chunks the open does not hold (merged across their gaps), every row', async () => {
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
    const missing = missingIds(source);
    expect(missing.length).toBe(25); // 75 row groups, 50 of whose id chunks the tail window holds
    expect(await ids(source.readBatches({ columns: ['id'] }))).toEqual(allIds());
    // The open, then one GET from the first missing id chunk to the end of the last (the gaps
    // between them are under the merge gap): not 25 round trips, one per row group.
    const first = missing[0] as { offset: number };
    const last = missing.at(-1) as { offset: number; length: number };
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, `GET bytes=${first.offset}-${last.offset + last.length - 1}`]);
    expect(roundTrips()).toBe(2);
    // What went out is the selection's plan, as `plan()` shows it.
    const plan = source.plan({ columns: ['id'], pageIndex: true });
    expect(plan.ranges.map((r) => ({ offset: r.offset, length: r.length }))).toEqual(missing);
    expect(plan.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)).toEqual(list().slice(1));
    await source.close();
  });

  it('row groups and columns: one wave for those chunks only, the batches of those row groups', async () => {
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
    const rowGroups = [1, 7, 30]; // the tail window holds row group 30's
    const missing = missingIds(source, rowGroups);
    expect(missing.length).toBe(2);
    const rows = await ids(source.readBatches({ columns: ['id'], rowGroups }));
    const starts = source.rowGroups.map((_, g) => source.rowGroups.slice(0, g).reduce((n, x) => n + x.numRows, 0));
    expect(rows).toEqual(rowGroups.flatMap((g) => allIds().slice(starts[g], (starts[g] as number) + (source.rowGroups[g]?.numRows ?? 0))));
    // Two chunks 80 KB apart: two GETs of one wave (the planner does not merge across that gap).
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...missing.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    expect(roundTrips()).toBe(2);
    await source.close();
  });

  it('a projection beyond the budget share streams row group by row group', async () => {
    const probe = await openParquet(httpBackend({ baseUrl: server.url }), 'seedPlus', { metadataCache: false });
    const share = probe.plan({ columns: ['id'], pageIndex: true }).bytesToFetch;
    await probe.close();
    const { backend, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false, reader: { maxMemory: Math.floor(share / WHOLE_BATCHES_BUDGET_SHARE) - 1 } });
    const held = source.rowGroups.filter((g) => (source.columnChunks[g.index]?.[0]?.offset ?? 0) >= source.held.offset).length;
    expect(await ids(source.readBatches({ columns: ['id'] }))).toEqual(allIds());
    expect(roundTrips()).toBe(1 + source.rowGroups.length - held);
    await source.close();
  });
});

describe('readBatches() waits', () => {
  it('an abort while the wave is in flight rejects the first batch with AbortError at once, not when the wave ends', async () => {
    const slow = await new ObjectServer({ ttfbMs: 1500 }).start();
    try {
      slow.put('seedPlus', seedPlus);
      const backend = withMetrics(httpBackend({ baseUrl: slow.url }));
      const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
      const controller = new AbortController();
      const first = source.readBatches({ signal: controller.signal }).next();
      // Wait on the request itself: the wave's GET has started and not yet answered.
      while (backend.metrics.snapshot().requests.length < 2) await new Promise((r) => setTimeout(r, 5));
      controller.abort();
      const err = await first.catch((e: unknown) => e);
      expect(isReaderError(err, 'Aborted')).toBe(true);
      expect(backend.metrics.snapshot().requests[1]?.open).toBe(true);
      await source.close();
    } finally {
      await slow.stop();
    }
  }, 30_000);
});

describe('readBatches({ filter }) after a plain open', () => {
  /** The first row of each row group, and the id there (seedPlus's ids are its row numbers' order). */
  const rowStarts = (source: Awaited<ReturnType<typeof openParquet>>) => source.rowGroups.map((_, g) => source.rowGroups.slice(0, g).reduce((n, x) => n + x.numRows, 0));

  it('one wave for the row groups the filter keeps (not one per row group), exactly the matching rows', async () => {
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
    const all = allIds();
    const starts = rowStarts(source);
    // Rows of row groups 2–5 (none held by the tail window), by value: statistics keep those four.
    const lo = all[starts[2] as number] as bigint;
    const hi = all[(starts[6] as number) - 1] as bigint;
    const filter = { and: [{ column: 'id', gte: Number(lo) + 3 }, { column: 'id', lte: Number(hi) - 3 }] };
    const kept = source.plan({ columns: ['id'], filter, pages: false }).rowGroups;
    expect(kept).toEqual([2, 3, 4, 5]);
    const rows = await ids(source.readBatches({ columns: ['id'], filter }));
    expect(rows).toEqual(all.filter((v) => v >= lo + 3n && v <= hi - 3n));
    const wave = source.plan({ columns: ['id'], rowGroups: kept, pageIndex: true });
    expect(wave.requests.length).toBeGreaterThan(0);
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...wave.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    expect(roundTrips()).toBe(2);
    await source.close();
  });

  it('a filter no row group can match reads nothing after the open and yields nothing', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false });
    expect(await ids(source.readBatches({ columns: ['id'], filter: { column: 'id', lt: -1 } }))).toEqual([]);
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    await source.close();
  });

  it('kept row groups beyond the budget share stream one wave per row group', async () => {
    const { backend, list, roundTrips } = counted();
    const probe = await openParquet(httpBackend({ baseUrl: server.url }), 'seedPlus', { metadataCache: false });
    const starts = rowStarts(probe);
    const all = allIds();
    // Row groups 0–24: the 25 the tail window does not hold (a budget under the window's size would
    // not keep the window itself, and each decode would fetch it again).
    const kept = Array.from({ length: 25 }, (_, g) => g);
    const filter = { column: 'id', lt: Number(all[starts[25] as number]) };
    const share = probe.plan({ rowGroups: kept, pageIndex: true }).bytesToFetch;
    await probe.close();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false, reader: { maxMemory: Math.floor(share / WHOLE_BATCHES_BUDGET_SHARE) - 1 } });
    const rows = await ids(source.readBatches({ filter }));
    expect(rows).toEqual(all.slice(0, starts[25]));
    expect(list().length).toBe(1 + 25);
    expect(roundTrips()).toBe(1 + 25);
    await source.close();
  });
});
