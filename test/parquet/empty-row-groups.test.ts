/**
 * Row groups of 0 rows whose column chunks are 0 bytes (some writers leave them; hyparquet and
 * parquet-wasm read them as empty) are valid wherever their chunks point — offset 0 (inside the
 * leading magic) or the end of the data: they plan no ranges, and decode to no rows through
 * readTable, readObjects, readBatches and `brr read`. Files are written here with hyparquet-writer
 * (test/support/parquet-files.ts), served by a real HTTP server, requests counted.
 */
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { main } from '../../src/cli/main.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { columnChunkRanges } from '../../src/parquet/metadata.js';
import { openParquet } from '../../src/parquet/source.js';
import { testParquet, testRows, type TestParquetOptions } from '../support/parquet-files.js';
import { parquetMetadata } from 'hyparquet';

let server: ObjectServer;
beforeAll(async () => {
  server = await new ObjectServer().start();
});
afterAll(() => server.stop());

const FILES: Record<string, TestParquetOptions> = {
  'first-at-zero': { rows: 3000, rowGroupSize: 1000, emptyRowGroups: [0], emptyChunkOffset: 'zero' },
  'middle-at-end': { rows: 3000, rowGroupSize: 1000, emptyRowGroups: [2], emptyChunkOffset: 'end' },
  'last-at-zero': { rows: 3000, rowGroupSize: 1000, emptyRowGroups: [3], emptyChunkOffset: 'zero' },
  'only-empty': { rows: 0, emptyRowGroups: [0, 1], emptyChunkOffset: 'zero' },
};

/** `brr read` in this process (the real command, its output captured). */
async function brrRead(args: string[]): Promise<{ code: number; out: string }> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  stdout.on('data', (d: Buffer) => (out += d.toString('utf8')));
  stderr.resume();
  const code = await main(['read', ...args], { stdout, stderr, env: {}, signal: new AbortController().signal });
  return { code, out };
}

describe('empty row groups (num_rows 0, 0-byte chunks)', () => {
  it('the footer check accepts 0-byte chunks at offset 0 and past the data; non-empty chunks are still checked', () => {
    const file = testParquet(FILES['first-at-zero'] as TestParquetOptions);
    const md = parquetMetadata(file.buffer as ArrayBuffer);
    const len = new DataView(file.buffer, file.byteOffset + file.byteLength - 8, 4).getUint32(0, true);
    const chunks = columnChunkRanges(md, file.byteLength, len, {});
    expect(chunks[0]?.map((c) => c.length)).toEqual([0, 0]);
    expect(chunks.slice(1).flat().every((c) => c.length > 0 && c.offset >= 4)).toBe(true);
    // A chunk with bytes, pointing into the magic, is still corrupt.
    const bad = structuredClone(md);
    const meta = bad.row_groups[1]?.columns[0]?.meta_data;
    if (meta) meta.data_page_offset = 0n;
    expect(() => columnChunkRanges(bad, file.byteLength, len, {})).toThrow(/outside the data region/);
  });

  for (const [name, opts] of Object.entries(FILES)) {
    it(`${name}: plans no range for the empty groups; readTable, readObjects, readBatches give the rows of the others`, async () => {
      const file = testParquet(opts);
      server.put(`${name}.parquet`, file);
      const backend = withMetrics(httpBackend({ baseUrl: server.url }));
      // A small tail window: the data is not held, so the plan has to fetch it.
      const source = await openParquet(backend, `${name}.parquet`, { footerSizeHint: 1024, metadataCache: false });
      const empty = source.rowGroups.filter((g) => g.numRows === 0).map((g) => g.index);
      expect(empty).toEqual(opts.emptyRowGroups);
      expect(source.plan({ rowGroups: empty }).ranges).toEqual([]);
      expect(source.plan({ rowGroups: empty }).requestCount).toBe(0);
      const expected = testRows(opts.rows);
      backend.metrics.reset();
      const table = await source.readTable({ rowGroups: empty });
      expect(table.numRows).toBe(0);
      expect(backend.metrics.snapshot().gets).toBe(0); // nothing to fetch for empty groups (the page index aside: there is none)
      const all = await source.readTable();
      expect(all.numRows).toBe(opts.rows);
      expect(all.getChild('id')?.toArray().length).toBe(opts.rows);
      if (opts.rows) expect([all.getChild('id')?.get(opts.rows - 1), all.getChild('word')?.get(0)]).toEqual([opts.rows - 1, 'w0']);
      expect(await source.readObjects()).toEqual(expected);
      expect(await source.readObjects({ rowStart: 1500, rowEnd: 1502 })).toEqual(expected.slice(1500, 1502));
      let rows = 0;
      for await (const batch of source.readBatches()) rows += batch.numRows;
      expect(rows).toBe(opts.rows);
      const { code, out } = await brrRead([`${server.url}/${name}.parquet`, '--format', 'csv']);
      expect(code).toBe(0);
      expect(out.trimEnd().split('\n')).toEqual(['id,word', ...expected.map((r) => `${r.id},${r.word}`)]);
      await source.close();
    });
  }

  it('brr read of a file whose every row group is empty prints the header and "(0 rows)"', async () => {
    server.put('nothing.parquet', testParquet(FILES['only-empty'] as TestParquetOptions));
    const { code, out } = await brrRead([`${server.url}/nothing.parquet`]);
    expect([code, out]).toEqual([0, 'id  word\n(0 rows)\n']);
  });
});
