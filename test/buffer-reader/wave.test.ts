/** The one wave planner: pure, so its cases are data in, data out. */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planWave, requestCap } from '../../src/buffer-reader/wave.js';
import { KiB, MiB } from './helpers.js';

const caps = { gap: 64 * KiB, maxRangeSize: 1 * MiB, concurrency: 4 };

describe('planWave', () => {
  it('subtracts what is held and never merges a request over it', () => {
    const wave = planWave(
      [
        { offset: 0, length: 100 },
        { offset: 200, length: 100 },
        { offset: 400, length: 100 },
      ],
      [{ offset: 250, length: 200 }],
      caps,
    );
    expect(wave.missing).toEqual([
      { offset: 0, length: 100 },
      { offset: 200, length: 50 },
      { offset: 450, length: 50 },
    ]);
    // The first two merge over a small hole; the third is beyond the held span: its own request.
    expect(wave.requests).toEqual([
      { offset: 0, length: 250 },
      { offset: 450, length: 50 },
    ]);
  });

  it('caps requests at min(maxRangeSize, maxMemory), or maxRangeSize when streamed through', () => {
    const wanted = [{ offset: 0, length: 3 * MiB }];
    const small = { ...caps, maxMemory: 512 * KiB };
    expect(requestCap(small)).toBe(512 * KiB);
    expect(requestCap(small, true)).toBe(1 * MiB);
    expect(planWave(wanted, [], small).requests.every((r) => r.length <= 512 * KiB)).toBe(true);
    expect(planWave(wanted, [], small, true).requests.map((r) => r.length)).toEqual([1 * MiB, 1 * MiB, 1 * MiB]);
  });

  it('spreads a short wave over idle connections (parts of at least one gap or 1 MiB)', () => {
    const wave = planWave([{ offset: 0, length: 4 * MiB }], [], { gap: 64 * KiB, maxRangeSize: 16 * MiB, concurrency: 4 });
    expect(wave.requests.map((r) => r.length)).toEqual([1 * MiB, 1 * MiB, 1 * MiB, 1 * MiB]);
  });

  it('rejects nonsense caps with a typed error', () => {
    expect(() => planWave([], [], { gap: -1, maxRangeSize: 1, concurrency: 1 })).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
    expect(() => planWave([], [], { gap: 0, maxRangeSize: 1, concurrency: 0 })).toThrow(expect.objectContaining({ kind: 'InvalidInput' }));
  });

  it('properties: requests cover exactly the missing bytes (plus holes), sorted, disjoint, none over a held byte, within the cap', () => {
    const span = fc.record({ offset: fc.integer({ min: 0, max: 2000 }), length: fc.integer({ min: 0, max: 300 }) });
    fc.assert(
      fc.property(fc.array(span, { maxLength: 30 }), fc.array(span, { maxLength: 6 }), fc.integer({ min: 0, max: 600 }), fc.integer({ min: 1, max: 2000 }), fc.integer({ min: 1, max: 8 }), (wanted, rawHeld, gap, cap, concurrency) => {
        // Held spans are disjoint in a reader: keep the first of any overlapping pair.
        const held = [...rawHeld].sort((a, b) => a.offset - b.offset).filter((h, i, all) => i === 0 || h.offset >= (all[i - 1] as typeof h).offset + (all[i - 1] as typeof h).length);
        const isHeld = (p: number) => held.some((h) => p >= h.offset && p < h.offset + h.length);
        const isWanted = (p: number) => wanted.some((w) => p >= w.offset && p < w.offset + w.length);
        const { missing, requests } = planWave(wanted, held, { gap, maxRangeSize: cap, concurrency });
        const inRequest = (p: number) => requests.some((r) => p >= r.offset && p < r.offset + r.length);
        for (let i = 1; i < requests.length; i++) expect((requests[i] as { offset: number }).offset).toBeGreaterThanOrEqual((requests[i - 1] as { offset: number; length: number }).offset + (requests[i - 1] as { length: number }).length);
        for (const r of requests) {
          expect(r.length).toBeLessThanOrEqual(cap);
          for (let p = r.offset; p < r.offset + r.length; p++) expect(isHeld(p)).toBe(false);
        }
        for (const m of missing) for (let p = m.offset; p < m.offset + m.length; p++) expect(inRequest(p) && isWanted(p) && !isHeld(p)).toBe(true);
        for (let p = 0; p < 2400; p += 3) if (isWanted(p) && !isHeld(p)) expect(inRequest(p)).toBe(true);
      }),
      { numRuns: 120, seed: 12 },
    );
  }, 60_000);
});
