/**
 * Sequential read-ahead: a pure state machine that decides which windows to fetch; the reader
 * fetches them. Like DuckDB's read buffer and Linux's readahead, the window starts small and
 * doubles while access stays sequential, so a short peek costs one small request and a long scan
 * converges on a few big ones; a jump resets it. The reader runs one for `read()` and one for
 * `readAt()`.
 *
 * - A read at a position nothing covers (buffered or in flight) fetches a window from there and waits
 *   (`sync`). With `onJump: 'exact'` (positional reads) only a sequential read does: a read after a
 *   jump fetches just what it asks, since positional reads are random access until two of them
 *   follow each other.
 * - A sequential read reaching the second half of the last window fetches the next window, double
 *   the size, in the background (`sync: false`), so a scan rarely waits.
 */

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * First window: 1 MiB (DuckDB's read buffer). On S3 a 1 MiB transfer takes ~15 ms, about one first
 * byte wait, so a read that needed 8 bytes pays little more than the request it had to make anyway.
 */
export const READAHEAD_INITIAL = 1 * MiB;

/**
 * Largest window: 32 MiB (DuckDB's cap); it is fetched as parallel parts of `maxRangeSize`. The
 * reader also caps it at half its budget, so the next window never evicts the one being read.
 */
export const READAHEAD_MAX = 32 * MiB;

/**
 * A forward skip of at most this many bytes past the last read still counts as sequential (padding,
 * a skipped header): 8 KiB, Arrow C++'s hole size, as in RangeReader's skip limit.
 */
export const READAHEAD_SEQUENTIAL_SLACK = 8 * KiB;

export interface ReadAheadWindow {
  offset: number;
  length: number;
  /** The read waits for this window (it holds the read's position); otherwise it is a background prefetch. */
  sync: boolean;
}

export class ReadAhead {
  private nextSize: number;
  private lastEnd: number | undefined;
  private window: { offset: number; end: number; triggered: boolean } | undefined;

  /** `initial` and `max` in bytes; `max` 0 turns read-ahead off (a miss fetches what the read asks for). */
  constructor(
    readonly initial: number,
    readonly max: number,
  ) {
    this.nextSize = Math.min(initial, max);
  }

  /** Size of the next window to be issued. */
  get next(): number {
    return this.nextSize;
  }

  private grow(from: number): void {
    this.nextSize = Math.min(this.max, Math.max(this.initial, from * 2));
  }

  /**
   * Windows to fetch for a read at `pos` that wants `want` bytes. `covered`: whether byte `pos` is
   * buffered or in flight. `size`: the object's size when known (no window starts at or past it).
   * `onJump`: what a read at an uncovered position after a jump gets: a window from there
   * (`'window'`, for `read()`), or nothing (`'exact'`, for positional reads).
   */
  plan(pos: number, covered: boolean, want: number, size?: number, onJump: 'window' | 'exact' = 'window'): ReadAheadWindow[] {
    const last = this.lastEnd;
    const sequential = last !== undefined && pos >= last && pos - last <= READAHEAD_SEQUENTIAL_SLACK;
    if (!sequential) {
      this.nextSize = Math.min(this.initial, this.max);
      this.window = undefined;
    }
    if (size !== undefined && pos >= size) return [];
    if (!covered) {
      if (!sequential && onJump === 'exact') return [];
      const length = this.max === 0 ? Math.max(1, want) : Math.max(this.nextSize, Math.min(want, this.max));
      this.window = { offset: pos, end: pos + length, triggered: false };
      this.grow(length);
      return [{ offset: pos, length, sync: true }];
    }
    const w = this.window;
    if (sequential && w && !w.triggered && this.max > 0 && pos >= w.offset + (w.end - w.offset) / 2 && pos < w.end) {
      w.triggered = true;
      if (size !== undefined && w.end >= size) return [];
      const length = this.nextSize;
      this.window = { offset: w.end, end: w.end + length, triggered: false };
      this.grow(length);
      return [{ offset: w.end, length, sync: false }];
    }
    return [];
  }

  /** Records that a read at `pos` returned `n` bytes. */
  advance(pos: number, n: number): void {
    this.lastEnd = pos + n;
  }
}
