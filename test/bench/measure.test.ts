/** bench/measure.ts: the gap between the open's answer and the next request, per iteration. */
import { describe, expect, it } from 'vitest';
import { gapMs, type WaterfallBar } from '../../bench/measure.js';

const bar = (start: number, end: number): WaterfallBar => ({ op: 'GET', start, end, bytes: 1 });

describe('gapMs', () => {
  it('is the time from the first response’s last byte to the first request that starts after it', () => {
    expect(gapMs([bar(0, 35), bar(40, 60), bar(41, 66)])).toBe(5);
    // The log's order is not the requests' order: the first request is the earliest start.
    expect(gapMs([bar(42, 66), bar(0, 35), bar(38.5, 60)])).toBe(3.5);
  });

  it('is undefined for one round trip: a single request, or requests all sent before the first answer ended', () => {
    expect(gapMs([])).toBeUndefined();
    expect(gapMs([bar(0, 35)])).toBeUndefined();
    expect(gapMs([bar(0, 35), bar(1, 30)])).toBeUndefined();
  });
});
