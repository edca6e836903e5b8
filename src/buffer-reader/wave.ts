/**
 * The one wave planner: from the spans a read wants, what is already held (buffered or in flight),
 * and the caps in force, to the requests of one parallel wave. Pure: no I/O, no clock, no state.
 * The Parquet planner (`planRead`), `prefetch` and the reader's batches all plan through it, so a
 * plan's request list is by construction the list the reader sends for the same inputs.
 */
import { ReaderError } from '../errors.js';
import { dropContained, mergeForWave, mergeRanges, sortRanges, splitRange, spreadRequests, unionRanges, type Span } from './coalesce.js';
import { SMALL_GAP, minPartFor } from './cost-model.js';

export interface WaveCaps {
  /** Merge gap: holes up to this size may be read over (the cost model's TTFB × bandwidth, or the option). */
  gap: number;
  /** Largest request: longer spans are split into parts of at most this size (the cost model's, or the option). */
  maxRangeSize: number;
  /**
   * The reader's memory budget: a buffered request is capped at `min(maxRangeSize, maxMemory)`, so a
   * block never exceeds the budget (catalogue case 24). Default: no budget cap.
   */
  maxMemory?: number;
  /** Requests in flight at once: a wave is merged down to, and spread up to, this many. */
  concurrency: number;
}

export interface Wave {
  /** The bytes wanted that nothing holds, sorted and disjoint. */
  missing: Span[];
  /** The requests, sorted and disjoint, covering `missing` exactly plus the holes merged over. */
  requests: Span[];
}

function checkCaps(caps: WaveCaps): void {
  const ok = (n: number | undefined, min: number) => n === undefined || (Number.isSafeInteger(n) && n >= min);
  if (!ok(caps.gap, 0) || !ok(caps.maxRangeSize, 1) || !ok(caps.maxMemory, 1) || !ok(caps.concurrency, 1)) {
    throw new ReaderError('InvalidInput', 'a wave needs gap >= 0 and maxRangeSize, maxMemory, concurrency >= 1 (integers)', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  }
}

/** The request cap a wave is planned with: `min(maxRangeSize, maxMemory)` (the block cap), or maxRangeSize when streamed through. */
export function requestCap(caps: WaveCaps, streamed = false): number {
  return streamed ? caps.maxRangeSize : Math.max(1, Math.min(caps.maxRangeSize, caps.maxMemory ?? caps.maxRangeSize));
}

/**
 * Plans one wave. `wanted`: any spans (overlapping, unsorted, empty ones ignored). `held`: what the
 * reader holds or has in flight (sorted or not; disjoint). The missing parts are grouped so that no
 * request reaches over a held span (a new block never overlaps another); each group merges for the
 * wave (`mergeForWave`: holes ≤ min(gap, SMALL_GAP) always, bigger ones ≤ gap only while the wave
 * has more requests than connections), is split at the request cap, and the whole wave is spread
 * over idle connections (`spreadRequests`, parts of at least `minPartFor(gap)`).
 * `streamed`: the wave is larger than the budget and is streamed through, capped at maxRangeSize.
 */
export function planWave(wanted: readonly Span[], held: readonly Span[], caps: WaveCaps, streamed = false): Wave {
  checkCaps(caps);
  const cap = requestCap(caps, streamed);
  const holds = mergeRanges(dropContained(sortRanges(held)), { gap: 0, maxRangeSize: Number.MAX_SAFE_INTEGER });
  // Subtract what is held, and group the missing parts between held spans.
  const groups: Span[][] = [];
  const missing: Span[] = [];
  let h = 0;
  let lastEnd = -1;
  for (const w of unionRanges(wanted)) {
    const end = w.offset + w.length;
    for (let p = w.offset; p < end; ) {
      while (h < holds.length && (holds[h] as Span).offset + (holds[h] as Span).length <= p) h++;
      const hold = holds[h];
      if (hold && hold.offset <= p) {
        p = hold.offset + hold.length;
        continue;
      }
      const q = Math.min(end, hold ? hold.offset : Infinity);
      const piece = { offset: p, length: q - p };
      // A held span between the previous missing part and this one starts a new group.
      const prev = holds[h - 1]; // the last held span ending at or before p
      const split = lastEnd < 0 || (prev !== undefined && prev.offset + prev.length > lastEnd);
      if (split) groups.push([piece]);
      else (groups.at(-1) as Span[]).push(piece);
      missing.push(piece);
      lastEnd = q;
      p = q;
    }
  }
  const gap = caps.gap;
  const parallel = caps.concurrency;
  const merged = groups.flatMap((g) => mergeForWave(g, { gap, maxRangeSize: cap, parallel, smallGap: Math.min(gap, SMALL_GAP) }).flatMap((m) => splitRange(m, cap)));
  return { missing, requests: spreadRequests(merged, { parallel, minPart: minPartFor(gap) }) };
}
