/**
 * The retry policy of `withRetry`, as pure data and one pure function: `nextDelay` says whether a
 * failed attempt is tried again and after how long. No I/O, no clock, no timers (the jitter's
 * randomness is part of the policy), so every rule is unit-tested on its own.
 */
import type { ReaderError } from '../errors.js';

/**
 * Attempts per operation, the first included; every retry and every resume of a body takes one.
 * object_store's 10 (its `max_retries`), not the AWS SDK's 3: S3 answers a burst of parallel range
 * GETs (one Parquet wave) with SlowDown while it scales a prefix, and that lasts seconds, so three
 * quick attempts fail reads that a few more, spread out, ride through. The time budget below keeps
 * ten attempts from turning a dead store into a long wait.
 */
export const RETRY_MAX_ATTEMPTS = 10;

/** First backoff ceiling: S3 and object_store both start at 100 ms (a TTFB or two). */
export const RETRY_BASE_MS = 100;

/**
 * Largest backoff ceiling: object_store's 15 s (the AWS SDK's is 20 s). The ceiling doubles per
 * failure, 100 ms → 15 s in eight steps; full jitter then sleeps a uniform random part of it.
 */
export const RETRY_CAP_MS = 15_000;

/**
 * No retry starts later than this after the operation began (a Retry-After that would end past it
 * gives up at once). object_store allows 3 minutes for batch jobs; one minute ends well inside the
 * 2-minute decode guard (DEFAULT_DECODE_TIMEOUT_MS), so a failing store surfaces as its own error.
 */
export const RETRY_TOTAL_MS = 60_000;

/**
 * A request whose headers or next body bytes do not arrive for this long is aborted and retried (as
 * `Timeout`, resuming a body). A healthy object store never pauses a body for seconds; 30 s is
 * object_store's request timeout and half of undici's 60 s body timeout, so the resumable path wins.
 */
export const RETRY_STALL_MS = 30_000;

/**
 * How an attempt's stall limit grows: it doubles for each stall of the operation since a response
 * last delivered bytes (as TCP's retransmission timeout backs off). See `stallLimit`.
 */
export const STALL_GROWTH = 2;

/**
 * Retries a `DNS_FAILURE` gets when it is retryable at all (`EAI_AGAIN`: the resolver did not
 * answer). One: a resolver hiccup clears within a backoff, a resolver that fails twice is down, and
 * ten attempts at a dead resolver only delay the error. `ENOTFOUND` (no such host) gets none.
 */
export const DNS_RETRIES = 1;

/** How attempts are spent (all of `RetryOptions` that the decision needs). */
export interface RetryPolicy {
  /** Attempts per operation, the first included (1 = no retry). */
  maxAttempts: number;
  /** First backoff ceiling in ms. */
  baseMs: number;
  /** Largest backoff ceiling in ms. */
  capMs: number;
  /** No retry starts after this many ms from the start of the operation. */
  totalMs: number;
  /** Source of randomness in [0, 1) for the jitter. */
  random: () => number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: RETRY_MAX_ATTEMPTS,
  baseMs: RETRY_BASE_MS,
  capMs: RETRY_CAP_MS,
  totalMs: RETRY_TOTAL_MS,
  random: Math.random,
};

/**
 * The stall limit of an operation's next attempt: `stallMs × STALL_GROWTH^stalls`, `stalls` being the
 * operation's stalls since a response last delivered bytes, and never longer than the time left of
 * the retry budget (`totalMs - elapsedMs`) unless that is below `stallMs` (so growth never makes a
 * dead store fail later than the fixed limit would; `stallMs` 0 stays off).
 *
 * Why it grows: a fixed limit cannot tell a dead connection from a server that is slower than the
 * limit. A wave of parallel GETs that a busy server answers in 3 × stallMs stalls on every attempt,
 * each retry sends the whole wave again (while the server still works through the abandoned one),
 * and the budget runs out though every request would have been answered (moto behind the fuzz's
 * proxy: 33 parallel 4 KiB GETs, stallMs 100, 30 attempts, RETRIES_EXHAUSTED). Doubled, the limit
 * passes the server's latency within a few attempts; a dead connection still stalls each of them.
 */
export function stallLimit(stallMs: number, stalls: number, elapsedMs: number, totalMs: number): number {
  if (!(stallMs > 0) || stalls <= 0) return stallMs;
  const grown = stallMs * STALL_GROWTH ** Math.min(stalls, 52);
  return Math.max(stallMs, Math.min(grown, totalMs - elapsedMs));
}

/** What an operation has spent when one of its attempts fails. */
export interface AttemptHistory {
  /** Requests made so far, the one that just failed included: the budget is `maxAttempts` of them. */
  made: number;
  /** Failures since the last request that delivered bytes, this one included: the backoff exponent. */
  streak: number;
  /** `DNS_FAILURE` errors so far, this one included. Default 0 (1 when `error` is one). */
  dnsFailures?: number;
}

/**
 * - `final`: the error is not retryable (or is an abort): throw it as it is;
 * - `dns`: a retryable DNS failure that had its `DNS_RETRIES`: throw it as final;
 * - `attempts` / `time`: the budget is spent: throw `RETRIES_EXHAUSTED`.
 */
export type GiveUp = 'final' | 'dns' | 'attempts' | 'time';

export type RetryDecision = { retry: true; delayMs: number } | { retry: false; why: GiveUp };

/**
 * Whether to retry after `error`, and after how long: a full-jitter backoff
 * `random() × min(capMs, baseMs × 2^(streak-1))`, or the server's Retry-After when that is longer.
 * No retry when the error is final, when `made` reached `maxAttempts`, when the retry would start
 * after `totalMs` from the operation's start (`elapsedMs` is the time spent so far), or when a DNS
 * failure had its one retry.
 */
export function nextDelay(error: ReaderError, attempt: AttemptHistory, elapsedMs: number, policy: Readonly<RetryPolicy> = DEFAULT_RETRY_POLICY): RetryDecision {
  if (!error.retryable || error.kind === 'Aborted') return { retry: false, why: 'final' };
  if (error.code === 'DNS_FAILURE' && (attempt.dnsFailures ?? 1) > DNS_RETRIES) return { retry: false, why: 'dns' };
  if (attempt.made >= policy.maxAttempts) return { retry: false, why: 'attempts' };
  const ceiling = Math.min(policy.capMs, policy.baseMs * 2 ** Math.min(Math.max(attempt.streak, 1) - 1, 52));
  const delayMs = Math.max(policy.random() * ceiling, error.retryAfterMs ?? 0);
  if (elapsedMs + delayMs > policy.totalMs) return { retry: false, why: 'time' };
  return { retry: true, delayMs };
}
