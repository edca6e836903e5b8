import { describe, expect, it } from 'vitest';
import {
  ADAPTIVE_ALPHA,
  BANDWIDTH_BOUNDS,
  CostModel,
  DEFAULT_BYTES_PER_SECOND,
  DEFAULT_GAP,
  DEFAULT_MAX_RANGE_SIZE,
  DEFAULT_TTFB_MS,
  MAX_GAP,
  MAX_IDEAL_REQUEST_SIZE,
  MIN_GAP,
  MIN_REQUEST_SIZE,
  TTFB_BOUNDS_MS,
  gapFor,
  maxRangeSizeFor,
} from '../../src/buffer-reader/cost-model.js';

const MiB = 1024 * 1024;

describe('cost model', () => {
  it('defaults: gap = TTFB × bandwidth, size = 9 × gap capped at the 16 MiB sweet spot', () => {
    expect(DEFAULT_GAP).toBe(Math.round((DEFAULT_TTFB_MS / 1000) * DEFAULT_BYTES_PER_SECOND));
    expect(DEFAULT_GAP).toBeGreaterThan(1 * MiB);
    expect(DEFAULT_GAP).toBeLessThan(2 * MiB);
    expect(DEFAULT_MAX_RANGE_SIZE).toBe(16 * MiB);
    expect(maxRangeSizeFor(1 * MiB)).toBe(9 * MiB);
  });

  it('clamps the gap and the request size to their bounds', () => {
    expect(gapFor(0, 1)).toBe(MIN_GAP);
    expect(gapFor(10_000, 1e10)).toBe(MAX_GAP);
    expect(maxRangeSizeFor(MIN_GAP)).toBe(MIN_REQUEST_SIZE);
    expect(maxRangeSizeFor(MAX_GAP)).toBe(MAX_IDEAL_REQUEST_SIZE);
  });

  it('learns by a log-space moving average: one sample moves the estimate by ALPHA of its error in orders of magnitude', () => {
    const m = new CostModel();
    m.observe({ ttfbMs: 300, bytes: 4 * MiB, transferMs: 1000 });
    expect(m.ttfbMs).toBeCloseTo(DEFAULT_TTFB_MS * 10 ** ADAPTIVE_ALPHA, 6); // 10× the prior → ×1.78
    expect(m.bytesPerSecond).toBeCloseTo(DEFAULT_BYTES_PER_SECOND * (4 / 64) ** ADAPTIVE_ALPHA, 0);
    expect(m.samples).toBe(1);
  });

  it('on storage far faster than S3 the gap only shrinks, sample after sample (no overshoot)', () => {
    const m = new CostModel();
    let gap = m.gap;
    for (let i = 0; i < 40; i++) {
      m.observe({ ttfbMs: 0.02, bytes: 1 * MiB, transferMs: 0.2 }); // memory-like: 20 µs, 5 GiB/s
      expect(m.gap).toBeLessThanOrEqual(gap);
      gap = m.gap;
    }
    expect(gap).toBeLessThan(256 * 1024);
  });

  it('converges on a steady network and moves gap and maxRangeSize with it', () => {
    const m = new CostModel();
    for (let i = 0; i < 60; i++) m.observe({ ttfbMs: 100, bytes: 8 * MiB, transferMs: 100 }); // 80 MiB/s, 100 ms
    expect(m.ttfbMs).toBeCloseTo(100, 3);
    expect(m.bytesPerSecond / MiB).toBeCloseTo(80, 3);
    expect(m.gap).toBe(MAX_GAP); // 8 MiB of hole costs one 100 ms first byte
    expect(m.maxRangeSize).toBe(MAX_IDEAL_REQUEST_SIZE);
    const local = new CostModel();
    for (let i = 0; i < 60; i++) local.observe({ ttfbMs: 0.05, bytes: 1 * MiB, transferMs: 1 }); // ~1 GiB/s, 50 µs
    expect(local.gap).toBeLessThan(256 * 1024);
    expect(local.maxRangeSize).toBe(MIN_REQUEST_SIZE);
  });

  it('ignores small bodies for bandwidth, nonsense samples, and clamps outliers', () => {
    const m = new CostModel();
    m.observe({ ttfbMs: 30, bytes: 100, transferMs: 0.0001 });
    expect(m.bytesPerSecond).toBe(DEFAULT_BYTES_PER_SECOND);
    m.observe({ ttfbMs: Number.NaN, bytes: 10 * MiB, transferMs: 1 });
    m.observe({ ttfbMs: -5, bytes: 10 * MiB, transferMs: 1 });
    expect(m.samples).toBe(1);
    for (let i = 0; i < 200; i++) m.observe({ ttfbMs: 1e9, bytes: 1e12, transferMs: 1e-6 });
    expect(m.ttfbMs).toBeLessThanOrEqual(TTFB_BOUNDS_MS[1]);
    expect(m.bytesPerSecond).toBeLessThanOrEqual(BANDWIDTH_BOUNDS[1]);
  });

  it('does not move when adaptive is off', () => {
    const m = new CostModel({ adaptive: false, ttfbMs: 10, bytesPerSecond: 100 * MiB });
    m.observe({ ttfbMs: 500, bytes: 10 * MiB, transferMs: 1000 });
    expect(m.snapshot()).toEqual({ ttfbMs: 10, bytesPerSecond: 100 * MiB, gap: gapFor(10, 100 * MiB), maxRangeSize: maxRangeSizeFor(gapFor(10, 100 * MiB)), samples: 0, adaptive: false });
    expect(() => new CostModel({ bytesPerSecond: 0 })).toThrow();
  });
});
