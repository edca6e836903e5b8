/**
 * The open's window (`openWindow`, `expect`): whole reads in one round trip. Exact request lists and
 * round trips, counted client-side (withMetrics) and checked against the real local HTTP object
 * server's own log; tables compared with parquet-wasm decoding the same bytes in memory.
 */
import { tableFromIPC, type Table } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { CostModel, DEFAULT_GAP } from '../../src/buffer-reader/cost-model.js';
import { isReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { createMetadataCache } from '../../src/parquet/cache.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openWindow } from '../../src/parquet/open.js';
import { openParquet, type OpenParquetOptions } from '../../src/parquet/source.js';
import { blobParquet } from '../support/parquet-files.js';

/** The whole-read window with the default cost model: TTFB × bandwidth of the S3 defaults. */
const WHOLE = DEFAULT_GAP;

let server: ObjectServer;
const files: Record<string, Uint8Array> = {};

beforeAll(async () => {
  files.seed = await fixture(FIXTURES.seed); // 740 KiB: inside the tail window
  files.seedPlus = await fixture(FIXTURES.seedPlus); // ~1.1 MB: between the tail window and the whole-read window
  files.justOver = blobParquet(2005); // just over the whole-read window
  files.large = blobParquet(6000); // ~6 MB: the bytes before the window spread over connections
  // A first-byte wait, so that requests sent together overlap in time (one round trip) and requests sent after do not.
  server = await new ObjectServer({ ttfbMs: 5 }).start();
  for (const [name, bytes] of Object.entries(files)) server.put(name, bytes);
}, 120_000);
afterAll(() => server.stop());

function counted() {
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  const list = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  const roundTrips = () => backend.metrics.snapshot().roundTrips;
  return { backend, list, roundTrips };
}

const size = (name: string) => (files[name] as Uint8Array).byteLength;
const bounded = (offset: number, end: number) => `GET bytes=${offset}-${end - 1}`;
const noCache: OpenParquetOptions = { metadataCache: false };

function reference(name: string, columns?: string[]): Table {
  const table = tableFromIPC(readParquet(files[name] as Uint8Array).intoIPCStream());
  return columns ? table.select(columns) : table;
}

/** Same rows, column by column (a loop, not a deep toEqual: millions of blob bytes would take minutes). */
function sameTable(a: Table, b: Table): void {
  expect(a.numRows).toBe(b.numRows);
  const names = b.schema.fields.map((f) => f.name);
  expect(a.schema.fields.map((f) => f.name)).toEqual(names);
  for (const n of names) {
    const x: unknown[] = [...(a.getChild(n) ?? [])];
    const y: unknown[] = [...(b.getChild(n) ?? [])];
    const same = (p: unknown, q: unknown) => (p instanceof Uint8Array && q instanceof Uint8Array ? Buffer.from(p).equals(q) : Object.is(p, q));
    expect(x.length).toBe(y.length);
    expect(x.filter((v, i) => !same(v, y[i])).length, `column ${n}`).toBe(0);
  }
}

/** The server saw what the client counted (same ranges, same order of starts). */
function serverAgrees(list: string[]): void {
  expect(server.requests.map((r) => `${r.method} ${r.range ?? ''}`.trim())).toEqual(list);
}

describe('openWindow', () => {
  it("'part' (the default) is the tail window; 'whole' the larger of it and the reader's merge gap", () => {
    expect(openWindow({})).toBe(DEFAULT_FOOTER_WINDOW);
    expect(openWindow({ expect: 'part', footerSizeHint: 1000 })).toBe(1000);
    expect(openWindow({ expect: 'whole' })).toBe(WHOLE);
    expect(WHOLE).toBeGreaterThanOrEqual(2 * DEFAULT_FOOTER_WINDOW); // at least twice the tail window
    expect(openWindow({ expect: 'whole', reader: { gap: 3_000_000 } })).toBe(3_000_000);
    // A cost model that learned a fast store: its gap is small, the tail window is the larger.
    const fast = new CostModel({ ttfbMs: 0.1, bytesPerSecond: 1e9, adaptive: false });
    expect(openWindow({ expect: 'whole', reader: { costModel: fast } })).toBe(DEFAULT_FOOTER_WINDOW);
    const slow = new CostModel({ ttfbMs: 100, bytesPerSecond: 40e6, adaptive: false });
    expect(openWindow({ expect: 'whole', reader: { costModel: slow } })).toBe(4_000_000);
    expect(openWindow({ expect: 'whole', footerSizeHint: 5_000_000 })).toBe(5_000_000);
  });

  it('an unknown expectation is INVALID_ARGUMENT, before any request', async () => {
    const { backend, list } = counted();
    const err = await openParquet(backend, 'seed', { ...noCache, expect: 'all' as never }).catch((e: unknown) => e);
    expect(isReaderError(err, 'InvalidInput')).toBe(true);
    expect((err as { code: string }).code).toBe('INVALID_ARGUMENT');
    expect(list()).toEqual([]);
  });
});

describe("expect: 'whole' — whole reads in one round trip", () => {
  it('the seed-like files (740 KiB, 1.1 MB): readTable() costs 1 GET, 1 round trip, and decodes what parquet-wasm decodes', async () => {
    expect(size('seed')).toBeLessThan(DEFAULT_FOOTER_WINDOW);
    expect(size('seedPlus')).toBeGreaterThan(DEFAULT_FOOTER_WINDOW);
    expect(size('seedPlus')).toBeLessThan(WHOLE);
    for (const name of ['seed', 'seedPlus']) {
      const { backend, list, roundTrips } = counted();
      server.resetLog();
      const source = await openParquet(backend, name, { ...noCache, expect: 'whole' });
      expect(source.held).toEqual({ offset: 0, length: size(name) });
      sameTable(await source.readTable(), reference(name));
      expect(list()).toEqual([`GET bytes=-${WHOLE}`]);
      expect(roundTrips()).toBe(1);
      serverAgrees(list());
      await source.close();
    }
  });

  it('readObjects() and readBatches() with no selection: the same one GET', async () => {
    for (const read of ['objects', 'batches'] as const) {
      const { backend, list, roundTrips } = counted();
      const source = await openParquet(backend, 'seedPlus', { ...noCache, expect: 'whole' });
      let rows = 0;
      if (read === 'objects') rows = (await source.readObjects()).length;
      else for await (const b of source.readBatches()) rows += b.numRows;
      expect(rows).toBe(source.numRows);
      expect(list()).toEqual([`GET bytes=-${WHOLE}`]);
      expect(roundTrips()).toBe(1);
      await source.close();
    }
  });

  it('a file smaller than the tail window: one GET, as without the hint', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seed', { ...noCache, expect: 'whole' });
    expect(list()).toEqual([`GET bytes=-${WHOLE}`]);
    expect(backend.metrics.snapshot().bytesReceived).toBe(size('seed')); // the suffix is clamped to the file
    expect(source.openRequests).toBe(1);
    await source.close();
  });

  it('a file just over the whole-read window: 2 round trips, the second for exactly the bytes before the window (no overlap, no gap)', async () => {
    const s = size('justOver');
    expect(s).toBeGreaterThan(WHOLE);
    expect(s - WHOLE).toBeLessThan(64 * 1024);
    const { backend, list, roundTrips } = counted();
    server.resetLog();
    const source = await openParquet(backend, 'justOver', { ...noCache, expect: 'whole' });
    expect(source.held).toEqual({ offset: s - WHOLE, length: WHOLE });
    sameTable(await source.readTable(), reference('justOver'));
    expect(list()).toEqual([`GET bytes=-${WHOLE}`, bounded(0, s - WHOLE)]);
    expect(roundTrips()).toBe(2);
    serverAgrees(list());
    await source.close();
  });

  it('a larger file: the bytes before the window go out as one wave of parallel requests that tile them exactly', async () => {
    const s = size('large');
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'large', { ...noCache, expect: 'whole' });
    const plan = source.plan({ pages: false, pageIndex: true, leadingMagic: true }); // what readTable plans
    expect(plan.requestCount).toBeGreaterThan(1);
    sameTable(await source.readTable(), reference('large'));
    const reqs = backend.metrics.snapshot().requests;
    expect(reqs[0]?.rangeHeader).toBe(`bytes=-${WHOLE}`);
    const rest = reqs.slice(1).map((r) => r.range as { offset: number; length: number }).sort((a, b) => a.offset - b.offset);
    expect(list().slice(1).sort()).toEqual(plan.requests.map((r) => bounded(r.offset, r.offset + r.length)).sort());
    // Tiled: from 0 to the window's start, each part starting where the previous ended.
    let at = 0;
    for (const r of rest) {
      expect(r.offset).toBe(at);
      at += r.length;
    }
    expect(at).toBe(s - WHOLE);
    expect(roundTrips()).toBe(2);
    await source.close();
  });

  it('then a projection: only the chunks outside the window are fetched, and the bytes are right', async () => {
    const s = size('large');
    const { backend, list } = counted();
    const source = await openParquet(backend, 'large', { ...noCache, expect: 'whole' });
    const plan = source.plan({ columns: ['id'] });
    // The id chunks inside the window are held; the others are fetched, none reaching into the window.
    expect(plan.bytesHeld).toBeGreaterThan(0);
    expect(plan.requests.every((r) => r.offset + r.length <= s - WHOLE)).toBe(true);
    sameTable(await source.readTable({ columns: ['id'] }), reference('large', ['id']));
    expect(list()).toEqual([`GET bytes=-${WHOLE}`, ...plan.requests.map((r) => bounded(r.offset, r.offset + r.length))]);
    await source.close();
  });

  it('then a projection of a file the window holds: no request at all', async () => {
    const { backend, list } = counted();
    const source = await openParquet(backend, 'seedPlus', { ...noCache, expect: 'whole' });
    sameTable(await source.readTable({ columns: ['price', 'word'] }), reference('seedPlus', ['price', 'word']));
    const objects = await source.readObjects({ columns: ['id'], rowStart: 100, rowEnd: 300 });
    expect(objects.map((o) => o.id)).toEqual(Array.from({ length: 200 }, (_, i) => BigInt(100 + i)));
    expect(list()).toEqual([`GET bytes=-${WHOLE}`]);
    await source.close();
  });

  it('a server without suffix ranges: the size from a HEAD, then one bounded GET of the whole-read window', async () => {
    const backend = withMetrics(httpBackend({ baseUrl: server.url, suffix: false }));
    const s = size('justOver');
    const source = await openParquet(backend, 'justOver', { ...noCache, expect: 'whole' });
    sameTable(await source.readTable(), reference('justOver'));
    expect(backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim())).toEqual(['HEAD', bounded(s - WHOLE, s), bounded(0, s - WHOLE)]);
    await source.close();
  });

  it('a warm open (footer cached) costs nothing; the whole read is then one round trip for every byte not held', async () => {
    const cache = createMetadataCache();
    const s = size('seedPlus');
    const { backend, list, roundTrips } = counted();
    const cold = await openParquet(backend, 'seedPlus', { metadataCache: cache, expect: 'whole' });
    await cold.close();
    backend.metrics.reset();
    const warm = await openParquet(backend, 'seedPlus', { metadataCache: cache, expect: 'whole' });
    expect(warm.openRequests).toBe(0);
    sameTable(await warm.readTable(), reference('seedPlus'));
    expect(list()).toEqual([bounded(0, s - warm.footerLength)]);
    expect(roundTrips()).toBe(1);
    await warm.close();
  });
});

describe('without the hint', () => {
  it('metadata-only and projection opens keep the single suffix GET of the tail window', async () => {
    for (const options of [noCache, { ...noCache, expect: 'part' as const }]) {
      const { backend, list } = counted();
      const source = await openParquet(backend, 'seedPlus', options);
      expect(source.numRows).toBe(75 * 200);
      expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
      await source.close();
    }
  });

  it('readTable() after a plain open: the second round trip asks only for what the open does not hold', async () => {
    const s = size('seedPlus');
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'seedPlus', noCache);
    sameTable(await source.readTable(), reference('seedPlus'));
    // The leading magic rides along in the one request for the bytes before the tail window.
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, bounded(0, s - DEFAULT_FOOTER_WINDOW)]);
    expect(roundTrips()).toBe(2);
    await source.close();
  });

  it('a larger file: the tail window, then one wave for the rest (spread over connections), 2 round trips', async () => {
    const s = size('large');
    const { backend, list, roundTrips } = counted();
    const source = await openParquet(backend, 'large', noCache);
    const plan = source.plan({ pages: false, pageIndex: true, leadingMagic: true });
    expect(plan.requestCount).toBe(2);
    expect(plan.requests.map((r) => [r.offset, r.offset + r.length])).toEqual([
      [0, plan.requests[0]?.length],
      [plan.requests[0]?.length, s - DEFAULT_FOOTER_WINDOW],
    ]);
    sameTable(await source.readTable(), reference('large'));
    expect(list()).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, ...plan.requests.map((r) => bounded(r.offset, r.offset + r.length))]);
    expect(roundTrips()).toBe(2);
    await source.close();
  });
});

describe("expect: 'part' — the tail window kept in the chunks it arrived in", () => {
  it('every byte of the window reads back right from the open\'s buffer, across chunk boundaries, with no request', async () => {
    const wide = await fixture(FIXTURES.wide);
    const backend = withMetrics(memoryBackend({ w: wide }, { chunkSize: 16 * 1024 + 3 }));
    const source = await openParquet(backend, 'w', noCache);
    try {
      expect(backend.metrics.snapshot().gets).toBe(1);
      const start = wide.byteLength - DEFAULT_FOOTER_WINDOW;
      for (const [offset, length] of [
        [start, 100],
        [start + 16 * 1024 - 10, 30], // across the first chunk boundary
        [start + 5, 200_000], // across many
        [wide.byteLength - 9000, 9000], // the footer's end
      ] as const) {
        const got = await source.readAt(offset, length);
        expect(Buffer.from(got).equals(Buffer.from(wide.subarray(offset, offset + length)))).toBe(true);
      }
      expect(backend.metrics.snapshot().gets).toBe(1);
      expect(source.numRows).toBeGreaterThan(0);
    } finally {
      await source.close();
    }
  });
});

