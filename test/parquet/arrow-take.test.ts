/** keepRuns: slices for few runs, a compact copy for many, equal to the rows one by one, for every flat type (and a fallback). */
import * as arrow from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { SLICE_RUNS_MAX, keepRuns } from '../../src/parquet/arrow-take.js';
import { prng } from '../support/data.js';

const N = 500;
const rand = prng(3);
const maybe = <T>(v: T, i: number) => (i % 11 === 3 ? null : v);
const table = new arrow.Table({
  i32: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => maybe(i, i)), new arrow.Int32()),
  i64: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => maybe(BigInt(i) * 1_000_000_007n, i)), new arrow.Int64()),
  f64: arrow.vectorFromArray(Array.from({ length: N }, () => rand()), new arrow.Float64()),
  bool: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => maybe(i % 3 === 0, i)), new arrow.Bool()),
  str: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => maybe(`s${i}${'x'.repeat(i % 5)}`, i)), new arrow.Utf8()),
  large: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => `L${i}`), new arrow.LargeUtf8()),
  dict: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => maybe(['a', 'b', 'c'][i % 3] as string, i)), new arrow.Dictionary(new arrow.Utf8(), new arrow.Int32())),
  ts: arrow.vectorFromArray(Array.from({ length: N }, (_, i) => Date.UTC(2024, 0, 1) + i * 1_000), new arrow.TimestampMillisecond()),
});
const batch = table.batches[0] as arrow.RecordBatch;
const rowsOf = (b: arrow.RecordBatch | arrow.Table) => b.toArray().map((r) => JSON.stringify(r.toJSON(), (_, v) => (typeof v === 'bigint' ? `${v}n` : v)));
const expected = (runs: [number, number][]) => runs.flatMap(([s, e]) => rowsOf(batch).slice(s, e));

describe('keepRuns', () => {
  it(`up to ${SLICE_RUNS_MAX} runs: zero-copy slices`, () => {
    const runs: [number, number][] = [[0, 3], [10, 40], [499, 500]];
    const out = keepRuns(arrow, batch, runs);
    expect(out).toHaveLength(3);
    expect(out.flatMap((b) => rowsOf(b))).toEqual(expected(runs));
  });

  it('many runs: one compact batch with the same rows, nulls and all', () => {
    const runs: [number, number][] = [];
    for (let s = 0; s < N; s += 7) runs.push([s, Math.min(N, s + 1 + (s % 3))]);
    const out = keepRuns(arrow, batch, runs);
    expect(out).toHaveLength(1);
    expect(out[0]?.numRows).toBe(runs.reduce((n, [s, e]) => n + e - s, 0));
    expect(rowsOf(out[0] as arrow.RecordBatch)).toEqual(expected(runs));
    expect(out[0]?.getChild('i32')?.nullCount).toBe(runs.flatMap(([s, e]) => Array.from({ length: e - s }, (_, k) => s + k)).filter((i) => i % 11 === 3).length);
  });

  it('a column it does not copy (a struct): slices for the whole batch', () => {
    const withStruct = new arrow.Table({ id: arrow.vectorFromArray(Array.from({ length: 40 }, (_, i) => i)), s: arrow.vectorFromArray(Array.from({ length: 40 }, (_, i) => ({ x: i }))) });
    const b = withStruct.batches[0] as arrow.RecordBatch;
    const runs: [number, number][] = Array.from({ length: 20 }, (_, i) => [2 * i, 2 * i + 1]);
    const out = keepRuns(arrow, b, runs);
    expect(out).toHaveLength(20);
    expect(out.flatMap((x) => rowsOf(x))).toEqual(runs.flatMap(([s, e]) => rowsOf(b).slice(s, e)));
  });
});
