/**
 * A partial decode under a budget smaller than the open's tail window: the window is evicted at
 * once, so a decode that shipped it whole fetched it again every time (readBatches: once per row
 * group). It ships only its chunks, the footer and the page index. Exact request lists over the
 * local HTTP object server; rows compared with a read under the default budget.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openParquet } from '../../src/parquet/source.js';

/** Under the tail window (~786 KiB): the budget the defect was measured with. */
const SMALL_BUDGET = 213_000;

let server: ObjectServer;
let seedPlus: Uint8Array;

beforeAll(async () => {
  seedPlus = await fixture(FIXTURES.seedPlus); // ~1.1 MB, 75 row groups: over the tail window
  server = await new ObjectServer({ ttfbMs: 1 }).start();
  server.put('seedPlus', seedPlus);
}, 120_000);
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, list };
}

const get = (r: { offset: number; length: number }) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`;

/**
 * The requests after the open: exactly `planned`, then (the window arrives in the HTTP body's
 * chunks, and which of them the budget evicts varies from run to run) at most GETs inside the
 * footer or the page index, which every decode reads: never any other byte of the window.
 */
function expectOnly(list: string[], planned: string[], source: Awaited<ReturnType<typeof openParquet>>): void {
  expect(list.slice(0, 1 + planned.length)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...planned]);
  const footer = { offset: source.size - source.footerLength, length: source.footerLength };
  const allowed = [footer, ...(source.pageIndex ? [source.pageIndex] : [])];
  for (const extra of list.slice(1 + planned.length)) {
    const [from, to] = (extra.match(/^GET bytes=(\d+)-(\d+)$/) ?? []).slice(1).map(Number) as [number, number];
    expect(allowed.some((a) => from >= a.offset && to < a.offset + a.length), `${extra} is outside the footer and the page index`).toBe(true);
  }
}

async function rows(batches: AsyncIterable<RecordBatch>): Promise<unknown[]> {
  const out: unknown[] = [];
  for await (const b of batches) for (const row of b) out.push(row?.toJSON());
  return out;
}
const tableRows = (t: Table) => [...t].map((row) => row?.toJSON());

describe('a partial decode under a budget smaller than the tail window', () => {
  it('readBatches of row groups outside the window: the open and the selection\'s one wave, no re-fetch of the window; same rows', async () => {
    const selection = { rowGroups: [1, 2, 3] };
    const normal = await openParquet(httpBackend({ baseUrl: server.url }), 'seedPlus', { metadataCache: false });
    const expected = await rows(normal.readBatches(selection));
    await normal.close();
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false, reader: { maxMemory: SMALL_BUDGET } });
    expect(source.held.length).toBeGreaterThan(SMALL_BUDGET);
    const wave = source.plan({ ...selection, pageIndex: true });
    expect(wave.requests.length).toBeGreaterThan(0);
    expect(await rows(source.readBatches(selection))).toEqual(expected);
    expectOnly(list(), wave.requests.map(get), source);
    await source.close();
  });

  it('readTable of columns and row groups outside the window: the open and the plan\'s requests only; same rows', async () => {
    const selection = { columns: ['id'], rowGroups: [1, 7] };
    const normal = await openParquet(httpBackend({ baseUrl: server.url }), 'seedPlus', { metadataCache: false });
    const expected = tableRows(await normal.readTable(selection));
    await normal.close();
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seedPlus', { metadataCache: false, reader: { maxMemory: SMALL_BUDGET } });
    const plan = source.plan({ ...selection, pages: false, pageIndex: true, leadingMagic: true });
    expect(plan.requests.length).toBeGreaterThan(0);
    expect(tableRows(await source.readTable(selection))).toEqual(expected);
    expectOnly(list(), plan.requests.map(get), source);
    await source.close();
  });
});
