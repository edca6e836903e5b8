/** The options of a BufferReader and of its calls, and their validation. */
import { ReaderError, type ErrorContext } from '../errors.js';
import type { CostModel } from './cost-model.js';
import type { BufferPool } from './pool.js';
import { READAHEAD_INITIAL, READAHEAD_MAX, ReadAhead } from './readahead.js';
import { ScanAhead, scanWindowFor } from './scan-ahead.js';

export interface BufferReaderOptions {
  /** Merge requests whose hole is at most this many bytes. Default: the cost model's (≈1.9 MiB for S3). */
  gap?: number;
  /** Largest merged request; longer spans are split into parallel parts. Default: the cost model's (16 MiB). */
  maxRangeSize?: number;
  /** Requests in flight at once. Default DEFAULT_CONCURRENCY. */
  concurrency?: number;
  /**
   * Sequential read-ahead for `read()` / `for await`, and for `readAt()` calls that follow each
   * other: false/0 turns it off, a number sets the largest window (what is fetched beyond what a
   * read asks for: a `read(buf)` larger than the window still gets its bytes in one request). Default: positional reads 1 MiB
   * doubling to 32 MiB (at most half the budget); scans a 1 MiB peek, then a sliding window of 5/8
   * of the budget (80 MiB of the default 128 MiB; half of a small budget, or with 1–4 connections; a number caps it) in flight as parts spread over
   * `concurrency` connections (scan-ahead.ts).
   */
  readahead?: boolean | number | { initial?: number; max?: number };
  /** The byte budget for this reader's buffers (ignored when `pool` is given). Default DEFAULT_MAX_MEMORY. */
  maxMemory?: number;
  /** A budget shared with other readers. */
  pool?: BufferPool;
  /** The object's size, when known: no size discovery, and reads at EOF cost nothing. */
  size?: number;
  /** Learn TTFB and bandwidth from completed requests to tune the defaults of `gap`/`maxRangeSize` (default true). */
  adaptive?: boolean;
  /** A cost model to start from and learn into (share one between readers of the same store). */
  costModel?: CostModel;
  /** Count every request with `withMetrics`; `stats().metrics` then has the request list. */
  metrics?: boolean;
  /** Read this version only (sent as If-Match where supported); otherwise the first response's ETag is pinned. */
  etag?: string;
  /**
   * Read this version only, when the server sends no (strong) ETag: a response with another
   * Last-Modified (or size) is `ConditionNotMatch`. Otherwise the first response's is pinned.
   */
  lastModified?: Date;
  /**
   * Called when a request finds the object changed (a 412, or a response of another ETag, size or
   * Last-Modified), just before that read rejects with `ConditionNotMatch` (`ETAG_CHANGED`). The
   * reader stays pinned to its version: a fresh reader reads the new one. May be called more than once.
   */
  onVersionChanged?: (err: ReaderError) => void;
  /** Aborts every request of this reader. */
  signal?: AbortSignal;
  /**
   * How long reads that miss the buffer are collected before they are planned together as one wave:
   * 0 (default, DEFAULT_BATCH_WINDOW_MS) until the current event-loop turn ends; more for decoders
   * that issue their reads across timers. A lone read waits at most this long (0: one turn).
   */
  batchWindowMs?: number;
}

/** Per-call options of `readAt` / `readRanges`. */
export interface ReadCallOptions {
  /**
   * Stops waiting: the call rejects with AbortError at once. A request that other reads still wait
   * for keeps going; one only this call waited for is aborted.
   */
  signal?: AbortSignal;
}

/** Throws `InvalidInput` unless `n` is an integer ≥ `min`. */
export function checkCount(n: unknown, what: string, context: ErrorContext, min = 0): asserts n is number {
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < min) throw new ReaderError('InvalidInput', `${what} must be an integer >= ${min}`, context, { code: 'INVALID_ARGUMENT' });
}


/**
 * The read-ahead of `read()`/`for await` and of positional reads for a `readahead` option and a
 * budget. `false`/0: none. A number: the largest window. `{ initial, max }`: both; a caller who set
 * `initial` sized first reads, so a large one at 0 is no scan's start (SCAN_START_READ).
 */
export function readAheadsFor(option: BufferReaderOptions['readahead'], maxMemory: number, concurrency: number, context: ErrorContext): { scan: ScanAhead; positional: ReadAhead } {
  const ra = option ?? true;
  let initial = READAHEAD_INITIAL;
  let asked: number | undefined; // the largest window the caller set, if any
  if (ra === false || ra === 0) initial = asked = 0;
  else if (typeof ra === 'number') asked = ra;
  else if (typeof ra === 'object') ({ initial = READAHEAD_INITIAL, max: asked } = ra);
  checkCount(initial, 'readahead.initial', context);
  if (asked !== undefined) checkCount(asked, 'readahead.max', context);
  // Positional windows: half the budget at most, so the next window never evicts the one being read.
  const max = Math.min(asked ?? READAHEAD_MAX, Math.floor(maxMemory / 2));
  // A scan's window: most of the budget (scanWindowFor), or less when the caller asked for less.
  const window = scanWindowFor(maxMemory, concurrency);
  const scanMax = Math.min(window, asked ?? Infinity);
  const startsAtOnce = !(typeof ra === 'object' && ra.initial !== undefined);
  return { scan: new ScanAhead(Math.min(initial, scanMax), scanMax, window, startsAtOnce), positional: new ReadAhead(Math.min(initial, max), max) };
}
