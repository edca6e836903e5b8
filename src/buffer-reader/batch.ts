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
import type { Span } from './coalesce.js';

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
      // One waiter on the signal's one listener (src/abort.ts): a batch of many reads on one signal adds one.
      if (signal) {
        off = onAbort(signal, () => {
          const i = this.pending.indexOf(entry);
          if (i >= 0) this.pending.splice(i, 1);
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
    const inside = (r: Span) => pos >= r.offset && pos < r.offset + r.length;
    return this.pending.some((e) => e.spans.some(inside) || e.extra.some(inside));
  }

  private stop(): void {
    this.cancel?.();
    this.cancel = undefined;
  }

  private run(): void {
    this.cancel = undefined;
    const entries = this.pending;
    this.pending = [];
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
    for (const e of entries) e.fail(err);
  }
}
