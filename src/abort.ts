/**
 * One `abort` listener per signal, fanning out to everything that waits on it. A caller's signal is
 * shared by many operations at once (one AbortController for a whole dataset read, for a reader's
 * requests, for a CLI session): a listener per request piles up hundreds on one signal while they
 * are in flight — Node warns past its limit (`MaxListenersExceededWarning`: 10 by default) — and
 * every add and remove walks the signal's list. Here a signal gets a single listener when the first
 * waiter arrives; it is removed when the last one leaves, so a signal that never fires keeps
 * nothing. Waiters are called in the order they arrived, as EventTarget calls listeners.
 */
import { runtime } from './runtime.js';

type Waiter = { fn: () => void };

interface Fanout {
  waiters: Set<Waiter>;
  listener: () => void;
}

const fanouts = new WeakMap<AbortSignal, Fanout>();

const noop = (): void => undefined;

/**
 * Calls `fn` once when `signal` aborts — at once, synchronously, if it already has — and returns the
 * function that stops waiting (call it when the work settles; calling it twice, or after the abort,
 * does nothing). A waiter that throws does not stop the others: its error is rethrown on a microtask,
 * as an EventTarget listener's would be reported.
 */
export function onAbort(signal: AbortSignal, fn: () => void): () => void {
  if (signal.aborted) {
    fn();
    return noop;
  }
  let fanout = fanouts.get(signal);
  if (!fanout) {
    const waiters = new Set<Waiter>();
    const listener = (): void => {
      fanouts.delete(signal);
      for (const w of [...waiters]) {
        if (!waiters.delete(w)) continue; // stopped waiting while an earlier waiter ran
        try {
          w.fn();
        } catch (err) {
          queueMicrotask(() => {
            throw err;
          });
        }
      }
    };
    fanout = { waiters, listener };
    fanouts.set(signal, fanout);
    signal.addEventListener('abort', listener, { once: true });
  }
  const waiter: Waiter = { fn };
  const mine = fanout;
  mine.waiters.add(waiter);
  return () => {
    if (!mine.waiters.delete(waiter) || mine.waiters.size > 0) return;
    signal.removeEventListener('abort', mine.listener);
    if (fanouts.get(signal) === mine) fanouts.delete(signal);
  };
}

/**
 * Listeners an HTTP client adds to the signal of one request while it is in flight: undici adds
 * one (removed when the response ends), as does fetch; the layers between (limit, retry) wait
 * through `onAbort` above, on one shared listener.
 */
export const LISTENERS_PER_REQUEST = 1;

/**
 * A signal that follows `signal` (aborts with its reason; `AbortSignal.any` adds no listener to
 * it), for up to `requests` requests in flight at once that an HTTP client each listens on: its
 * listener limit is raised to match, where the runtime has one (Node warns past 10). The caller's
 * own signal is left as it is.
 */
export function signalForRequests(signal: AbortSignal, requests: number): AbortSignal {
  const own = AbortSignal.any([signal]);
  runtime.setMaxListeners?.(Math.max(DEFAULT_MAX_LISTENERS, requests * LISTENERS_PER_REQUEST), own);
  return own;
}

/** Node's default listener limit per EventTarget (`events.defaultMaxListeners`): never lowered below it. */
const DEFAULT_MAX_LISTENERS = 10;
