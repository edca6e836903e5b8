/**
 * Request planning as pure functions: no I/O, no clock, no state. A range is `{ offset, length }`
 * covering `[offset, offset + length)` (end exclusive). Zero-length ranges ask for nothing and are
 * dropped. The primitives of the one wave planner (`planWave`, src/buffer-reader/wave.ts).
 */
import { ReaderError } from '../errors.js';

export interface Span {
  offset: number;
  length: number;
}

export interface CoalesceOptions {
  /**
   * Two ranges are merged into one request when the bytes between them number at most `gap`
   * (reading those unneeded bytes is cheaper than another request's time to first byte). 0 merges
   * only touching or overlapping ranges.
   */
  gap: number;
  /**
   * A merge never grows a request past this many bytes. A single input range longer than this is
   * left whole by `coalesceRanges` (and split by `splitRange` / `planRequests`).
   */
  maxRangeSize: number;
}

function checkSpan(r: Span, i: number): void {
  const ok =
    r !== null &&
    typeof r === 'object' &&
    Number.isSafeInteger(r.offset) &&
    r.offset >= 0 &&
    Number.isSafeInteger(r.length) &&
    r.length >= 0 &&
    Number.isSafeInteger(r.offset + r.length);
  if (!ok) throw new ReaderError('InvalidInput', `range ${i} must have integer offset >= 0 and length >= 0`, { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
}

function checkOptions(opts: CoalesceOptions): void {
  if (!Number.isSafeInteger(opts.gap) || opts.gap < 0) throw new ReaderError('InvalidInput', 'gap must be an integer >= 0', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  if (!Number.isSafeInteger(opts.maxRangeSize) || opts.maxRangeSize < 1) {
    throw new ReaderError('InvalidInput', 'maxRangeSize must be an integer >= 1', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  }
}

const end = (r: Span): number => r.offset + r.length;

/** Copies, drops zero-length ranges, and sorts by offset (longer first on a tie). */
export function sortRanges(ranges: readonly Span[]): Span[] {
  ranges.forEach(checkSpan);
  return ranges
    .filter((r) => r.length > 0)
    .map((r) => ({ offset: r.offset, length: r.length }))
    .sort((a, b) => a.offset - b.offset || b.length - a.length);
}

/** Drops every range that lies inside an earlier one. Input must be sorted (`sortRanges`). */
export function dropContained(sorted: readonly Span[]): Span[] {
  const out: Span[] = [];
  let reach = -1;
  for (const r of sorted) {
    if (end(r) <= reach) continue;
    out.push(r);
    reach = end(r);
  }
  return out;
}

/**
 * Greedy left-to-right merge of sorted ranges with no containment (`dropContained`): the next range
 * joins the current request when the hole between them is ≤ `gap` and the merged request stays
 * ≤ `maxRangeSize`. Overlapping ranges that cannot merge under the cap are trimmed so the output is
 * disjoint: the later one starts where the earlier one ends.
 *
 * Output: sorted, disjoint, covering every input byte; two neighbours are never mergeable (their
 * hole is > `gap`, or their union is > `maxRangeSize`); an output is longer than `maxRangeSize` only
 * when it is a single input range that already was.
 */
export function mergeRanges(sorted: readonly Span[], opts: CoalesceOptions): Span[] {
  checkOptions(opts);
  const out: Span[] = [];
  let cur: Span | undefined;
  for (const r of sorted) {
    if (!cur) {
      cur = { ...r };
      continue;
    }
    const curEnd = end(cur);
    const hole = r.offset - curEnd; // negative: overlap
    const mergedEnd = Math.max(curEnd, end(r));
    if (hole <= opts.gap && mergedEnd - cur.offset <= opts.maxRangeSize) {
      cur.length = mergedEnd - cur.offset;
      continue;
    }
    out.push(cur);
    cur = hole < 0 ? { offset: curEnd, length: end(r) - curEnd } : { ...r };
  }
  if (cur) out.push(cur);
  return out;
}

/** sort → drop contained → merge: the merged requests for `ranges`, before any split. */
export function coalesceRanges(ranges: readonly Span[], opts: CoalesceOptions): Span[] {
  return mergeRanges(dropContained(sortRanges(ranges)), opts);
}

/**
 * Splits a range longer than `maxPart` into the fewest near-equal parts of at most `maxPart` bytes,
 * to be fetched in parallel (equal parts finish together; a small last part would waste a request's
 * first-byte wait on few bytes).
 */
export function splitRange(range: Span, maxPart: number): Span[] {
  checkSpan(range, 0);
  if (!Number.isSafeInteger(maxPart) || maxPart < 1) throw new ReaderError('InvalidInput', 'part size must be an integer >= 1', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  if (range.length <= maxPart) return range.length > 0 ? [{ offset: range.offset, length: range.length }] : [];
  const parts = Math.ceil(range.length / maxPart);
  const size = Math.ceil(range.length / parts);
  const out: Span[] = [];
  for (let at = range.offset; at < end(range); at += size) out.push({ offset: at, length: Math.min(size, end(range) - at) });
  return out;
}

export interface PlannedRequest extends Span {
  /** Indices (into the input list) of the ranges this request serves bytes of, ascending. */
  inputs: number[];
}

export interface RequestPlan {
  /** What to fetch, sorted and disjoint; none longer than `maxRangeSize` when split (the default). */
  requests: PlannedRequest[];
  /** For each input range, the indices of the requests that hold its bytes, in offset order (empty for length 0). */
  requestsOf: number[][];
  /** Distinct bytes the inputs ask for (overlaps counted once). */
  bytesWanted: number;
  /** Bytes the requests fetch: `bytesWanted` plus the holes merged over. */
  bytesFetched: number;
}

export interface SpreadOptions {
  /** Requests that can be in flight at once: a wave never grows past this by spreading. */
  parallel: number;
  /**
   * Holes up to this size are always merged over (default 0). Bigger holes, up to the plan's `gap`,
   * are merged only while the wave has more requests than `parallel` (see `mergeForWave`).
   */
  smallGap?: number;
  /** Smallest part worth its own request (≈ TTFB × bandwidth: a smaller part waits longer than it transfers). */
  minPart: number;
}

export interface PlanOptions extends CoalesceOptions {
  /** Split merged requests longer than `maxRangeSize` into parallel parts (default true). */
  split?: boolean;
}

export interface WaveMergeOptions extends CoalesceOptions {
  parallel: number;
  smallGap: number;
}

/**
 * Merging for one parallel wave. Merging over a hole saves a request but puts the hole's bytes on one
 * connection's clock; while the wave has idle connections a separate request costs no time at all.
 * So: always merge holes ≤ `smallGap`; then merge the smallest remaining holes (each ≤ `gap`) only
 * while the wave has more than `parallel` requests. The merged-size cap holds throughout.
 * Input: sorted, no containment (`dropContained`). Output: sorted, disjoint, covering every input byte.
 */
export function mergeForWave(sorted: readonly Span[], opts: WaveMergeOptions): Span[] {
  checkOptions(opts);
  // Overlaps first (they are holes of negative size): the plain merge with no gap handles them.
  const spans = mergeRanges(sorted, { gap: 0, maxRangeSize: opts.maxRangeSize });
  const n = spans.length;
  if (n <= 1) return spans;
  // A doubly linked list of segments; hole i lies between segment i and the next.
  const start = spans.map((r) => r.offset);
  const stop = spans.map((r) => end(r));
  const next = spans.map((_, i) => (i + 1 < n ? i + 1 : -1));
  const alive = spans.map(() => true);
  let count = n;
  const holes = Array.from({ length: n - 1 }, (_, i) => ({ i, size: (start[i + 1] as number) - (stop[i] as number) })).sort((a, b) => a.size - b.size || a.i - b.i);
  // Hole i is still between segment `head(i)` and segment i + 1 (the left side may have absorbed others).
  const head = spans.map((_, i) => i);
  const find = (i: number): number => {
    while (head[i] !== i) i = head[i] as number;
    return i;
  };
  for (const h of holes) {
    if (h.size > opts.gap) break;
    if (h.size > opts.smallGap && count <= opts.parallel) break;
    const left = find(h.i);
    const right = h.i + 1;
    if (!alive[right]) continue;
    if ((stop[right] as number) - (start[left] as number) > opts.maxRangeSize) continue;
    stop[left] = stop[right] as number;
    next[left] = next[right] as number;
    alive[right] = false;
    head[right] = left;
    count--;
  }
  const out: Span[] = [];
  for (let i = 0; i !== -1 && i < n; i = next[i] as number) out.push({ offset: start[i] as number, length: (stop[i] as number) - (start[i] as number) });
  return out;
}

/**
 * Splits the requests of one wave into more, smaller parallel parts while the wave has fewer than
 * `parallel` requests and the parts stay at least `minPart` bytes. Where a connection's bandwidth is
 * the limit (S3 serves ~100 MB/s per GET and far more in parallel), a request of S bytes finishes in
 * TTFB + S/bw, and k parts of it in TTFB + S/(k·bw): a 10 MB row group goes from ~150 ms to ~50 ms.
 * Pure; parts are near-equal; the output stays sorted and disjoint and covers the same bytes.
 */
export function spreadRequests(requests: readonly Span[], opts: SpreadOptions): Span[] {
  if (!Number.isSafeInteger(opts.parallel) || opts.parallel < 1 || !(opts.minPart >= 1) || !Number.isFinite(opts.minPart)) {
    throw new ReaderError('InvalidInput', 'spread needs parallel >= 1 and a finite minPart >= 1', { op: 'plan' }, { code: 'INVALID_ARGUMENT' });
  }
  if (requests.length >= opts.parallel) return requests.map((r) => ({ offset: r.offset, length: r.length }));
  const total = requests.reduce((n, r) => n + r.length, 0);
  // The part size: at least minPart, and large enough that the wave fits in `parallel` requests.
  // A request of S bytes becomes floor(S / part) near-equal parts, so no part is below `part`.
  let part = Math.max(Math.ceil(opts.minPart), Math.ceil(total / opts.parallel));
  const partsOf = (r: Span, p: number) => Math.max(1, Math.floor(r.length / p));
  const count = (p: number) => requests.reduce((n, r) => n + partsOf(r, p), 0);
  while (count(part) > opts.parallel) part = Math.ceil(part * 1.05);
  return requests.flatMap((r) => {
    const k = partsOf(r, part);
    return k > 1 ? splitRange(r, Math.ceil(r.length / k)) : [{ offset: r.offset, length: r.length }];
  });
}

/**
 * The plan for a list of ranges without a wave's spreading: coalesce, split, and map inputs to
 * requests both ways. Pure: the same input gives the same plan. (A reader's wave is `planWave`.)
 */
export function planRequests(ranges: readonly Span[], opts: PlanOptions): RequestPlan {
  const merged = coalesceRanges(ranges, opts);
  return mapRequests(ranges, opts.split === false ? merged : merged.flatMap((m) => splitRange(m, opts.maxRangeSize)));
}

/** Maps input ranges to the sorted, disjoint requests `parts` that hold their bytes, both ways. */
export function mapRequests(ranges: readonly Span[], parts: readonly Span[]): RequestPlan {
  const requests: PlannedRequest[] = parts.map((p) => ({ offset: p.offset, length: p.length, inputs: [] }));
  const requestsOf: number[][] = ranges.map(() => []);
  ranges.forEach((r, i) => {
    if (r.length === 0) return;
    // First request ending after r.offset (requests are sorted and disjoint).
    let lo = 0;
    let hi = requests.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (end(requests[mid] as Span) <= r.offset) lo = mid + 1;
      else hi = mid;
    }
    for (let j = lo; j < requests.length && (requests[j] as Span).offset < end(r); j++) {
      (requestsOf[i] as number[]).push(j);
      (requests[j] as PlannedRequest).inputs.push(i);
    }
  });
  let bytesWanted = 0;
  for (const m of unionRanges(ranges)) bytesWanted += m.length;
  const bytesFetched = requests.reduce((n, r) => n + r.length, 0);
  return { requests, requestsOf, bytesWanted, bytesFetched };
}

/** The union of ranges as sorted, disjoint spans (touching ranges joined). */
export function unionRanges(ranges: readonly Span[]): Span[] {
  return mergeRanges(dropContained(sortRanges(ranges)), { gap: 0, maxRangeSize: Number.MAX_SAFE_INTEGER });
}
