/**
 * The bytes a decode ships to parquet-wasm, in one copy. They sit in the reader's buffers as a few
 * large pieces (the open's window, one buffer per request of the prefetch); reading their union as
 * one range would assemble it into a fresh buffer first, and the decoder would then copy that again
 * to transfer it. Instead the union is read piece by piece, each piece inside one buffer (a view, no
 * copy), and pieces that touch are copied once into one buffer of their run, which the decoder may
 * transfer as it is.
 */
import type { Span } from '../buffer-reader/coalesce.js';

/** Bytes at `offset` of the object, as a decode ships them. */
export interface ShippedBytes {
  offset: number;
  bytes: Uint8Array;
  /**
   * A fresh buffer of exactly these bytes that nothing else holds: the decoder may transfer (detach)
   * it. Otherwise the bytes may be a view of the reader's buffers, which later reads still use.
   */
  owned?: boolean;
}

/** `spans` (sorted, disjoint) cut at every position in `cuts` that falls strictly inside one. */
export function cutAt(spans: readonly Span[], cuts: readonly number[]): Span[] {
  const at = [...new Set(cuts)].sort((a, b) => a - b);
  const out: Span[] = [];
  let i = 0; // both lists are sorted: one pass over the cuts for all the spans
  for (const s of spans) {
    let from = s.offset;
    const end = s.offset + s.length;
    while (i < at.length && (at[i] as number) <= from) i++;
    for (; i < at.length && (at[i] as number) < end; i++) {
      out.push({ offset: from, length: (at[i] as number) - from });
      from = at[i] as number;
    }
    out.push({ offset: from, length: end - from });
  }
  return out;
}

/**
 * Pieces (sorted by offset, disjoint) as contiguous runs: a run of one piece as it is (no copy: the
 * decoder copies it if it must transfer it); a run of several, copied once into a buffer of its own
 * (`owned`).
 */
export function runsOf(pieces: readonly { offset: number; bytes: Uint8Array }[]): ShippedBytes[] {
  const out: ShippedBytes[] = [];
  for (let i = 0; i < pieces.length; ) {
    const first = pieces[i] as { offset: number; bytes: Uint8Array };
    let end = first.offset + first.bytes.byteLength;
    let j = i + 1;
    while (j < pieces.length && (pieces[j] as { offset: number }).offset === end) {
      end += (pieces[j] as { bytes: Uint8Array }).bytes.byteLength;
      j++;
    }
    if (j === i + 1) out.push({ offset: first.offset, bytes: first.bytes });
    else {
      const run = new Uint8Array(end - first.offset);
      for (let k = i; k < j; k++) {
        const p = pieces[k] as { offset: number; bytes: Uint8Array };
        run.set(p.bytes, p.offset - first.offset);
      }
      out.push({ offset: first.offset, bytes: run, owned: true });
    }
    i = j;
  }
  return out;
}
