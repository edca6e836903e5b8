/**
 * Cutting results out of fetched buffers. A result that is a large part of its buffer is a zero-copy
 * view; a small one is copied, so a few bytes kept by the caller never pin a big merged buffer after
 * the reader has let it go.
 */
import { ReaderError, type ErrorContext } from '../errors.js';

/**
 * A view smaller than this share of its buffer is copied instead. At one half, a view pins at most as
 * many unused bytes as it returns (memory stays within 2× of what the caller holds), while the big
 * results worth not copying (a column chunk out of a block of a few) stay zero-copy.
 */
export const COPY_BELOW_FRACTION = 0.5;

/**
 * Bytes `[offset, offset + data.length)` of the object. A buffered block is a Piece too: it tells
 * its `byteLength` without `data`, whose making may join a chunked part (part.ts), so only the
 * pieces a result is cut from are asked for their bytes.
 */
export interface Piece {
  offset: number;
  readonly data: Uint8Array;
  readonly byteLength?: number;
}

/** Where a piece ends (a block's without making its `data`). */
export const pieceEnd = (p: Piece): number => p.offset + (p.byteLength ?? p.data.byteLength);

/** A view of `data`, or a copy when the view is a small part of the buffer behind it. */
export function sliceOrCopy(data: Uint8Array, from: number, to: number): Uint8Array {
  const view = data.subarray(from, to);
  const backing = data.buffer.byteLength;
  return view.byteLength >= backing * COPY_BELOW_FRACTION ? view : new Uint8Array(view); // a copy, even of a Buffer
}

/**
 * The bytes `[from, to)` from pieces sorted by offset (disjoint or not). Throws `Unexpected` when the
 * pieces leave a hole: that would be wrong bytes, never a short result.
 */
export function assemble(pieces: readonly Piece[], from: number, to: number, context: ErrorContext): Uint8Array {
  if (to <= from) return new Uint8Array(0);
  const holder = pieces.find((p) => p.offset <= from && pieceEnd(p) >= to);
  if (holder) return sliceOrCopy(holder.data, from - holder.offset, to - holder.offset);
  const out = new Uint8Array(to - from);
  let at = from;
  for (const p of pieces) {
    const pEnd = pieceEnd(p);
    if (pEnd <= at || p.offset > at) continue;
    const upto = Math.min(pEnd, to);
    out.set(p.data.subarray(at - p.offset, upto - p.offset), at - from);
    at = upto;
    if (at >= to) return out;
  }
  throw new ReaderError('Unexpected', `no buffer holds bytes ${at}-${to - 1}`, { ...context, range: { offset: from, length: to - from } }, { code: 'INTERNAL' });
}
