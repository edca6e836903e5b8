import { onAbort } from '../abort.js';
import { abortError, type ErrorContext } from '../errors.js';

/** A counting semaphore with FIFO fairness and abortable waits. */
export class Semaphore {
  private available: number;
  private readonly waiters: { resolve: () => void; reject: (e: unknown) => void; off?: () => void }[] = [];

  constructor(readonly permits: number) {
    this.available = permits;
  }

  get waiting(): number {
    return this.waiters.length;
  }

  /** Resolves with a release function once a permit is free; the release is idempotent. */
  async acquire(signal?: AbortSignal, context: ErrorContext = {}): Promise<() => void> {
    if (signal?.aborted) throw abortError(signal, context);
    if (this.available > 0 && this.waiters.length === 0) {
      this.available--;
      return this.releaser();
    }
    await new Promise<void>((resolve, reject) => {
      const waiter: (typeof this.waiters)[number] = { resolve, reject };
      this.waiters.push(waiter);
      if (signal) {
        waiter.off = onAbort(signal, () => {
          const i = this.waiters.indexOf(waiter);
          if (i >= 0) this.waiters.splice(i, 1);
          reject(abortError(signal, context));
        });
      }
    });
    return this.releaser();
  }

  private releaser(): () => void {
    let done = false;
    return () => {
      if (done) return;
      done = true;
      const next = this.waiters.shift();
      if (next) {
        next.off?.();
        next.resolve(); // the permit passes straight to the next waiter
      } else {
        this.available++;
      }
    };
  }
}
