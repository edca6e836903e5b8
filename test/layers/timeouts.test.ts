/** Timeouts (src/layers/timeouts.ts): the Deadline withRetry and the decode guard share, and the stall watch. */
import { describe, expect, it } from 'vitest';
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
});
