/** bench/report.ts: "vs best peer" compares like with like (RATIO_RULE). */
import { describe, expect, it } from 'vitest';
import type { CellResult } from '../../bench/measure.js';
import { withRatios } from '../../bench/report.js';

const cell = (reader: string, ours: boolean, wallMs: number, rows: number): CellResult =>
  ({ file: 'big', scenario: 'filter', reader, label: reader, ours, decodes: true, iterations: 1, gets: 1, heads: 0, bytesMoved: 0, bytesNeeded: 0, roundTrips: 1, wallMs, ioMs: 0, ioRuns: [0], floorMs: 0, floorRoundTrips: 1, peakMemMB: 0, rows, waterfall: [] }) as CellResult;

describe('withRatios (RATIO_RULE)', () => {
  it('a peer that returned other rows (unfiltered, or none) is not the best peer', () => {
    const cells = [cell('naive', false, 50, 0), cell('parquet-wasm', false, 80, 130_000), cell('hyparquet', false, 200, 1_000), cell('ours+parquet-wasm', true, 100, 1_000)];
    const ours = withRatios(cells).find((c) => c.ours);
    expect(ours?.vsBestPeer).toBe(2); // hyparquet, the one peer that returned the 1,000 matching rows
    expect(ours?.vsNaive).toBe(0.5); // vs naive stays the plain ratio
  });

  it('no comparable peer: no ratio', () => {
    const ours = withRatios([cell('parquet-wasm', false, 80, 130_000), cell('ours+parquet-wasm', true, 100, 1_000)]).find((c) => c.ours);
    expect(ours?.vsBestPeer).toBeUndefined();
  });
});
