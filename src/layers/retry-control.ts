/**
 * The control side of `withRetry`: an Operation (one stat or read with its budget, deadline and the
 * caller's signal) and its Attempts (one request each, with the stall watchdog). Stopping is always
 * by a ReaderError: Aborted for the caller's signal, Timeout for the deadline or a stall.
 */
import { ReaderError, abortError, type ErrorContext } from '../errors.js';

/** What an Operation needs of the retry settings. */
export interface ControlSettings {
  stallMs: number;
  deadlineMs?: number;
}

/** Counters the control side updates. */
export interface ControlCounters {
  stalls: number;
  deadlines: number;
}

/** Closes a body we no longer want (its request is aborted separately). */
export function release(body: AsyncIterable<Uint8Array>): void {
  try {
    body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
  } catch {
    // nothing to release
  }
}

/**
 * One operation: its budget, its deadline and the caller's signal. `signal` fires with a ReaderError
 * as its reason (Aborted for the caller's signal, Timeout for the deadline).
 */
export class Operation {
  readonly started = performance.now();
  attempts = 0;
  /** Failures since the last attempt that delivered bytes (the backoff exponent). */
  streak = 0;
  private readonly controller = new AbortController();
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly onCallerAbort: (() => void) | undefined;
  private disposed = false;

  constructor(
    readonly s: ControlSettings,
    readonly context: ErrorContext,
    private readonly caller: AbortSignal | undefined,
    counters: ControlCounters,
  ) {
    if (caller) {
      this.onCallerAbort = () => this.controller.abort(abortError(caller, context));
      if (caller.aborted) this.onCallerAbort();
      else caller.addEventListener('abort', this.onCallerAbort, { once: true });
    }
    if (s.deadlineMs !== undefined && !this.controller.signal.aborted) {
      const ms = s.deadlineMs;
      this.timer = setTimeout(() => {
        counters.deadlines++;
        this.controller.abort(new ReaderError('Timeout', `deadline of ${ms} ms exceeded`, context, { retryable: false }));
      }, ms);
    }
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Why the operation was stopped, if it was. */
  get stopped(): ReaderError | undefined {
    return this.signal.aborted ? (this.signal.reason as ReaderError) : undefined;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    clearTimeout(this.timer);
    if (this.caller && this.onCallerAbort) this.caller.removeEventListener('abort', this.onCallerAbort);
  }
}

/** One request: aborted by its operation, or by its own stall watchdog while armed. */
export class Attempt {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private fail!: (err: ReaderError) => void;
  /** Rejects when the attempt must stop: a stall, the deadline, the caller's abort. */
  private readonly failed: Promise<never>;
  private readonly onStop: () => void;
  stalled = false;

  constructor(
    private readonly op: Operation,
    private readonly counters: ControlCounters,
  ) {
    this.failed = new Promise<never>((_, reject) => (this.fail = reject));
    this.failed.catch(() => undefined);
    this.onStop = () => this.stop(op.signal.reason as ReaderError);
    if (op.signal.aborted) this.onStop();
    else op.signal.addEventListener('abort', this.onStop, { once: true });
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  private stop(err: ReaderError): void {
    this.disarm();
    this.fail(err);
    this.controller.abort(err);
  }

  /** `p`, unless the attempt stops first (then the error that stopped it). The stall watchdog runs meanwhile. */
  async race<T>(p: Promise<T>): Promise<T> {
    const ms = this.op.s.stallMs;
    if (ms > 0 && Number.isFinite(ms)) {
      this.timer = setTimeout(() => {
        this.stalled = true;
        this.counters.stalls++;
        this.stop(new ReaderError('Timeout', `no bytes for ${ms} ms: request stalled`, this.op.context));
      }, ms);
    }
    try {
      return await Promise.race([p, this.failed]);
    } finally {
      this.disarm();
    }
  }

  private disarm(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Ends the attempt; `abort` also aborts its request (a body abandoned before its end). */
  dispose(abort: boolean): void {
    this.disarm();
    this.op.signal.removeEventListener('abort', this.onStop);
    if (abort && !this.controller.signal.aborted) this.controller.abort(abortError(undefined, this.op.context));
  }
}

