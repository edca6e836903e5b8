import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  coalesceRanges,
  dropContained,
  mergeForWave,
  mergeRanges,
  planRequests,
  sortRanges,
  splitRange,
  spreadRequests,
  unionRanges,
  type Span,
} from '../../src/buffer-reader/coalesce.js';
import { ReaderError } from '../../src/errors.js';

const end = (r: Span) => r.offset + r.length;
const covers = (out: Span[], pos: number) => out.some((r) => r.offset <= pos && pos < end(r));

describe('coalesce: examples', () => {
  it('sorts by offset, longer first on a tie, and drops zero-length ranges', () => {
    expect(sortRanges([{ offset: 50, length: 5 }, { offset: 0, length: 0 }, { offset: 10, length: 3 }, { offset: 10, length: 8 }])).toEqual([
      { offset: 10, length: 8 },
      { offset: 10, length: 3 },
      { offset: 50, length: 5 },
    ]);
  });

  it('drops ranges contained in an earlier one', () => {
    expect(dropContained([{ offset: 0, length: 100 }, { offset: 10, length: 10 }, { offset: 90, length: 20 }, { offset: 95, length: 5 }])).toEqual([
      { offset: 0, length: 100 },
      { offset: 90, length: 20 },
    ]);
  });

  it('merges when the hole is at most gap, not when it is one more', () => {
    const opts = { gap: 10, maxRangeSize: 1000 };
    expect(coalesceRanges([{ offset: 0, length: 10 }, { offset: 20, length: 10 }], opts)).toEqual([{ offset: 0, length: 30 }]);
    expect(coalesceRanges([{ offset: 0, length: 10 }, { offset: 21, length: 10 }], opts)).toEqual([
      { offset: 0, length: 10 },
      { offset: 21, length: 10 },
    ]);
  });

  it('gap 0 merges touching and overlapping ranges only', () => {
    expect(coalesceRanges([{ offset: 5, length: 5 }, { offset: 0, length: 5 }, { offset: 8, length: 4 }, { offset: 13, length: 1 }], { gap: 0, maxRangeSize: 100 })).toEqual([
      { offset: 0, length: 12 },
      { offset: 13, length: 1 },
    ]);
  });

  it('stops a merge at maxRangeSize and trims an overlap it cannot absorb', () => {
    expect(coalesceRanges([{ offset: 0, length: 8 }, { offset: 9, length: 2 }], { gap: 5, maxRangeSize: 10 })).toEqual([
      { offset: 0, length: 8 },
      { offset: 9, length: 2 },
    ]);
    expect(mergeRanges([{ offset: 0, length: 8 }, { offset: 5, length: 10 }], { gap: 5, maxRangeSize: 10 })).toEqual([
      { offset: 0, length: 8 },
      { offset: 8, length: 7 },
    ]);
  });

  it('leaves a single range over the cap whole; splitRange cuts it into near-equal parts', () => {
    expect(coalesceRanges([{ offset: 0, length: 25 }], { gap: 0, maxRangeSize: 10 })).toEqual([{ offset: 0, length: 25 }]);
    expect(splitRange({ offset: 100, length: 25 }, 10)).toEqual([
      { offset: 100, length: 9 },
      { offset: 109, length: 9 },
      { offset: 118, length: 7 },
    ]);
    expect(splitRange({ offset: 0, length: 10 }, 10)).toEqual([{ offset: 0, length: 10 }]);
  });

  it('600 small ranges of a 1 MiB object plan as one request', () => {
    const ranges = Array.from({ length: 600 }, (_, i) => ({ offset: i * 1700, length: 100 + (i % 7) }));
    const plan = planRequests(ranges, { gap: 1024 * 1024, maxRangeSize: 16 * 1024 * 1024 });
    expect(plan.requests.map(({ offset, length }) => ({ offset, length }))).toEqual([{ offset: 0, length: 599 * 1700 + 100 + (599 % 7) }]);
    expect(plan.requestsOf.every((r) => r.length === 1 && r[0] === 0)).toBe(true);
    expect(plan.requests[0]?.inputs).toHaveLength(600);
  });

  it('maps inputs to requests both ways, and counts bytes wanted vs fetched', () => {
    const plan = planRequests(
      [
        { offset: 1000, length: 30 }, // 0: split over two requests
        { offset: 0, length: 10 }, // 1
        { offset: 15, length: 5 }, // 2: merged with 1
        { offset: 500, length: 0 }, // 3: nothing
      ],
      { gap: 5, maxRangeSize: 20 },
    );
    expect(plan.requests).toEqual([
      { offset: 0, length: 20, inputs: [1, 2] },
      { offset: 1000, length: 15, inputs: [0] },
      { offset: 1015, length: 15, inputs: [0] },
    ]);
    expect(plan.requestsOf).toEqual([[1, 2], [0], [0], []]);
    expect(plan.bytesWanted).toBe(45);
    expect(plan.bytesFetched).toBe(50);
    expect(planRequests([{ offset: 0, length: 30 }], { gap: 0, maxRangeSize: 16, split: false }).requests).toEqual([{ offset: 0, length: 30, inputs: [0] }]);
  });

  it('unionRanges joins overlaps and touching ranges', () => {
    expect(unionRanges([{ offset: 10, length: 5 }, { offset: 0, length: 10 }, { offset: 12, length: 10 }, { offset: 30, length: 1 }])).toEqual([
      { offset: 0, length: 22 },
      { offset: 30, length: 1 },
    ]);
  });

  it('rejects bad ranges and options with InvalidInput', () => {
    expect(() => sortRanges([{ offset: -1, length: 1 }])).toThrow(ReaderError);
    expect(() => sortRanges([{ offset: 0, length: 1.5 }])).toThrow(ReaderError);
    expect(() => coalesceRanges([], { gap: -1, maxRangeSize: 1 })).toThrow(ReaderError);
    expect(() => coalesceRanges([], { gap: 0, maxRangeSize: 0 })).toThrow(ReaderError);
    expect(() => splitRange({ offset: 0, length: 10 }, 0)).toThrow(ReaderError);
  });
});

describe('coalesce: properties', () => {
  const range = fc.record({ offset: fc.nat(5_000), length: fc.nat(600) });
  const ranges = fc.array(range, { maxLength: 60 });
  const opts = fc.record({ gap: fc.nat(300), maxRangeSize: fc.integer({ min: 1, max: 2_000 }) });

  it('every requested byte is covered; output sorted, disjoint, not mergeable, within the cap unless one input is not', () => {
    fc.assert(
      fc.property(ranges, opts, (rs, o) => {
        const out = coalesceRanges(rs, o);
        for (const r of rs) for (let p = r.offset; p < end(r); p++) expect(covers(out, p)).toBe(true);
        // Nothing fetched outside the span of the inputs it serves: starts and ends are input bytes.
        for (const r of out) {
          expect(r.length).toBeGreaterThan(0);
          expect(covers(rs, r.offset)).toBe(true);
          expect(covers(rs, end(r) - 1)).toBe(true);
        }
        for (let i = 1; i < out.length; i++) {
          const a = out[i - 1] as Span;
          const b = out[i] as Span;
          expect(b.offset).toBeGreaterThanOrEqual(end(a)); // sorted, disjoint
          const mergeable = b.offset - end(a) <= o.gap && end(b) - a.offset <= o.maxRangeSize;
          expect(mergeable).toBe(false);
        }
        for (const r of out) {
          // Over the cap only inside one input that is itself over the cap (trimmed where it overlaps another).
          if (r.length > o.maxRangeSize) expect(rs.some((x) => x.length > o.maxRangeSize && x.offset <= r.offset && end(r) <= end(x))).toBe(true);
        }
      }),
      { numRuns: 200 },
    );
  });

  it('planRequests: split requests are within the cap, cover every input, and the maps agree', () => {
    fc.assert(
      fc.property(ranges, opts, (rs, o) => {
        const plan = planRequests(rs, o);
        for (const r of plan.requests) expect(r.length).toBeLessThanOrEqual(o.maxRangeSize);
        rs.forEach((r, i) => {
          const mine = (plan.requestsOf[i] as number[]).map((j) => plan.requests[j] as Span);
          for (let p = r.offset; p < end(r); p++) expect(covers(mine, p)).toBe(true);
          for (const j of plan.requestsOf[i] as number[]) expect(plan.requests[j]?.inputs).toContain(i);
        });
        const union = unionRanges(rs).reduce((n, r) => n + r.length, 0);
        expect(plan.bytesWanted).toBe(union);
        expect(plan.bytesFetched).toBeGreaterThanOrEqual(union);
      }),
      { numRuns: 150 },
    );
  });

  it('splitRange: the fewest parts, near-equal, contiguous', () => {
    fc.assert(
      fc.property(fc.nat(10_000), fc.integer({ min: 1, max: 5_000 }), fc.integer({ min: 1, max: 700 }), (offset, length, max) => {
        const parts = splitRange({ offset, length }, max);
        expect(parts).toHaveLength(Math.ceil(length / max));
        let at = offset;
        for (const p of parts) {
          expect(p.offset).toBe(at);
          expect(p.length).toBeLessThanOrEqual(max);
          at += p.length;
        }
        expect(at).toBe(offset + length);
        const sizes = parts.map((p) => p.length);
        expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(Math.ceil(length / parts.length));
      }),
    );
  });
});

describe('spreadRequests', () => {
  const MiB = 1024 * 1024;

  it('splits one big request of a short wave into parallel parts of at least minPart', () => {
    expect(spreadRequests([{ offset: 0, length: 10 * MiB }], { parallel: 32, minPart: 2 * MiB })).toEqual(
      Array.from({ length: 5 }, (_, i) => ({ offset: i * 2 * MiB, length: 2 * MiB })),
    );
    // A request smaller than two parts stays whole.
    expect(spreadRequests([{ offset: 5, length: 3 * MiB }], { parallel: 32, minPart: 2 * MiB })).toEqual([{ offset: 5, length: 3 * MiB }]);
    // A full wave is left alone.
    const wave = Array.from({ length: 4 }, (_, i) => ({ offset: i * 100 * MiB, length: 50 * MiB }));
    expect(spreadRequests(wave, { parallel: 4, minPart: 1 })).toEqual(wave);
  });

  it('properties: same bytes, sorted, disjoint, within the wave, parts ≥ minPart unless an input was smaller', () => {
    const spans = fc
      .array(fc.record({ gap: fc.integer({ min: 0, max: 5 * MiB }), length: fc.integer({ min: 1, max: 40 * MiB }) }), { minLength: 1, maxLength: 12 })
      .map((xs) => {
        let at = 0;
        return xs.map(({ gap, length }) => {
          const r = { offset: at + gap, length };
          at = r.offset + length;
          return r;
        });
      });
    fc.assert(
      fc.property(spans, fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 4 * MiB }), (reqs, parallel, minPart) => {
        const out = spreadRequests(reqs, { parallel, minPart });
        expect(out.reduce((n, r) => n + r.length, 0)).toBe(reqs.reduce((n, r) => n + r.length, 0));
        for (let i = 1; i < out.length; i++) expect((out[i] as Span).offset).toBeGreaterThanOrEqual((out[i - 1] as Span).offset + (out[i - 1] as Span).length);
        expect(out.length).toBeLessThanOrEqual(Math.max(parallel, reqs.length));
        const inputs = new Set(reqs.map((r) => `${r.offset}+${r.length}`));
        for (const r of out) if (!inputs.has(`${r.offset}+${r.length}`)) expect(r.length).toBeGreaterThanOrEqual(minPart);
      }),
      { seed: 4242, numRuns: 300 },
    );
  });
});

describe('mergeForWave', () => {
  it('merges small holes always, bigger ones (≤ gap) only while the wave is over its connections', () => {
    const r = [
      { offset: 0, length: 10 },
      { offset: 15, length: 10 }, // hole 5
      { offset: 1000, length: 10 }, // hole 975
      { offset: 3000, length: 10 }, // hole 1990
    ];
    const opts = { gap: 2000, maxRangeSize: 1e9, smallGap: 8 };
    expect(mergeForWave(r, { ...opts, parallel: 8 })).toEqual([
      { offset: 0, length: 25 },
      { offset: 1000, length: 10 },
      { offset: 3000, length: 10 },
    ]);
    expect(mergeForWave(r, { ...opts, parallel: 2 })).toEqual([
      { offset: 0, length: 1010 },
      { offset: 3000, length: 10 },
    ]);
    expect(mergeForWave(r, { ...opts, parallel: 1 })).toEqual([{ offset: 0, length: 3010 }]);
    expect(mergeForWave(r, { ...opts, parallel: 1, gap: 1000 })).toEqual([
      { offset: 0, length: 1010 },
      { offset: 3000, length: 10 },
    ]);
  });

  it('properties: covers every byte, sorted and disjoint, merges no hole over the gap, fits the wave when it can', () => {
    const arb = fc.array(fc.record({ offset: fc.integer({ min: 0, max: 100_000 }), length: fc.integer({ min: 1, max: 5_000 }) }), { minLength: 1, maxLength: 60 });
    fc.assert(
      fc.property(arb, fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 20_000 }), fc.integer({ min: 0, max: 2_000 }), (ranges, parallel, gap, small) => {
        const smallGap = Math.min(small, gap);
        const input = dropContained(sortRanges(ranges));
        const out = mergeForWave(input, { gap, maxRangeSize: Number.MAX_SAFE_INTEGER, parallel, smallGap });
        for (const r of ranges) for (const pos of [r.offset, end(r) - 1]) expect(covers(out, pos)).toBe(true);
        for (let i = 1; i < out.length; i++) expect((out[i] as Span).offset).toBeGreaterThan(end(out[i - 1] as Span));
        // Every byte an output covers that no input asks for lies in a hole of at most `gap`.
        const union = unionRanges(ranges);
        for (let i = 1; i < union.length; i++) {
          const hole = (union[i] as Span).offset - end(union[i - 1] as Span);
          const bridged = out.some((o) => o.offset <= end(union[i - 1] as Span) && end(o) >= (union[i] as Span).offset);
          if (bridged) expect(hole).toBeLessThanOrEqual(gap);
          if (hole <= smallGap) expect(bridged).toBe(true);
        }
        const mergeable = union.length - union.slice(1).filter((u, i) => u.offset - end(union[i] as Span) <= gap).length;
        expect(out.length).toBeLessThanOrEqual(Math.max(parallel, mergeable));
      }),
      { seed: 777, numRuns: 400 },
    );
  });
});
