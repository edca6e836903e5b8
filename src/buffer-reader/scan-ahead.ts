/**
 * Read-ahead of `read()` and `for await`: a pure state machine (no I/O) that decides which parts to
 * fetch; the reader's cursor fetches them. Unlike a doubling window (readahead.ts, for positional
 * reads), a scan keeps up to `max` bytes in flight as parts of one size spread over the reader's
 * connections — what a plain parallel fetch of the object does — and tops up part by part, both
 * when the position moves and when a part lands. Parts then finish at staggered times and every
 * connection always has a request: no connection waits for a whole window to drain, and the
 * first-byte waits of new parts overlap the transfers of the others.
 *
 * - The first read at an uncovered position is a peek until proven otherwise: it fetches a window of
 *   `initial` (or what it asks, up to `max`) and waits for it (`sync`).
 * - A read that follows the previous one (it starts where that ended, or at most
 *   READAHEAD_SEQUENTIAL_SLACK after) and reads bytes the first window fetched, or bytes nothing
 *   holds, makes it a scan: the window opens to `max` at once, as parts. So does `scan: true` (the
 *   async iterator: the caller asked for every byte to the end) from the first read on. Reads over
 *   bytes a prefetch already holds fetch nothing more.
 * - Bytes fetched and not yet read stay within `SCAN_AHEAD_FACTOR × max` of the position: a part
 *   that lands while an earlier one is still in flight makes room for a new one, until then.
 * - While the object's size is unknown a scan fetches only what the read waits for: parts past an
 *   unknown end would be requests for nothing. The cursor tops up when a response tells the size.
 * - A jump starts over.
 */
import { READAHEAD_SEQUENTIAL_SLACK, type ReadAheadWindow } from './readahead.js';

/**
 * Bytes a scan may hold ahead of its position (in flight plus landed and not yet read), as a
 * multiple of the window in flight: 2, so that parts landing out of order (or while the reader waits
 * for an earlier one) can be replaced at once by new requests, without waiting for the reads.
 */
export const SCAN_AHEAD_FACTOR = 2;

/**
 * Smallest part of a scan: 1 MiB. In a pipeline a part's first-byte wait overlaps the transfers of
 * the others, so a part need not outlast it (as a lone wave's parts must: `minPartFor`); below 1 MiB
 * the requests' own overhead (headers, scheduling, S3's price per GET) starts to count.
 */
export const SCAN_MIN_PART = 1024 * 1024;

export interface ScanPlanInput {
  /** Whether byte `pos` is buffered or in flight. */
  covered: boolean;
  /** Bytes the read asks for (Infinity: everything to the end). */
  want: number;
  /** The object's size, when known. */
  size: number | undefined;
  /** Bytes of one part of the window (see `scanPartSize`); asked only when a window is planned. */
  part: () => number;
  /** The caller reads to the end (the async iterator): a scan from the first read. */
  scan: boolean;
  /** Bytes of this scan's parts in flight now. */
  inFlight: number;
  /** The reader's connections: never more parts in flight than this (small parts, say a tiny `maxRangeSize`). */
  concurrency: number;
}

/**
 * The part size of a scan's window: the window over `concurrency` connections, at least
 * SCAN_MIN_PART and at most `blockCap` (a part is a block) and the window itself.
 */
export function scanPartSize(window: number, concurrency: number, blockCap: number): number {
  return Math.max(1, Math.min(window, blockCap, Math.max(SCAN_MIN_PART, Math.ceil(window / concurrency))));
}

const NONE: ReadAheadWindow[] = [];

export class ScanAhead {
  private lastEnd: number | undefined;
  /** End of what this scan has asked for so far. */
  private frontier = 0;
  private scanning = false;
  /** The part size of the last top-up (0 before the first). */
  private lastPart = 0;

  /** `initial` and `max` in bytes; `max` 0 turns read-ahead off (a miss fetches what the read asks for). */
  constructor(
    readonly initial: number,
    readonly max: number,
  ) {}

  /** Whether the window is open (the reads are a scan). */
  get active(): boolean {
    return this.scanning;
  }

  /** Windows to fetch for a read at `pos`. Call once per read, then `advance`. */
  plan(pos: number, input: ScanPlanInput): ReadAheadWindow[] {
    const { covered, want, size, part, inFlight, concurrency } = input;
    const last = this.lastEnd;
    const sequential = last !== undefined && pos >= last && pos - last <= READAHEAD_SEQUENTIAL_SLACK;
    if (!sequential) {
      this.scanning = false;
      this.frontier = pos;
    }
    if (size !== undefined && pos >= size) return [];
    if (this.max === 0) return covered ? [] : [{ offset: pos, length: Math.max(1, Math.min(want, Number.MAX_SAFE_INTEGER)), sync: true }];
    // A scan opens when reads follow each other into bytes this read-ahead fetched or none holds
    // (reads over what a prefetch already holds fetch nothing more), or at once for the iterator.
    if ((sequential && (!covered || this.frontier > pos)) || input.scan) this.scanning = true;
    let sync: ReadAheadWindow | undefined;
    if (!covered) {
      const length = this.scanning ? part() : Math.max(this.initial, Math.min(want, this.max));
      sync = { offset: pos, length, sync: true };
      this.frontier = Math.max(this.frontier, pos + length);
    } else if (this.frontier < pos) this.frontier = pos;
    const more = this.topUp(pos, size, part, inFlight + (sync?.length ?? 0), concurrency);
    if (!sync) return more;
    return more.length > 0 ? [sync, ...more] : [sync];
  }

  /**
   * The background parts that bring `inFlight` back to `max` bytes (and at most `concurrency` parts),
   * within SCAN_AHEAD_FACTOR × max of `pos` (none unless scanning and the size is known; a part is issued only whole, or as the
   * last one before EOF).
   */
  topUp(pos: number, size: number | undefined, part: () => number, inFlight: number, concurrency = Infinity): ReadAheadWindow[] {
    if (!this.scanning || size === undefined || this.max === 0) return NONE;
    const target = Math.min(size, pos + SCAN_AHEAD_FACTOR * this.max);
    let at = Math.max(this.frontier, pos);
    // Nothing to do unless a whole part (the last size seen) or the last one fits: the common case, kept cheap.
    if (at >= target || inFlight >= this.max || (target - at < this.lastPart && target !== size)) return NONE;
    const p = part();
    this.lastPart = p;
    const cap = Math.min(this.max, p * concurrency); // parts are of one size: a byte cap is a count cap
    const out: ReadAheadWindow[] = [];
    let flying = inFlight;
    while (at < target && flying + Math.min(p, target - at) <= cap && (target - at >= p || target === size)) {
      const length = Math.min(p, target - at);
      out.push({ offset: at, length, sync: false });
      at += length;
      flying += length;
    }
    this.frontier = at;
    return out;
  }

  /** Records that a read at `pos` returned `n` bytes. */
  advance(pos: number, n: number): void {
    this.lastEnd = pos + n;
  }
}
