/**
 * What a parquet-wasm decode reads beyond the chunks a selection names, and so must be planned or
 * shipped with it: the small holes between a row group's chunks (it reads them as one slice), and
 * every leaf of a selected top-level field (it selects by field). A read it makes outside what was
 * shipped goes back to the main thread, and under a budget that let the window go, out as a GET
 * after the decode started. Exact request lists over the local HTTP object server; rows compared
 * with a read under the default budget.
 */
import type { RecordBatch } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { openParquet } from '../../src/parquet/source.js';
import { testingFile } from '../support/parquet-testing.js';

let server: ObjectServer;
const plain = testingFile('data/alltypes_plain.parquet');
const nested = testingFile('data/nested_structs.rust.parquet');

beforeAll(async () => {
  server = await new ObjectServer({ ttfbMs: 1 }).start();
  server.put('plain', plain);
  server.put('nested', nested);
});
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, list };
}

async function rows(batches: AsyncIterable<RecordBatch>): Promise<string[]> {
  const out: string[] = [];
  for await (const b of batches) for (const r of b) out.push(JSON.stringify(r?.toJSON(), (_k, v) => (typeof v === 'bigint' ? String(v) : v)));
  return out;
}

describe('holes between the chunks of a row group the window holds', () => {
  it('alltypes_plain (32–64 bytes between chunks), window [4, end), budget under it: readBatches of row group 0 re-reads the chunks with their holes in one wave, none from inside the decode', async () => {
    const expected = await rows((await openParquet(httpBackend({ baseUrl: server.url }), 'plain', { metadataCache: false })).readBatches({ rowGroups: [0] }));
    const { backend, list } = counted();
    const source = await openParquet(backend, 'plain', { metadataCache: false, footerSizeHint: plain.byteLength - 4, reader: { maxMemory: 923 } });
    expect(source.held).toEqual({ offset: 4, length: plain.byteLength - 4 });
    const chunks = source.plan({ rowGroups: [0] }).chunks;
    const holes = chunks.slice(1).map((c, i) => c.offset - ((chunks[i] as { offset: number }).offset + (chunks[i] as { length: number }).length));
    expect(holes.some((h) => h > 0)).toBe(true); // the file has them: what this test is about
    expect(await rows(source.readBatches({ rowGroups: [0] }))).toEqual(expected);
    // The open, then the evicted window's bytes the decode needs, fetched before it starts: the
    // chunks with their holes ([4, 1068)) and the footer, in one GET (they are 32 bytes apart).
    // Shipping the chunks without their holes sent a second GET, for [4, 1068), from inside the decode.
    expect(list()).toEqual([`GET bytes=-${plain.byteLength - 4}`, `GET bytes=4-${plain.byteLength - 1}`]);
    await source.close();
  });
});

describe('a selected leaf of a nested field', () => {
  it('readBatches({ columns: ["roll_num.min"] }) plans every leaf of roll_num (parquet-wasm decodes the struct): the open and that one wave, no GET from inside the decode', async () => {
    const selection = { columns: ['roll_num.min'], rowGroups: [0] };
    const expected = await rows((await openParquet(httpBackend({ baseUrl: server.url }), 'nested', { metadataCache: false })).readBatches(selection));
    const { backend, list } = counted();
    // A tail window of the footer alone: the chunks are fetched by the plan, not held.
    const footer = new DataView(nested.buffer, nested.byteOffset).getUint32(nested.byteLength - 8, true) + 8;
    const source = await openParquet(backend, 'nested', { metadataCache: false, footerSizeHint: footer });
    const opened = list();
    expect(opened).toEqual([`GET bytes=-${footer}`]);
    const leaves = source.columns.filter((c) => c.startsWith('roll_num.'));
    expect(leaves.length).toBeGreaterThan(1);
    const wave = source.plan({ columns: leaves, rowGroups: [0], pageIndex: true }).requests;
    expect(await rows(source.readBatches(selection))).toEqual(expected);
    expect(list()).toEqual([...opened, ...wave.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    await source.close();
  });

  it('readTable does the same (with the leading magic and page index it plans), and still says COLUMN_NOT_FOUND for a leaf the field does not have, before any data request', async () => {
    const { backend, list } = counted();
    const footer = new DataView(nested.buffer, nested.byteOffset).getUint32(nested.byteLength - 8, true) + 8;
    const source = await openParquet(backend, 'nested', { metadataCache: false, footerSizeHint: footer });
    const opened = list();
    const leaves = source.columns.filter((c) => c.startsWith('roll_num.'));
    const wave = source.plan({ columns: leaves, rowGroups: [0], pages: false, pageIndex: true, leadingMagic: true }).requests;
    const t = await source.readTable({ columns: ['roll_num.min'], rowGroups: [0] });
    expect(t.numRows).toBe(Number(source.rowGroups[0]?.numRows));
    expect(list()).toEqual([...opened, ...wave.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`)]);
    const before = list().length;
    await expect(source.readTable({ columns: ['roll_num.nope'] })).rejects.toMatchObject({ code: 'COLUMN_NOT_FOUND' });
    expect(list().length).toBe(before);
    await source.close();
  });
});
