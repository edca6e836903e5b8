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
 *   `initial` (or what it asks, up to `max`) and waits for it (`sync`). Except a read of at least
 *   SCAN_START_READ at the object's start: that is how a scan begins (`read(buf)` with a big buffer
 *   from byte 0), and a peek would cost it a whole round trip before the window opens (Linux's
 *   read-ahead makes the same call: a read at offset 0 starts a sequential window at once).
 * - A read that follows the previous one (it starts where that ended, or at most
 *   READAHEAD_SEQUENTIAL_SLACK after) and reads bytes the first window fetched, or bytes nothing
 *   holds, makes it a scan: the window opens to `max` at once, as parts. So does `scan: true` (the
 *   async iterator: the caller asked for every byte to the end) from the first read on. Reads over
 *   bytes a prefetch already holds fetch nothing more.
 * - Bytes fetched and not yet read stay within `SCAN_AHEAD_FACTOR × max` of the position: a part
 *   that lands while an earlier one is still in flight makes room for a new one, until then.
 * - The window is 5/8 of the budget (`scanWindowFor`; half of a small one), not a fixed size: with a fixed number of
 *   connections, bigger parts mean fewer first-byte waits per byte and fewer requests.
 * - While the object's size is unknown a scan fetches only what the read waits for: parts past an
 *   unknown end would be requests for nothing. The cursor tops up when a response tells the size.
 * - A jump starts over.
 */
import { READAHEAD_SEQUENTIAL_SLACK, type ReadAheadWindow } from './readahead.js';

/**
 * Bytes a scan may hold ahead of its position (in flight plus landed and not yet read), as a
 * multiple of the window in flight: 9/8, i.e. room for a few parts (4 of 32) that land before the
 * one the reader waits for; each frees its connection for the next part at once. More slack only
 * holds bytes nobody reads yet: parts of one size issued in order land nearly in order, and a
 * budget byte spent on slack is one not in flight. (It was 2, a whole window of slack, when the
 * window was a quarter of the budget; that budget now goes in flight: README "Scans: read-ahead and
 * memory" has the measurements.)
 */
export const SCAN_AHEAD_FACTOR = 1.125;

/**
 * Share of the budget a scan keeps in flight: 5/8, where that leaves the bytes it holds within the
 * budget (`scanWindowFor`); 1/2 (SCAN_BUDGET_SHARE_SMALL) otherwise. With the slack
 * (SCAN_AHEAD_FACTOR) a scan holds 45/64 of the budget ahead, plus the block being read and one
 * behind it (2 parts): about 74 % of the default 128 MiB at 32 connections. The rest is headroom for
 * bytes the runtime has not collected yet: V8 frees dropped buffers and the bodies' socket chunks
 * only at its next collection, which it starts some 64 MB of such garbage later, so the process's
 * memory peaks above what the reader holds (bench/scan.ts checks peak RSS growth ≤ 1.2 × maxMemory).
 * A larger window means fewer first-byte waits per connection: the bench's 147 MiB object goes in
 * 2 waves of 32 parts of 2.3 MiB instead of 3 of 1.53 MiB. Measured against 1/2 (`npx tsx
 * bench/scan.ts --check`, 5 runs each, alternated): `for await` 502 → 600 MB/s (medians), the
 * `read(1 MiB)` loop 504 → 565 MB/s; peak RSS growth 0.88–1.15× the budget for `for await` (9 runs;
 * 1/2: 0.61–0.82×). Before the parts were kept as chunks (part.ts) 5/8 had measured 1.23–1.41×.
 */
export const SCAN_BUDGET_SHARE = 5 / 8;

/**
 * The share of a budget too small for SCAN_BUDGET_SHARE, or of a reader with few connections (whose
 * parts are large beside the budget): 1/2, as before SCAN_BUDGET_SHARE. The pool's accounting
 * keeps what the scan holds within the budget there too (a background part it has no room for is
 * not fetched then); this share keeps that from happening on every part.
 */
export const SCAN_BUDGET_SHARE_SMALL = 1 / 2;

/**
 * The window a scan keeps in flight for a budget: SCAN_BUDGET_SHARE of it (80 MiB of the default
 * 128 MiB) when that window with its slack, the block being read and the one behind it (two parts
 * of it over `concurrency` connections, at least SCAN_MIN_PART: `scanPartSize` gives no larger
 * whatever the block cap) fit in the budget, else SCAN_BUDGET_SHARE_SMALL of it: a budget of a few
 * parts (256 KiB, 4 MiB at 32 connections), or few connections (1–4: their parts are an eighth of
 * the window or more, so half it is up to 128 MiB). Or `max` when the caller asked for less
 * (`readahead: n`). A connection's throughput is `part / (first-byte wait + part /
 * bandwidth)`: at 40 MB/s and 25 ms, 1 MiB parts keep a connection busy half the time, 2 MiB parts
 * 68 %; and a window of the same bytes in fewer, larger parts costs fewer requests (per-request work
 * on both ends, S3's price per GET). So the window is as large as the budget allows, rather than a
 * fixed 32 MiB (the positional read-ahead's READAHEAD_MAX).
 */
export function scanWindowFor(maxMemory: number, concurrency: number, max = Infinity): number {
  const wide = Math.floor(maxMemory * SCAN_BUDGET_SHARE);
  const held = Math.floor(SCAN_AHEAD_FACTOR * wide) + 2 * scanPartSize(wide, concurrency, wide);
  const window = held <= maxMemory ? wide : Math.floor(maxMemory * SCAN_BUDGET_SHARE_SMALL);
  return Math.max(0, Math.min(max, window));
}

/**
 * Smallest part of a scan: 1 MiB. In a pipeline a part's first-byte wait overlaps the transfers of
 * the others, so a part need not outlast it (as a lone wave's parts must: `minPartFor`); below 1 MiB
 * the requests' own overhead (headers, scheduling, S3's price per GET) starts to count.
 */
export const SCAN_MIN_PART = 1024 * 1024;

/**
 * A read at byte 0 at least this large opens the scan window at once: 1 MiB (SCAN_MIN_PART, a
 * part's worth). A header peek (a magic number, a length, a footer probe) asks for bytes or KiB; a
 * read of a MiB from the start means to go on. Were it a lone read after all, the window's parts
 * cost bytes, not time: the read waits only for its own part, and `close()` ends the rest. Only as
 * a reader's first read, with its budget empty (`ScanPlanInput.fresh`: a window opened later would
 * evict what a prefetch, or another reader of a shared pool, holds), and not when the caller set
 * `readahead.initial` (that sizes a first read: `ScanAhead.startsAtOnce`).
 */
export const SCAN_START_READ = SCAN_MIN_PART;

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
  /** Nothing is held in the reader's budget (its pool), fetched or in flight: may a large read at 0 open the window (SCAN_START_READ)? */
  fresh: boolean;
}

/**
 * The part size of a scan's window: the window over `concurrency` connections, at least
 * SCAN_MIN_PART and at most `blockCap` (a part is a block) and the window itself. With the size
 * known, a smaller object is spread over all the connections at once (its size over `concurrency`):
 * for a fixed window, parts over every connection beat fewer, larger ones (bytes in flight over the
 * time a part takes: Little's law), and they finish together. A larger object is cut into whole
 * windows — `ceil(size / window)` of them, each `concurrency` parts — rather than windows of
 * `window / concurrency` parts and a remainder: that remainder's last wave would run on a few
 * connections while the others idle (147 MiB in 2 MiB parts: 2 waves of 32 and one of 10, whose
 * 20 MiB took as long as a whole wave), where even waves of 1.53 MiB keep all 32 busy to the end.
 */
export function scanPartSize(window: number, concurrency: number, blockCap: number, size?: number): number {
  const share = size === undefined ? window : size / Math.max(1, Math.ceil(size / window));
  const spread = Math.ceil(Math.min(window, share) / concurrency);
  return Math.max(1, Math.min(window, blockCap, Math.max(SCAN_MIN_PART, spread)));
}

const NONE: ReadAheadWindow[] = [];

export class ScanAhead {
  private lastEnd: number | undefined;
  /** End of what this scan has asked for so far. */
  private frontier = 0;
  private scanning = false;
  /** The part size of the last top-up (0 before the first). */
  private lastPart = 0;

  /**
   * `initial` and `max` in bytes; `max` 0 turns read-ahead off (a miss fetches what the read asks
   * for). `aheadCap`: the most a scan may hold ahead of its position when the window is small (see
   * `topUp`): the budget's SCAN_BUDGET_SHARE, so that what is ahead plus the block being read stay
   * within the budget.
   */
  constructor(
    readonly initial: number,
    readonly max: number,
    readonly aheadCap = Infinity,
    /** Whether a large first read at byte 0 opens the window at once (SCAN_START_READ); false when the caller sized first reads (`readahead.initial`). */
    readonly startsAtOnce = true,
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
    if ((sequential && (!covered || this.frontier > pos)) || input.scan || (this.startsAtOnce && pos === 0 && !covered && want >= SCAN_START_READ && input.fresh)) this.scanning = true;
    let sync: ReadAheadWindow | undefined;
    if (!covered) {
      // What the read waits for: a part of the window, or the first window; never less than the
      // read asks for (up to a block) when a small `readahead` makes the window smaller than the
      // read: its own bytes are not read-ahead (`readahead: 4096` and `read(300 KiB)` used to get
      // 4 KiB a call, a GET each). The iterator (`scan`) asks for everything: its parts stay the window's.
      const length = this.scanning ? (want > this.max && !input.scan ? want : part()) : Math.max(this.initial, want);
      sync = { offset: pos, length, sync: true };
      this.frontier = Math.max(this.frontier, pos + length);
    } else if (this.frontier < pos) this.frontier = pos;
    const more = this.topUp(pos, size, part, inFlight + (sync?.length ?? 0), concurrency);
    if (!sync) return more;
    return more.length > 0 ? [sync, ...more] : [sync];
  }

  /**
   * The background parts that bring `inFlight` back to `max` bytes (and at most `concurrency` parts),
   * within SCAN_AHEAD_FACTOR × max of `pos`, or the window plus one part where `aheadCap` allows (none unless scanning and the size is known; a part is issued only whole, or as the
   * last one before EOF).
   */
  topUp(pos: number, size: number | undefined, part: () => number, inFlight: number, concurrency = Infinity): ReadAheadWindow[] {
    if (!this.scanning || size === undefined || this.max === 0) return NONE;
    // At least one part of slack past the window where the budget allows (aheadCap): a window of one
    // or two parts (a small `readahead`) then still has its next part in flight while the current
    // one is read, instead of sending it at 7/8 of it.
    const slack = Math.min(this.max + (this.lastPart || part()), this.aheadCap);
    const target = Math.min(size, pos + Math.max(Math.floor(SCAN_AHEAD_FACTOR * this.max), slack));
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
