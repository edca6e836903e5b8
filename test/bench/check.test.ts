/** bench/check.ts: a cell's runs, printed so a reader sees whether a miss is every run or one slow run. */
import { describe, expect, it } from 'vitest';
import { runsLine } from '../../bench/check.js';

describe('runsLine', () => {
  it('prints each run in order, the best and the median against the floor, and the gaps', () => {
    expect(runsLine({ floorMs: 50, ioRuns: [70, 60, 65], gapRuns: [12, 3, 4] })).toBe(
      'I/O runs 70.0/60.0/65.0 ms (best 1.20×, median 1.30×), gap runs 12.0/3.0/4.0 ms (best 3.0, median 4.0)',
    );
  });

  it('adds the gaps on the client clock when the reader was counted client-side', () => {
    expect(runsLine({ floorMs: 50, ioRuns: [70, 60], gapRuns: [12, 3], clientGapRuns: [10.5, 2.25] })).toBe(
      'I/O runs 70.0/60.0 ms (best 1.20×, median 1.40×), gap runs 12.0/3.0 ms (best 3.0, median 12.0), client-side gap runs 10.5/2.3 ms (best 2.3, median 10.5)',
    );
  });

  it('adds the I/O of the reader’s run in the warm-up pass (the cold one) against the floor', () => {
    expect(runsLine({ floorMs: 50, ioRuns: [65, 62], coldIoMs: 90 })).toBe('I/O runs 65.0/62.0 ms (best 1.24×, median 1.30×); its warm-up pass run (cold) 90.0 ms = 1.80×');
  });

  it('leaves the gaps out for a one-round-trip reader, and says when nothing ran', () => {
    expect(runsLine({ floorMs: 50, ioRuns: [55] })).toBe('I/O runs 55.0 ms (best 1.10×, median 1.10×)');
    expect(runsLine({ floorMs: 50, ioRuns: [] })).toBe('no runs');
  });
});
