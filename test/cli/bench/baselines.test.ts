/** The byte-only baselines the benchmarks compare against: right bytes, and the request pattern they model. */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../../src/backends/memory/backend.js';
import { ClearingBufReader, STD_BUFREADER_CAPACITY, readChunksBySeeks, readFooterBySeeks } from '../../../src/cli/bench/baselines.js';
import { withMetrics } from '../../../src/layers/metrics.js';
import { RangeReader } from '../../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../../src/range-reader/seek-from.js';
import { FIXTURES, fixture } from '../../../bench/fixtures.js';
import { randomBytes } from '../../support/data.js';

describe('readFooterBySeeks + readChunksBySeeks over a RangeReader that drops on seek', () => {
  it('the footer by two seeks from the end, then one GET per chunk (the seed reader\'s 600)', async () => {
    const seed = await fixture(FIXTURES.seed);
    const backend = withMetrics(memoryBackend({ 'seed.parquet': seed }));
    const reader = new RangeReader(backend, 'seed.parquet', { dropOnSeek: true });
    const meta = await readFooterBySeeks(reader);
    expect(meta.row_groups).toHaveLength(50);
    const chunks = meta.row_groups.slice(0, 3).flatMap((rg) => rg.columns.map((c) => ({ offset: Number(c.meta_data?.dictionary_page_offset ?? c.meta_data?.data_page_offset), length: Number(c.meta_data?.total_compressed_size) })));
    const bytes = await readChunksBySeeks(reader, chunks);
    expect(bytes).toBe(chunks.reduce((n, c) => n + c.length, 0));
    const s = backend.metrics.snapshot();
    expect([s.heads, s.gets]).toEqual([1, 2 + 36]);
    expect(s.requests.slice(3).map((r) => r.rangeHeader)).toEqual(chunks.map((c) => `bytes=${c.offset}-`));
    await reader.close();
  });
});

describe('ClearingBufReader (std::io::BufReader)', () => {
  it('serves the right bytes through its 8 KiB buffer; every seek clears it and seeks the inner reader', async () => {
    const data = randomBytes(100_000, 4);
    const backend = withMetrics(memoryBackend({ a: data }));
    const inner = new RangeReader(backend, 'a', { dropOnSeek: true, size: data.byteLength });
    const r = new ClearingBufReader(inner);
    const small = new Uint8Array(100);
    expect(await r.read(small)).toBe(100);
    expect(small).toEqual(data.subarray(0, 100));
    // Relative seeks count from the logical position, not the inner reader's (which is a buffer ahead).
    expect(await r.seek(SeekFrom.current(50))).toBe(150);
    expect(await r.read(small)).toBe(100);
    expect(small).toEqual(data.subarray(150, 250));
    const big = new Uint8Array(STD_BUFREADER_CAPACITY * 2);
    await r.seek(SeekFrom.start(1000));
    let got = 0;
    while (got < big.byteLength) got += await r.read(big.subarray(got)); // large reads bypass the buffer
    expect(big).toEqual(data.subarray(1000, 1000 + big.byteLength));
    expect(backend.metrics.snapshot().gets).toBe(3); // one per position: 0, 150, 1000
    await inner.close();
  });
});
