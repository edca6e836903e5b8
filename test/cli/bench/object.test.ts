/** `brr bench <url>`'s pure pieces and its warm-up (in memory: no store involved). */
import { parquetMetadata } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../../bench/fixtures.js';
import { OBJECT_READERS, hyparquetFilterFor, warmUp } from '../../../src/cli/bench/object.js';
import { parseFilter } from '../../../src/cli/filter.js';
import type { ReaderDef } from '../../../src/cli/bench/readers.js';

let seed: Uint8Array;
beforeAll(async () => {
  seed = await fixture(FIXTURES.seed);
});

describe('hyparquetFilterFor', () => {
  it("maps each comparison to hyparquet's operator; integers become bigint on 64-bit columns only", () => {
    const meta = parquetMetadata(seed);
    const types = Object.fromEntries(meta.schema.map((e) => [e.name, e.type]));
    expect(types.id).toBe('INT64');
    expect(types.price).toBe('DOUBLE');
    expect(hyparquetFilterFor(parseFilter('id>=5000,id<5200,price>3,word=delta'), meta)).toEqual({
      id: { $gte: 5000n, $lt: 5200n },
      price: { $gt: 3 },
      word: { $eq: 'delta' },
    });
    expect(hyparquetFilterFor([], meta)).toBeUndefined();
  });
});

describe('the readers of brr bench <url>', () => {
  it('are naive, hyparquet, parquet-wasm, ours and ours-dropin, in that order', () => {
    expect(OBJECT_READERS.map((r) => r.id)).toEqual(['naive', 'hyparquet', 'parquet-wasm', 'ours', 'ours-dropin']);
  });

  it('warmUp reads a tiny in-memory file through every reader, each through its own fresh backend', async () => {
    const seen: string[] = [];
    const spy = (r: ReaderDef): ReaderDef => ({
      ...r,
      run: async (t, s, o) => {
        const out = await r.run(t, s, o);
        seen.push(`${r.id} ${out.rows} rows ${out.client ? `${out.client.gets} GET ${out.client.heads} HEAD` : ''}`.trim());
        return out;
      },
    });
    await warmUp(OBJECT_READERS.map(spy));
    // 64 rows in 2 row groups × 2 columns: naive reads its 4 chunks, the decoders every row.
    expect(seen).toHaveLength(5);
    expect(seen[0]).toBe('naive 0 rows 6 GET 1 HEAD'); // size, the footer by two seeks, 4 chunks
    expect(seen[1]).toMatch(/^hyparquet 64 rows \d+ GET 1 HEAD$/);
    expect(seen[2]).toMatch(/^parquet-wasm 64 rows \d+ GET 1 HEAD$/); // a plain file object: sized by a stat
    expect(seen[3]).toBe('ours 64 rows 1 GET 0 HEAD');
    expect(seen[4]).toBe('ours-dropin 64 rows 1 GET 0 HEAD'); // the open's GET holds the whole file: hyparquet reads the buffer
  });
});
