/**
 * Fault catalogue: bad Parquet input and reads outside the plan (cases 18–23). ../shared/DESIGN.md,
 * one `describe` per case. Network faults go through the socket-level fault proxy in front of a real
 * server (catalogue-setup.ts). Where another file covers the case in more depth, the describe names it
 * (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { openParquet } from '../../src/parquet/source.js';
import { testingFile } from '../support/parquet-testing.js';
import { failure, same, within } from './helpers.js';
import { badFooter, data, good, goodMetadataLength, http, rig, useCatalogue } from './catalogue-setup.js';

useCatalogue({ s3: false });

// 18–21: Parquet footer bad input, over HTTP with the default retries on (openParquet by URL).
// also: test/parquet/footer.test.ts (each case on memory); test/parquet/bad-data.test.ts and
// test/parquet/corpus.test.ts (every file of parquet-testing/bad_data through parquet-wasm and hyparquet).
describe('18. Parquet file < 12 bytes → typed error', () => {
  it('InvalidData within 1 s, one GET', () => badFooter('tiny.parquet', new TextEncoder().encode('PAR1PAR1'), 'InvalidData', 'FOOTER_TOO_SHORT'));
  it('an empty object too', () => badFooter('empty.parquet', new Uint8Array(0), 'InvalidData', 'FOOTER_TOO_SHORT'));
});

describe('19. trailing magic not PAR1 → typed error; PARE → "encrypted files unsupported"', () => {
  it('not PAR1: InvalidData', () => badFooter('magic.parquet', good.subarray(0, good.byteLength - 1), 'InvalidData', 'BAD_MAGIC'));
  it('PARE: Unsupported', () => badFooter('enc.parquet', testingFile('data/uniform_encryption.parquet.encrypted'), 'Unsupported', 'ENCRYPTED'));
});

describe('20. metadata length > file size − 8 → typed error, no giant allocation', () => {
  it('InvalidData naming the length', async () => {
    const bytes = good.slice();
    new DataView(bytes.buffer).setUint32(good.byteLength - 8, 0xfffffff0, true);
    const err = await badFooter('length.parquet', bytes, 'InvalidData', 'METADATA_TOO_LONG');
    expect(err.context.metadataLength).toBe(4294967280);
  });
});

describe('21. corrupt metadata (Thrift) → typed error naming the offset', () => {
  it('InvalidData at the offset of the metadata', async () => {
    const bytes = good.slice();
    const start = good.byteLength - 8 - goodMetadataLength;
    bytes.fill(0xff, start, start + 40);
    const err = await badFooter('thrift.parquet', bytes, 'InvalidData', 'METADATA_CORRUPT');
    expect(err.context.metadataOffset).toBe(start);
    expect(err.message).toContain(`at offset ${start}`); // the message names the offset too
  });
});

describe('22. column chunk range outside the file → typed error before any fetch', () => {
  // also: test/parquet/planner.test.ts ("a chunk outside the data region")
  it('a footer whose chunks point past the data region: InvalidData after the tail GET only', async () => {
    const ml = goodMetadataLength;
    const cut = new Uint8Array(4 + ml + 8);
    cut.set(good.subarray(0, 4));
    cut.set(good.subarray(good.byteLength - ml - 8), 4); // data pages gone, footer intact
    rig.server.put('cut.parquet', cut);
    // The open reads the footer's structure; a chunk's range is checked when a plan takes it.
    const source = await openParquet(http(), 'cut.parquet', { metadataCache: false });
    const column = source.columns[0] as string;
    expect(() => source.plan({ columns: [column] })).toThrow(expect.objectContaining({ kind: 'InvalidData', code: 'CHUNK_OUT_OF_FILE', context: expect.objectContaining({ column, rowGroup: 0 }) }));
    const err = await failure(source.readTable(), 'InvalidData');
    expect(err.code).toBe('CHUNK_OUT_OF_FILE');
    expect(() => source.columnChunks).toThrow(expect.objectContaining({ code: 'CHUNK_OUT_OF_FILE' }));
    expect(rig.proxy.log).toHaveLength(1);
    await source.close();
  });
});

describe('23. decoder asks for bytes outside the plan → served by a direct (counted) fetch, not an error', () => {
  it('a prefetched plan of one column, then a read of another chunk: one more GET, counted', async () => {
    rig.server.put('tiny-pages.parquet', testingFile('data/alltypes_tiny_pages.parquet'));
    const file = testingFile('data/alltypes_tiny_pages.parquet');
    const source = await openParquet(http(), 'tiny-pages.parquet', { metadataCache: false, footerSizeHint: 64 * 1024, reader: { gap: 0 } });
    const [first] = source.columns;
    await source.prefetch(source.plan({ columns: [first as string], rowGroups: [0] }));
    const before = source.stats().requests;
    const getsBefore = rig.proxy.log.length;
    // a chunk of another column, wholly before the tail the open holds
    const other = source.columnChunks.flat().find((c) => c.column !== first && c.offset + c.length <= source.held.offset);
    if (!other) throw new Error('fixture has no chunk outside the plan and the tail');
    expect(same(await source.readAt(other.offset, other.length), file.subarray(other.offset, other.offset + other.length))).toBe(true);
    expect(source.stats().requests).toBe(before + 1);
    expect(rig.proxy.log.length).toBe(getsBefore + 1);
    await source.close();
  });
});
