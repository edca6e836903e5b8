/** Timeouts (src/layers/timeouts.ts): the Deadline withRetry and the decode guard share, and the stall watch. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ReaderError } from '../../src/errors.js';
import { Deadline, StallWatch } from '../../src/layers/timeouts.js';

const timeoutError = (ms: number) => new ReaderError('Timeout', `over ${ms} ms`, {}, { code: 'DECODER_TIMEOUT' });
const never = new Promise<never>(() => undefined);
const reason = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ReaderError);

describe('Deadline', () => {
  it('stops with its timeout error after timeoutMs, once', async () => {
    let timeouts = 0;
    const d = new Deadline({ op: 'decode' }, { timeoutMs: 20, timeoutError, onTimeout: () => timeouts++ });
    const err = await reason(d.race(never));
    expect([err?.code, err?.detail, d.stopped, timeouts]).toEqual(['DECODER_TIMEOUT', 'over 20 ms', err, 1]);
    d.dispose();
  });

  it("stops with Aborted when the caller's signal fires (also when it had fired already)", async () => {
    const ac = new AbortController();
    const d = new Deadline({ path: 'p' }, { signal: ac.signal, timeoutError });
    const p = reason(d.race(never));
    ac.abort();
    expect([(await p)?.code, (await p)?.name, d.stopped?.context.path]).toEqual(['ABORTED', 'AbortError', 'p']);
    const pre = new Deadline({}, { signal: AbortSignal.abort(), timeoutError });
    expect(pre.stopped?.code).toBe('ABORTED');
  });

  it('fail() stops it with the given error; the first stop wins', async () => {
    const d = new Deadline({}, { timeoutMs: 1000, timeoutError });
    const input = new ReaderError('Interrupted', 'input failed', {}, { code: 'SHORT_BODY' });
    d.fail(input);
    d.fail(new ReaderError('Aborted', 'late', {}, { code: 'ABORTED' }));
    expect(await reason(d.failed)).toBe(input);
    d.dispose();
  });

  it('race passes a value through; dispose clears the timer and the listener', async () => {
    const ac = new AbortController();
    const d = new Deadline({}, { signal: ac.signal, timeoutMs: 10_000, timeoutError });
    expect(await d.race(Promise.resolve(7))).toBe(7);
    const timers = process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    d.dispose();
    expect(process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length).toBe(timers - 1);
    ac.abort();
    expect(d.stopped).toBeUndefined(); // disposed: the caller's abort no longer reaches it
  });
});

describe('StallWatch', () => {
  it('a promise that takes longer than stallMs is STALLED (retryable); its signal aborts', async () => {
    const d = new Deadline({ op: 'read' }, { timeoutError });
    let stalls = 0;
    const w = new StallWatch(d, 20, () => stalls++);
    const err = await reason(w.race(never));
    expect([err?.code, err?.kind, err?.retryable, w.stalled, w.signal.aborted, stalls]).toEqual(['STALLED', 'Timeout', true, true, true, 1]);
    d.dispose();
  });

  it('each race re-arms the watch: progress in time never stalls', async () => {
    const d = new Deadline({}, { timeoutError });
    const w = new StallWatch(d, 50);
    for (let i = 0; i < 5; i++) await w.race(new Promise((r) => setTimeout(r, 20)));
    expect(w.stalled).toBe(false);
    w.dispose(false);
    expect(w.signal.aborted).toBe(false);
    d.dispose();
  });

  it('the deadline stopping stops the request too, with the deadline error', async () => {
    const d = new Deadline({}, { timeoutMs: 20, timeoutError });
    const w = new StallWatch(d, 0);
    const err = await reason(w.race(never));
    expect([err?.code, (w.signal.reason as ReaderError).code]).toEqual(['DECODER_TIMEOUT', 'DECODER_TIMEOUT']);
    d.dispose();
  });

  it('dispose(true) aborts the request and rejects a race still waiting with Aborted; dispose(false) aborts nothing', async () => {
    const d = new Deadline({ path: 'p' }, { timeoutError });
    const w = new StallWatch(d, 0);
    const p = reason(w.race(never));
    w.dispose(true); // before, the race waited for ever on a request nobody read
    const err = await p;
    expect([err?.code, err?.context.path, (w.signal.reason as ReaderError).code]).toEqual(['ABORTED', 'p', 'ABORTED']);
    const kept = new StallWatch(d, 0);
    kept.dispose(false);
    expect(kept.signal.aborted).toBe(false);
    d.dispose();
  });

  describe('one timer per request', () => {
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('a body of many chunks sets one timer, not one per chunk', async () => {
      const d = new Deadline({}, { timeoutError });
      const w = new StallWatch(d, 1000);
      const set = vi.spyOn(globalThis, 'setTimeout');
      for (let i = 0; i < 500; i++) expect(await w.race(Promise.resolve(i))).toBe(i);
      expect(set).toHaveBeenCalledTimes(1);
      w.dispose(false);
      d.dispose();
    });

    it("time between races (the consumer's own work) is not a stall; a wait that starts after it still stalls", async () => {
      const d = new Deadline({}, { timeoutError });
      const w = new StallWatch(d, 20);
      await w.race(Promise.resolve(1));
      await new Promise((r) => setTimeout(r, 80)); // the timer fires meanwhile and finds nothing awaited
      expect(await w.race(new Promise((r) => setTimeout(() => r(2), 5)))).toBe(2);
      expect(w.stalled).toBe(false);
      const err = await reason(w.race(never));
      expect([err?.code, w.stalled]).toEqual(['STALLED', true]);
      expect(await reason(w.race(Promise.resolve(3)))).toBe(err); // stopped: every later race fails the same
      d.dispose();
    });

    it('dispose clears the one timer; a later race arms none', async () => {
      const d = new Deadline({}, { timeoutError });
      const w = new StallWatch(d, 10_000);
      const timers = () => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      const pending = w.race(new Promise((r) => setTimeout(r, 5)));
      expect(timers()).toBe(before + 2); // the watch's timer and the promise's own
      await pending;
      w.dispose(false);
      expect(timers()).toBe(before);
      await w.race(Promise.resolve(0));
      expect(timers()).toBe(before);
      d.dispose();
    });
  });
});
