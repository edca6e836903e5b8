/**
 * The bytes a decode ships (src/parquet/shipped.ts): spans cut at the reader's buffer boundaries,
 * and pieces packed into one buffer per contiguous run — one copy, never a second.
 */
import { describe, expect, it } from 'vitest';
import { cutAt, runsOf } from '../../src/parquet/shipped.js';

describe('cutAt', () => {
  it('cuts spans at the positions strictly inside them, and leaves the rest', () => {
    const spans = [{ offset: 0, length: 100 }, { offset: 200, length: 50 }];
    expect(cutAt(spans, [0, 40, 40, 100, 150, 220, 250, 999])).toEqual([
      { offset: 0, length: 40 },
      { offset: 40, length: 60 },
      { offset: 200, length: 20 },
      { offset: 220, length: 30 },
    ]);
    expect(cutAt(spans, [])).toEqual(spans);
    expect(cutAt([], [5])).toEqual([]);
  });
});

describe('runsOf', () => {
  const bytes = Uint8Array.from({ length: 64 }, (_, i) => i);
  const piece = (offset: number, length: number) => ({ offset, bytes: bytes.subarray(offset, offset + length) });

  it('a lone piece is shipped as it is: the same view, not owned (the decoder copies it if it must)', () => {
    const p = piece(8, 16);
    const [run] = runsOf([p]);
    expect(run?.bytes).toBe(p.bytes);
    expect(run?.owned).toBeUndefined();
  });

  it('touching pieces become one owned buffer of exactly their bytes; a gap starts a new run', () => {
    const runs = runsOf([piece(0, 10), piece(10, 20), piece(30, 2), piece(40, 8)]);
    expect(runs.map((r) => [r.offset, r.bytes.byteLength, r.owned ?? false])).toEqual([
      [0, 32, true],
      [40, 8, false],
    ]);
    const first = runs[0]?.bytes as Uint8Array;
    expect(first).toEqual(bytes.subarray(0, 32));
    expect(first.byteOffset).toBe(0);
    expect(first.buffer.byteLength).toBe(32); // its own buffer: transferable as is
    expect(first.buffer).not.toBe(bytes.buffer);
  });

  it('nothing in, nothing out', () => {
    expect(runsOf([])).toEqual([]);
  });
});
