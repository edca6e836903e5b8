/** src/abort.ts: one listener per signal, fanning out to its waiters; signals for many requests in flight. */
import { getEventListeners, getMaxListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { onAbort, signalForRequests } from '../src/abort.js';

const listeners = (s: AbortSignal) => getEventListeners(s, 'abort').length;

describe('onAbort', () => {
  it('100 waiters on one signal add one listener; an abort calls each once, in the order they came, and leaves none', () => {
    const c = new AbortController();
    const calls: number[] = [];
    for (let i = 0; i < 100; i++) onAbort(c.signal, () => calls.push(i));
    expect(listeners(c.signal)).toBe(1);
    c.abort();
    c.abort();
    expect(calls).toEqual(Array.from({ length: 100 }, (_, i) => i));
    expect(listeners(c.signal)).toBe(0);
  });

  it('the listener goes when the last waiter stops waiting (a signal that never fires keeps nothing); stopping twice is harmless', () => {
    const c = new AbortController();
    const offs = Array.from({ length: 5 }, () => onAbort(c.signal, () => expect.fail('stopped waiting')));
    for (const off of offs.slice(0, 4)) off();
    expect(listeners(c.signal)).toBe(1);
    offs[4]?.();
    offs[4]?.();
    expect(listeners(c.signal)).toBe(0);
    // A new waiter after that gets a new listener.
    let fired = 0;
    onAbort(c.signal, () => fired++);
    expect(listeners(c.signal)).toBe(1);
    c.abort();
    expect(fired).toBe(1);
  });

  it('an aborted signal calls the waiter at once and adds nothing; a waiter stopped by an earlier one is not called', () => {
    let now = 0;
    const off = onAbort(AbortSignal.abort(), () => now++);
    expect(now).toBe(1);
    off();
    const c = new AbortController();
    const seen: string[] = [];
    let offB = (): void => undefined;
    onAbort(c.signal, () => {
      seen.push('a');
      offB();
    });
    offB = onAbort(c.signal, () => seen.push('b'));
    onAbort(c.signal, () => seen.push('c'));
    c.abort();
    expect(seen).toEqual(['a', 'c']);
  });
});

describe('signalForRequests', () => {
  it('follows the caller’s signal (its reason too) without a listener on it, and allows that many listeners itself', () => {
    const c = new AbortController();
    const own = signalForRequests(c.signal, 32);
    expect(listeners(c.signal)).toBe(0);
    expect(getMaxListeners(own)).toBe(32);
    expect(getMaxListeners(signalForRequests(c.signal, 2))).toBe(10); // never below Node's default
    const reason = new Error('stop');
    c.abort(reason);
    expect([own.aborted, own.reason]).toEqual([true, reason]);
  });
});
