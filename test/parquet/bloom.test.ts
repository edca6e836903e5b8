/** Bloom filters: where they lie, parsing (hyparquet's reader) and eq/in pruning, on parquet-testing and hyparquet-writer files. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { bloomMayMatch, bloomRanges } from '../../src/parquet/bloom.js';
import { openParquet } from '../../src/parquet/source.js';
import { WORDS, writeFilterFixture } from '../support/filter-fixture.js';
import { testingFile } from '../support/parquet-testing.js';

let server: ObjectServer;
beforeAll(async () => {
  server = await new ObjectServer().start();
  server.put('with_length.parquet', testingFile('data/data_index_bloom_encoding_with_length.parquet'));
  server.put('stats.parquet', testingFile('data/data_index_bloom_encoding_stats.parquet'));
  server.put('written.parquet', writeFilterFixture({ bloomFilter: true }));
});
afterAll(() => server.stop());

const open = (name: string) => openParquet(withMetrics(httpBackend({ baseUrl: server.url })), name, { metadataCache: false });

describe('bloom filters', () => {
  it('parquet-testing with_length: one bloom filter, parsed; a value between min and max but absent is ruled out', async () => {
    const source = await open('with_length.parquet');
    expect(source.bloomFilterRanges).toHaveLength(1);
    expect(await source.loadBloomFilters()).toBe(true);
    const blooms = source.blooms?.[0];
    expect(blooms?.get('String')?.numBytes).toBeGreaterThan(0);
    expect(bloomMayMatch({ column: 'String', eq: 'Hello' }, blooms, source.schema)).toBe(true);
    expect(bloomMayMatch({ column: 'String', eq: 'Hellp' }, blooms, source.schema)).toBe(false);
    expect(bloomMayMatch({ column: 'String', in: ['Hellp', 'Hellq'] }, blooms, source.schema)).toBe(false);
    expect(bloomMayMatch({ column: 'String', in: ['Hellp', 'Hello'] }, blooms, source.schema)).toBe(true);
    // Statistics keep it (Hello ≤ Hellp ≤ today); the bloom filter prunes it.
    const plan = source.plan({ filter: { column: 'String', eq: 'Hellp' } });
    expect(plan.rowGroups).toEqual([]);
    expect(plan.bloomPrunedRowGroups).toEqual([0]);
    // GZIP pages: readTable (parquet-wasm) decodes them, and the filter still applies.
    expect((await source.readTable({ filter: { column: 'String', eq: 'Hellp' } })).numRows).toBe(0);
    const hello = await source.readTable({ filter: { column: 'String', eq: 'Hello' } });
    expect([...(hello.getChild('String') ?? [])]).toEqual(['Hello']);
    await source.close();
  });

  it('a bloom filter written without its length (before parquet-format 2.10) is not used', async () => {
    const source = await open('stats.parquet');
    expect(source.metadata.row_groups[0]?.columns[0]?.meta_data?.bloom_filter_offset).toBeDefined();
    expect(source.bloomFilterRanges).toEqual([]);
    expect(await source.loadBloomFilters()).toBe(false);
    await source.close();
  });

  it('and/or combine: and prunes when any part is ruled out, or only when every part is', async () => {
    const source = await open('written.parquet');
    await source.loadBloomFilters();
    const blooms = source.blooms?.[0];
    const absent = { column: 'word', eq: 'delta0' } as const;
    const present = { column: 'word', eq: WORDS[0] as string } as const;
    expect(bloomMayMatch({ and: [present, absent] }, blooms, source.schema)).toBe(false);
    expect(bloomMayMatch({ or: [present, absent] }, blooms, source.schema)).toBe(true);
    expect(bloomMayMatch({ or: [absent, { column: 'id', eq: 99_999 }] }, blooms, source.schema)).toBe(false); // INT64 id: a number hashes as its bigint
    expect(bloomMayMatch({ column: 'k', gt: 5 }, blooms, source.schema)).toBe(true); // ranges: a bloom filter cannot tell
    await source.close();
  });

  it('a bloom filter outside the data region is InvalidData before any fetch', () => {
    const md = { row_groups: [{ columns: [{ meta_data: { path_in_schema: ['x'], bloom_filter_offset: 900n, bloom_filter_length: 200 } }] }] };
    expect(() => bloomRanges(md as never, 1_000, {})).toThrow(/bloom filter of column x/);
  });
});
