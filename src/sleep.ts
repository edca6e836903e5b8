import { onAbort } from './abort.js';

/**
 * Waits `ms` milliseconds; rejects with an `AbortError` (a DOMException, as Node's
 * `timers/promises` does) as soon as `signal` fires. Runtime-neutral: plain `setTimeout`.
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const aborted = () => new DOMException('The operation was aborted', 'AbortError');
    if (signal?.aborted) {
      reject(aborted());
      return;
    }
    const timer = setTimeout(() => {
      off();
      resolve();
    }, ms);
    const off = signal
      ? onAbort(signal, () => {
          clearTimeout(timer);
          reject(aborted());
        })
      : () => undefined;
  });
}
