/**
 * Timeouts, the one copy: a `Deadline` (the caller's AbortSignal plus an optional time limit, stopped
 * by a ReaderError) and a `StallWatch` (a request under a deadline whose next bytes must arrive within
 * `stallMs`). `withRetry` runs each operation under a Deadline and each request under a StallWatch;
 * the Parquet decode guard (src/parquet/decode.ts) is a Deadline too. Stopping is always by a
 * ReaderError: `Aborted` for the caller's signal, `Timeout` for a time limit or a stall.
 */
import { onAbort } from '../abort.js';
import { ReaderError, abortError, type ErrorContext } from '../errors.js';

/** Closes a body we no longer want (its request is aborted separately). */
export function release(body: AsyncIterable<Uint8Array>): void {
  try {
    body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
  } catch {
    // nothing to release
  }
}

export interface DeadlineOptions {
  /** The caller's signal: when it fires the deadline stops with `Aborted`. */
  signal?: AbortSignal;
  /** Stop after this many ms (none: only the signal or `fail` stop it). */
  timeoutMs?: number;
  /** The error a timeout stops with. */
  timeoutError: (timeoutMs: number) => ReaderError;
  /** Hears about a timeout (counters). */
  onTimeout?: () => void;
}

/**
 * A scope that ends with a ReaderError: the caller's signal fired, the time limit passed, or someone
 * called `fail`. `signal` fires with that error as its reason; `race` ties a promise to it. Call
 * `dispose` when the scope's work is done (it clears the timer and the listener on the caller's signal).
 */
export class Deadline {
  readonly started = performance.now();
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  /** Stops waiting on the caller's signal (one waiter on its one listener: src/abort.ts). */
  private readonly offCaller: () => void;
  private failedPromise: Promise<never> | undefined;
  private disposed = false;

  constructor(
    readonly context: ErrorContext,
    opts: DeadlineOptions,
  ) {
    const caller = opts.signal;
    this.offCaller = caller ? onAbort(caller, () => this.fail(abortError(caller, context))) : () => undefined;
    if (opts.timeoutMs !== undefined && !this.controller.signal.aborted) {
      const ms = opts.timeoutMs;
      this.timer = setTimeout(() => {
        opts.onTimeout?.();
        this.fail(opts.timeoutError(ms));
      }, ms);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the scope was stopped, if it was. */
  get stopped(): ReaderError | undefined {
    return this.signal.aborted ? (this.signal.reason as ReaderError) : undefined;
  }

  /** Stops the scope with `err` (the first stop wins). */
  readonly fail = (err: ReaderError): void => {
    if (!this.controller.signal.aborted) this.controller.abort(err);
  };

  /** Rejects with the stopping error once the scope stops (never resolves). */
  get failed(): Promise<never> {
    if (!this.failedPromise) {
      this.failedPromise = new Promise<never>((_, reject) => {
        if (this.signal.aborted) reject(this.signal.reason);
        else this.signal.addEventListener('abort', () => reject(this.signal.reason), { once: true });
      });
      this.failedPromise.catch(() => undefined);
    }
    return this.failedPromise;
  }

  /** `p`, unless the scope stops first (then the error that stopped it). */
  race<T>(p: Promise<T>): Promise<T> {
    return Promise.race([p, this.failed]);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    this.offCaller();
  }
}

/**
 * One request under a Deadline: aborted when the deadline stops, or by its own stall watchdog while
 * `race` waits (no headers or next body bytes for `stallMs`: `Timeout`, code `STALLED`).
 *
 * One timer per request, not one per chunk: `race` only notes when the wait began, and the timer,
 * when it fires, checks how long the current wait has lasted — it stalls, or sleeps the rest of
 * `stallMs` from that wait's start, or (nothing awaited: the consumer is busy) lets the next `race`
 * arm it again. A body of a thousand chunks used to set and clear a thousand timers, and add a
 * reaction per chunk to a promise that lives as long as the request.
 */
export class StallWatch {
  private readonly controller = new AbortController();
  private timer: ReturnType<typeof setTimeout> | undefined;
  /** Rejecters of the races waiting now (one, for a body read in order). */
  private readonly waiting = new Set<(err: ReaderError) => void>();
  /** When the current wait began, or the last awaited promise settled while others still wait. */
  private since = 0;
  private stoppedWith: ReaderError | undefined;
  private disposed = false;
  private readonly onStop: () => void;
  stalled = false;

  constructor(
    private readonly deadline: Deadline,
    private readonly stallMs: number,
    private readonly onStall: () => void = () => undefined,
  ) {
    this.onStop = () => this.stop(deadline.signal.reason as ReaderError);
    if (deadline.signal.aborted) this.onStop();
    else deadline.signal.addEventListener('abort', this.onStop, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private stop(err: ReaderError): void {
    if (this.stoppedWith) return;
    this.stoppedWith = err;
    this.disarm();
    for (const reject of this.waiting) reject(err);
    this.waiting.clear();
    this.controller.abort(err);
  }

  /** `p`, unless the request stops first (then the error that stopped it). The stall watchdog runs meanwhile. */
  race<T>(p: Promise<T>): Promise<T> {
    const stopped = this.stoppedWith;
    if (stopped) {
      p.catch(() => undefined);
      return Promise.reject(stopped);
    }
    const ms = this.stallMs;
    const watched = ms > 0 && Number.isFinite(ms) && !this.disposed;
    if (watched && this.waiting.size === 0) this.since = performance.now();
    return new Promise<T>((resolve, reject) => {
      this.waiting.add(reject);
      if (watched && this.timer === undefined) this.timer = setTimeout(this.check, ms);
      const settled = (): boolean => {
        if (!this.waiting.delete(reject)) return false; // stopped first: already rejected
        this.since = performance.now();
        return true;
      };
      p.then(
        (v) => {
          if (settled()) resolve(v);
        },
        (e: unknown) => {
          if (settled()) reject(e);
        },
      );
    });
  }

  /** The one timer: stall if the current wait has lasted `stallMs`, else sleep the rest of it. */
  private readonly check = (): void => {
    this.timer = undefined;
    if (this.waiting.size === 0 || this.stoppedWith) return; // nothing awaited: the next race arms it again
    const ms = this.stallMs;
    const idle = performance.now() - this.since;
    if (idle < ms) {
      this.timer = setTimeout(this.check, ms - idle);
      return;
    }
    this.stalled = true;
    this.onStall();
    this.stop(new ReaderError('Timeout', `no bytes for ${ms} ms: request stalled`, this.deadline.context, { code: 'STALLED' }));
  };

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /**
   * Ends the request's watch; `abort` also aborts the request (a body abandoned before its end) and
   * rejects a race still waiting with `Aborted` (it would otherwise wait on a request nobody reads).
   */
  dispose(abort: boolean): void {
    this.disposed = true;
    this.disarm();
    this.deadline.signal.removeEventListener('abort', this.onStop);
    if (abort) this.stop(abortError(undefined, this.deadline.context));
  }
}
