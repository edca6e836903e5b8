/** Page-level pruning with the page index: pure pieces, and end to end over HTTP with hyparquet. */
import { parquetReadObjects, type ColumnIndex, type OffsetIndex, type RowGroup } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { chunkRangesForRows, matchingRows, type ChunkPageIndex } from '../../src/parquet/page-index.js';
import { openParquet } from '../../src/parquet/source.js';
import { testingFile } from '../support/parquet-testing.js';

const NAME = 'alltypes_tiny_pages.parquet'; // 7,300 rows, 1 row group, ~325 pages per column, with a page index
let server: ObjectServer;
let bytes: Uint8Array;

beforeAll(async () => {
  bytes = testingFile(`data/${NAME}`);
  server = await new ObjectServer().start();
  server.put(NAME, bytes);
});
afterAll(() => server.stop());

function counted() {
  return withMetrics(httpBackend({ baseUrl: server.url }));
}

describe('page index: pure pieces', () => {
  const rg = { num_rows: 100n, columns: [{ meta_data: { path_in_schema: ['x'] } }] } as unknown as RowGroup;
  const oi: OffsetIndex = {
    page_locations: [
      { offset: 110n, compressed_page_size: 40, first_row_index: 0n },
      { offset: 150n, compressed_page_size: 40, first_row_index: 25n },
      { offset: 190n, compressed_page_size: 40, first_row_index: 50n },
      { offset: 230n, compressed_page_size: 40, first_row_index: 75n },
    ],
  };
  const ci = {
    null_pages: [false, false, true, false],
    min_values: [0, 10, 0, 30],
    max_values: [9, 19, 0, 39],
    boundary_order: 'ASCENDING',
  } as unknown as ColumnIndex;
  const pages: ChunkPageIndex[] = [{ columnIndex: ci, offsetIndex: oi }];

  it('keeps the rows of the pages whose min/max may match; null-only pages never match', () => {
    expect(matchingRows({ column: 'x', gte: 12 }, rg, pages)).toEqual([
      [25, 50],
      [75, 100],
    ]);
    expect(matchingRows({ column: 'x', eq: 5 }, rg, pages)).toEqual([[0, 25]]);
    expect(matchingRows({ column: 'x', eq: 25 }, rg, pages)).toEqual([]);
    expect(matchingRows({ or: [{ column: 'x', lt: 5 }, { column: 'x', gt: 35 }] }, rg, pages)).toEqual([
      [0, 25],
      [75, 100],
    ]);
    expect(matchingRows({ and: [{ column: 'x', gte: 5 }, { column: 'x', lte: 12 }] }, rg, pages)).toEqual([[0, 50]]);
    // No page index for a column: all rows.
    expect(matchingRows({ column: 'x', eq: 5 }, rg, [{}])).toEqual([[0, 100]]);
  });

  it('byte ranges: the dictionary page plus the pages overlapping the rows', () => {
    const chunk = { rowGroup: 0, column: 'x', offset: 100, length: 170 };
    expect(chunkRangesForRows(chunk, pages[0], [[30, 40]], 100)).toEqual([
      { offset: 100, length: 10 },
      { offset: 150, length: 40 },
    ]);
    expect(chunkRangesForRows(chunk, undefined, [[30, 40]], 100)).toEqual([{ offset: 100, length: 170 }]);
  });
});

describe('page index end to end (alltypes_tiny_pages over HTTP)', () => {
  it('loads the page index from the open window (no request) and plans fewer bytes than whole chunks', async () => {
    const backend = counted();
    const source = await openParquet(backend, NAME, { metadataCache: false });
    expect(source.pageIndex).toBeDefined();
    expect(await source.loadPageIndex()).toBe(true);
    expect(backend.metrics.snapshot().gets).toBe(1); // the window held it
    const filter = { column: 'id', gte: 7_250 };
    const chunkLevel = source.plan({ filter, pages: false });
    const pageLevel = source.plan({ filter });
    expect(pageLevel.rowRanges?.[0]?.rows.length).toBeGreaterThan(0);
    expect(pageLevel.bytesNeeded).toBeLessThan(chunkLevel.bytesNeeded / 2); // ids are unordered across pages: ~3× fewer bytes
    // pages: false still reports the candidate rows (and prunes row groups with none), but plans whole chunks.
    expect(chunkLevel.rowRanges).toEqual(pageLevel.rowRanges);
    expect(chunkLevel.bytesNeeded).toBe(source.plan().bytesNeeded);
    // A value no page can hold prunes the row group by page statistics.
    expect(source.plan({ filter: { column: 'id', gt: 1e9 } }).rowGroups).toEqual([]);
  });

  it('a page-level plan prefetched, then hyparquet reads the matching rows with no request of its own', async () => {
    const backend = counted();
    const source = await openParquet(backend, NAME, { metadataCache: false, footerSizeHint: 16 * 1024 });
    expect(await source.loadPageIndex()).toBe(true);
    const filter = { column: 'id', gte: 7_250 };
    const plan = source.plan({ filter, columns: ['id', 'string_col'] });
    await source.prefetch(plan);
    const before = backend.metrics.snapshot().gets;
    const got: Record<string, unknown>[] = [];
    for (const { rows } of plan.rowRanges ?? []) {
      for (const [rowStart, rowEnd] of rows) {
        got.push(
          ...(await parquetReadObjects({
            file: source.toAsyncBuffer(),
            metadata: source.metadata,
            columns: ['id', 'string_col'],
            rowStart,
            rowEnd,
            useOffsetIndex: true,
            filter: { id: { $gte: 7_250 } },
          })),
        );
      }
    }
    expect(backend.metrics.snapshot().gets).toBe(before);
    const whole = await parquetReadObjects({
      file: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer,
      columns: ['id', 'string_col'],
      filter: { id: { $gte: 7_250 } },
    });
    expect(got.sort((a, b) => Number(a.id) - Number(b.id))).toEqual(whole.sort((a, b) => Number(a.id) - Number(b.id)));
    expect(whole.length).toBeGreaterThan(0);
    // Far fewer bytes than the two whole column chunks.
    expect(plan.bytesToFetch).toBeLessThan(source.plan({ filter, columns: ['id', 'string_col'], pages: false }).bytesToFetch);
  });

  it('readTable plans whole chunks (parquet-wasm reads chunks) and returns only the matching rows', async () => {
    const backend = counted();
    const source = await openParquet(backend, NAME, { metadataCache: false });
    await source.loadPageIndex();
    const t = await source.readTable({ columns: ['id'], filter: { column: 'id', gte: 7_250 } });
    expect([...(t.getChild('id') ?? [])].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => 7_250 + i));
    expect(backend.metrics.snapshot().gets).toBe(1);
  });
});
