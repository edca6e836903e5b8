/**
 * Reads issued together are planned together. Decoders that read through a file object issue their
 * reads in their own rhythm: hyparquet fires every slice of a read in one synchronous loop
 * (`prefetchAsyncBuffer`), parquet-wasm asks for the column chunks of a row group in one poll, our
 * decoder worker posts its slices as messages that arrive in one turn. Each would be its own GET if
 * planned on arrival; collected until the turn ends, they are one wave (merged, capped, spread).
 * Anchors: JBrowse's range fetcher aggregates the fetches of the last 100 ms; geotiff.js's
 * BlockedSource defers block requests to the next tick.
 */
import { onAbort } from '../abort.js';
import { ReaderError, abortError } from '../errors.js';
import { unionRanges, type Span } from './coalesce.js';

/**
 * Default batch window: 0, meaning until the current macrotask turn ends (the microtask queue has
 * drained and one `setImmediate` has passed). Measured here (bench "drop-in", `batchWindowMs` 0 vs
 * 1, 5 and 20 ms): hyparquet's slices, parquet-wasm's chunk reads and our decoder worker's slice
 * messages all arrive within one turn, so a longer window saves no request for any of them and only
 * delays every read; apache-arrow reads one piece at a time (it awaits each), which no window can
 * batch — read-ahead serves it. Set `batchWindowMs` for decoders that spread their reads over timers.
 */
export const DEFAULT_BATCH_WINDOW_MS = 0;

/** Runs `fn` once the current turn of the event loop ends (`setImmediate` where it exists, else a 0 ms timer). */
function afterTurn(fn: () => void): () => void {
  const g = globalThis as { setImmediate?: (f: () => void) => unknown; clearImmediate?: (h: unknown) => void };
  if (g.setImmediate && g.clearImmediate) {
    const h = g.setImmediate(fn);
    return () => g.clearImmediate?.(h);
  }
  const t = setTimeout(fn, 0);
  return () => clearTimeout(t);
}

/** One caller's wanted spans, waiting for the batch to be planned. */
export interface BatchEntry<T> {
  /** Bytes the caller needs. */
  readonly spans: readonly Span[];
  /** Bytes worth fetching along when the budget has room (a read-ahead window). */
  readonly extra: readonly Span[];
  /** Called synchronously at the flush with what `plan` gave for this entry. */
  settle(value: T): void;
  fail(err: unknown): void;
}

/**
 * Collects entries until the window closes, then hands them all to `flush` at once (synchronously,
 * so the requests it starts are in flight before any caller resumes). `T`: what each caller gets.
 */
export class Batcher<T> {
  private pending: BatchEntry<T>[] = [];
  /**
   * The union of the pending entries' spans and extras, sorted and disjoint, for `covers`: every
   * positional read asks it once, so a linear scan makes a turn of N reads cost N² span checks.
   * Measured here (1,000 pending entries of 2–3 spans, Node 20, loaded 2-core machine): a scan was
   * 45–50 µs a call and a turn of 1,000 reads 21–37 ms against 1.0–1.6 ms for the adds alone; this
   * index is 0.06–0.1 µs a call, 1.7–1.9 ms a turn. Kept as entries arrive; undefined after an
   * abort took one out (rebuilt at the next `covers`); empty again once the batch is flushed.
   */
  private union: Span[] | undefined = [];
  private cancel: (() => void) | undefined;

  constructor(
    readonly windowMs: number,
    private readonly flush: (entries: BatchEntry<T>[]) => void,
  ) {
    if (!(windowMs >= 0) || !Number.isFinite(windowMs)) {
      throw new ReaderError('InvalidInput', 'batchWindowMs must be a finite number >= 0', { op: 'open' }, { code: 'INVALID_ARGUMENT' });
    }
  }

  /** Entries waiting for the window to close. */
  get waiting(): number {
    return this.pending.length;
  }

  /**
   * Adds spans to the open batch (opening one if none is); resolves with this caller's share once
   * the batch is planned. A signal that fires first takes the entry out of the batch (AbortError).
   */
  add(spans: readonly Span[], extra: readonly Span[] = [], signal?: AbortSignal): Promise<T> {
    if (signal?.aborted) return Promise.reject(abortError(signal, { op: 'read' }));
    return new Promise<T>((resolve, reject) => {
      let off = (): void => undefined;
      const entry: BatchEntry<T> = {
        spans,
        extra,
        settle: (v) => {
          off();
          resolve(v);
        },
        fail: (err) => {
          off();
          reject(err);
        },
      };
      this.pending.push(entry);
      if (this.union) for (const r of [...spans, ...extra]) addToUnion(this.union, r);
      // One waiter on the signal's one listener (src/abort.ts): a batch of many reads on one signal adds one.
      if (signal) {
        off = onAbort(signal, () => {
          const i = this.pending.indexOf(entry);
          if (i >= 0) {
            this.pending.splice(i, 1);
            this.union = undefined;
          }
          if (this.pending.length === 0) this.stop();
          reject(abortError(signal, { op: 'read' }));
        });
      }
      if (!this.cancel) {
        const run = () => this.run();
        if (this.windowMs > 0) {
          const t = setTimeout(run, this.windowMs);
          this.cancel = () => clearTimeout(t);
        } else this.cancel = afterTurn(run);
      }
    });
  }

  /** Whether byte `pos` is wanted (or fetched along) by the open batch: it will be in flight once the batch is planned. */
  covers(pos: number): boolean {
    this.union ??= unionRanges(this.pending.flatMap((e) => [...e.spans, ...e.extra]).filter((r) => r.length > 0));
    const u = this.union;
    const at = u[firstEndingAfter(u, pos)];
    return at !== undefined && at.offset <= pos;
  }

  private stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private run(): void {
    this.cancel = undefined;
    const entries = this.pending;
    this.pending = [];
    this.union = [];
    if (entries.length === 0) return;
    try {
      this.flush(entries);
    } catch (err) {
      for (const e of entries) e.fail(err);
    }
  }

  /** Fails every waiting entry (the reader closed). */
  close(err: unknown): void {
    this.stop();
    const entries = this.pending;
    this.pending = [];
    this.union = [];
    for (const e of entries) e.fail(err);
  }
}

/** Index of the first span of `u` (sorted, disjoint) that ends after `pos`. */
function firstEndingAfter(u: readonly Span[], pos: number): number {
  let lo = 0;
  let hi = u.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const m = u[mid] as Span;
    if (m.offset + m.length <= pos) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Adds `r` to the sorted, disjoint union `u` in place, merging what it overlaps or touches. */
function addToUnion(u: Span[], r: Span): void {
  if (!(r.length > 0)) return;
  let start = r.offset;
  let end = r.offset + r.length;
  // The first span ending at or after `start` (a span that just touches it merges too).
  let i = firstEndingAfter(u, start - 1);
  const first = i;
  for (; i < u.length && (u[i] as Span).offset <= end; i++) {
    const m = u[i] as Span;
    start = Math.min(start, m.offset);
    end = Math.max(end, m.offset + m.length);
  }
  u.splice(first, i - first, { offset: start, length: end - start });
}
