/** The retry policy alone (src/layers/retry-policy.ts): a pure function, tested without I/O or clocks. */
import { describe, expect, it } from 'vitest';
import { ReaderError, type ReaderErrorCode, type ReaderErrorKind } from '../../src/errors.js';
import { DEFAULT_RETRY_POLICY, DNS_RETRIES, RETRY_BASE_MS, RETRY_CAP_MS, RETRY_MAX_ATTEMPTS, RETRY_TOTAL_MS, STALL_GROWTH, nextDelay, stallLimit, type RetryPolicy } from '../../src/layers/retry-policy.js';

const err = (kind: ReaderErrorKind, code?: ReaderErrorCode, extra: { retryable?: boolean; retryAfterMs?: number } = {}) =>
  new ReaderError(kind, 'x', {}, { ...(code ? { code } : {}), ...extra });
const fixed = (r: number, over: Partial<RetryPolicy> = {}): RetryPolicy => ({ ...DEFAULT_RETRY_POLICY, random: () => r, ...over });
const first = { made: 1, streak: 1 };

describe('nextDelay', () => {
  it('defaults are the documented constants', () => {
    expect(DEFAULT_RETRY_POLICY).toMatchObject({ maxAttempts: RETRY_MAX_ATTEMPTS, baseMs: RETRY_BASE_MS, capMs: RETRY_CAP_MS, totalMs: RETRY_TOTAL_MS });
    expect([RETRY_MAX_ATTEMPTS, RETRY_BASE_MS, RETRY_CAP_MS, RETRY_TOTAL_MS, DNS_RETRIES]).toEqual([10, 100, 15_000, 60_000, 1]);
  });

  it('full jitter: random() × min(cap, base × 2^(streak-1))', () => {
    const p = fixed(0.5);
    expect([1, 2, 3, 4, 8, 9, 30].map((streak) => nextDelay(err('Unavailable'), { made: 1, streak }, 0, p))).toEqual(
      [50, 100, 200, 400, 6400, 7500, 7500].map((delayMs) => ({ retry: true, delayMs })),
    );
    expect(nextDelay(err('Unavailable'), first, 0, fixed(0))).toEqual({ retry: true, delayMs: 0 });
    expect(nextDelay(err('Unavailable'), { made: 1, streak: 0 }, 0, fixed(1))).toEqual({ retry: true, delayMs: 100 }); // streak 0 counts as 1
  });

  it('Retry-After wins when longer than the backoff', () => {
    expect(nextDelay(err('RateLimited', 'RATE_LIMITED', { retryAfterMs: 2000 }), first, 0, fixed(0.5))).toEqual({ retry: true, delayMs: 2000 });
    expect(nextDelay(err('RateLimited', 'RATE_LIMITED', { retryAfterMs: 10 }), first, 0, fixed(0.5))).toEqual({ retry: true, delayMs: 50 });
  });

  it('retries every retryable kind, never a final one or an abort', () => {
    for (const kind of ['RateLimited', 'Unavailable', 'Interrupted', 'Timeout'] as const) expect(nextDelay(err(kind), first, 0).retry, kind).toBe(true);
    for (const kind of ['NotFound', 'PermissionDenied', 'InvalidInput', 'RangeNotSatisfied', 'ConditionNotMatch', 'Unsupported', 'InvalidData', 'Unexpected', 'Aborted'] as const) {
      expect(nextDelay(err(kind), first, 0), kind).toEqual({ retry: false, why: 'final' });
    }
    expect(nextDelay(err('Timeout', 'TIMEOUT', { retryable: false }), first, 0)).toEqual({ retry: false, why: 'final' }); // a deadline
    expect(nextDelay(err('Aborted', 'ABORTED', { retryable: true }), first, 0)).toEqual({ retry: false, why: 'final' });
  });

  it('the attempt budget: no retry once maxAttempts requests were made', () => {
    const p = fixed(0.5, { maxAttempts: 3 });
    expect(nextDelay(err('Unavailable'), { made: 2, streak: 2 }, 0, p).retry).toBe(true);
    expect(nextDelay(err('Unavailable'), { made: 3, streak: 3 }, 0, p)).toEqual({ retry: false, why: 'attempts' });
    expect(nextDelay(err('Unavailable'), { made: 1, streak: 1 }, 0, fixed(0.5, { maxAttempts: 1 }))).toEqual({ retry: false, why: 'attempts' });
  });

  it('the time budget: no retry that would start after totalMs', () => {
    const p = fixed(1, { totalMs: 1000 });
    expect(nextDelay(err('Unavailable'), first, 900, p)).toEqual({ retry: true, delayMs: 100 });
    expect(nextDelay(err('Unavailable'), first, 901, p)).toEqual({ retry: false, why: 'time' });
    expect(nextDelay(err('RateLimited', 'RATE_LIMITED', { retryAfterMs: 5000 }), first, 0, p)).toEqual({ retry: false, why: 'time' });
  });

  it('DNS: ENOTFOUND is final, EAI_AGAIN gets DNS_RETRIES retries', () => {
    expect(nextDelay(err('Unavailable', 'DNS_FAILURE', { retryable: false }), first, 0)).toEqual({ retry: false, why: 'final' });
    const again = err('Unavailable', 'DNS_FAILURE', { retryable: true });
    expect(nextDelay(again, { made: 1, streak: 1, dnsFailures: 1 }, 0).retry).toBe(true);
    expect(nextDelay(again, { made: 2, streak: 2, dnsFailures: 2 }, 0)).toEqual({ retry: false, why: 'dns' });
    expect(nextDelay(again, { made: 5, streak: 1, dnsFailures: 1 }, 0).retry).toBe(true); // earlier failures were not DNS
  });

  it('is pure: the same input gives the same answer, and the policy is not changed', () => {
    const p = fixed(0.25);
    const frozen = Object.freeze({ ...p });
    const a = nextDelay(err('Unavailable'), { made: 2, streak: 2 }, 10, frozen);
    expect(nextDelay(err('Unavailable'), { made: 2, streak: 2 }, 10, frozen)).toEqual(a);
    expect(a).toEqual({ retry: true, delayMs: 50 });
  });
});

describe('stallLimit', () => {
  it('doubles per stall since bytes last arrived: 100, 200, 400, 800 ms', () => {
    expect(STALL_GROWTH).toBe(2);
    expect([0, 1, 2, 3].map((stalls) => stallLimit(100, stalls, 0, 60_000))).toEqual([100, 200, 400, 800]);
  });

  it('never past the time left of the retry budget, never below stallMs', () => {
    expect(stallLimit(100, 10, 0, 60_000)).toBe(60_000);
    expect(stallLimit(100, 10, 59_000, 60_000)).toBe(1_000);
    expect(stallLimit(100, 3, 59_950, 60_000)).toBe(100);
    expect(stallLimit(100, 3, 70_000, 60_000)).toBe(100);
    // the defaults: a dead store fails when the fixed 30 s limit would have (the second attempt gets the 30 s left)
    expect(stallLimit(30_000, 1, 30_000, RETRY_TOTAL_MS)).toBe(30_000);
  });

  it('0 stays off; a huge streak does not overflow', () => {
    expect(stallLimit(0, 5, 0, 60_000)).toBe(0);
    expect(stallLimit(100, 5_000, 0, 60_000)).toBe(60_000);
    expect(stallLimit(Infinity, 1, 0, 60_000)).toBe(Infinity);
  });
});
