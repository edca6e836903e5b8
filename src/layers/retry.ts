/**
 * `withRetry`: retries that resume. Transient failures (5xx, 429, SlowDown, RequestTimeout, resets,
 * short bodies, stalls) are retried with exponential backoff and full jitter, honouring Retry-After;
 * a body that dies mid-stream continues from its next byte with a new bounded request pinned to the
 * first response's version, so a caller sees one unbroken body of one version, or a typed error.
 */
import { sleep } from '../sleep.js';
import { ReaderError, abortError, toReaderError, type ErrorContext } from '../errors.js';
import { listMembers } from '../list.js';
import type { Backend, ByteRange, ListPage, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../types.js';
import { resumableBody, type ResumeRunner } from './resumable.js';
import { RETRY_BASE_MS, RETRY_CAP_MS, RETRY_MAX_ATTEMPTS, RETRY_STALL_MS, RETRY_TOTAL_MS, nextDelay, stallLimit, type RetryPolicy } from './retry-policy.js';
import { Deadline, StallWatch, release } from './timeouts.js';

export { RETRY_BASE_MS, RETRY_CAP_MS, RETRY_MAX_ATTEMPTS, RETRY_STALL_MS, RETRY_TOTAL_MS, DNS_RETRIES, nextDelay } from './retry-policy.js';
export type { AttemptHistory, RetryDecision, RetryPolicy } from './retry-policy.js';

export interface RetryOptions {
  /** Attempts per operation, the first included (1 = no retry). Default RETRY_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** First backoff ceiling in ms. Default RETRY_BASE_MS. */
  baseMs?: number;
  /** Largest backoff ceiling in ms. Default RETRY_CAP_MS. */
  capMs?: number;
  /** No retry starts after this many ms from the start of the operation. Default RETRY_TOTAL_MS. */
  totalMs?: number;
  /**
   * No headers or body bytes for this many ms: abort the request and retry it. 0 turns it off. Default
   * RETRY_STALL_MS. Each stall of an operation (until bytes arrive) doubles its next attempt's limit,
   * within the retry budget: a server slower than the limit is waited for, not given up on (`stallLimit`).
   */
  stallMs?: number;
  /**
   * The whole operation (a stat, or a read with all its retries until its body is consumed) must end
   * within this many ms, or it fails with `Timeout` (not retryable) and its requests are aborted. Default: none.
   */
  deadlineMs?: number;
  /** Source of randomness in [0, 1) for the jitter (tests). Default Math.random. */
  random?: () => number;
  /** Hears about every retry, before its delay. */
  onRetry?: (event: RetryEvent) => void;
}

export interface RetryEvent {
  op: 'stat' | 'read' | 'list';
  path: string;
  /** Requests made so far by this operation (the one that failed included). */
  attempt: number;
  /** The delay before the next attempt: the jittered backoff, or Retry-After when that is longer. */
  delayMs: number;
  error: ReaderError;
  /** For a body that failed mid-stream: the absolute offset the next request starts from. */
  resumeAt?: number;
}

export interface RetryCounters {
  /** stat/read calls. */
  operations: number;
  /** Requests sent to the inner backend. */
  attempts: number;
  /** Requests sent after a failure (resumes included). */
  retries: number;
  /** Of those, continuations of a body from its next byte. */
  resumes: number;
  /** Requests aborted because nothing arrived for `stallMs`. */
  stalls: number;
  /** Operations that ran past `deadlineMs`. */
  deadlines: number;
  /** Operations that failed with a retryable error after using their budget. */
  exhausted: number;
}

export type RetryingBackend<B extends Backend = Backend> = B & {
  /** What the layer did so far. */
  readonly retryCounters: () => RetryCounters;
};

type Settings = RetryPolicy & { stallMs: number } & Pick<RetryOptions, 'onRetry' | 'deadlineMs'>;

function check(o: RetryOptions, kind: string): Settings {
  const s: Settings = {
    maxAttempts: o.maxAttempts ?? RETRY_MAX_ATTEMPTS,
    baseMs: o.baseMs ?? RETRY_BASE_MS,
    capMs: o.capMs ?? RETRY_CAP_MS,
    totalMs: o.totalMs ?? RETRY_TOTAL_MS,
    stallMs: o.stallMs ?? RETRY_STALL_MS,
    random: o.random ?? Math.random,
    ...(o.onRetry ? { onRetry: o.onRetry } : {}),
    ...(o.deadlineMs !== undefined ? { deadlineMs: o.deadlineMs } : {}),
  };
  const bad = (why: string): never => {
    throw new ReaderError('InvalidInput', `withRetry: ${why}`, { backend: kind }, { code: 'INVALID_ARGUMENT' });
  };
  if (!Number.isSafeInteger(s.maxAttempts) || s.maxAttempts < 1) bad('maxAttempts must be an integer >= 1');
  for (const k of ['baseMs', 'capMs', 'totalMs', 'stallMs'] as const) if (!(s[k] >= 0)) bad(`${k} must be >= 0`);
  if (s.deadlineMs !== undefined && !(s.deadlineMs > 0)) bad('deadlineMs must be > 0');
  return s;
}

/** One stat or read with all its attempts: its deadline and the caller's signal, and what it spent. */
class Operation extends Deadline {
  attempts = 0;
  /** Failures since the last attempt that delivered bytes (the backoff exponent). */
  streak = 0;
  /** Of those, stalls (the stall limit's exponent: `stallLimit`). */
  stalls = 0;
  dnsFailures = 0;

  constructor(s: Settings, context: ErrorContext, signal: AbortSignal | undefined, counters: RetryCounters) {
    super(context, {
      ...(signal ? { signal } : {}),
      ...(s.deadlineMs === undefined ? {} : { timeoutMs: s.deadlineMs }),
      timeoutError: (ms) => new ReaderError('Timeout', `deadline of ${ms} ms exceeded`, context, { code: 'TIMEOUT', retryable: false }),
      onTimeout: () => counters.deadlines++,
    });
  }

  /** A response delivered bytes: the backoff and the stall limit start over. */
  progressed(): void {
    this.streak = 0;
    this.stalls = 0;
  }
}

/**
 * Wraps a backend with retries: each `stat`, `read` and listing page (`listPage`) is retried on retryable errors (`RateLimited`,
 * `Unavailable`, `Interrupted`, `Timeout`) up to `maxAttempts` requests and `totalMs`, sleeping a
 * full-jitter backoff (`random() × min(capMs, baseMs × 2^(n-1))`), or Retry-After when longer (the
 * rules are `nextDelay`'s, src/layers/retry-policy.ts). Final errors (NotFound, PermissionDenied,
 * ConditionNotMatch, RangeNotSatisfied, InvalidInput, Unexpected, Aborted, `DNS_FAILURE` for a host
 * that does not exist) are never retried; a resolver that does not answer (`EAI_AGAIN`) is retried once.
 *
 * When the budget is spent the operation fails with code `RETRIES_EXHAUSTED`, `retryable: false`
 * (the retries are done: a caller's own loop should not start ten more), the last error's kind, the
 * attempt count in `context.attempts` and the last error as `cause`.
 *
 * A read's body that fails mid-stream is resumed: a bounded request for exactly the missing bytes,
 * carrying `If-Match` with the caller's ETag or the first response's strong ETag. The resumed
 * response must be the same version (same size, same ETag, or same Last-Modified when there is no
 * ETag); otherwise the body fails with `ConditionNotMatch` ("object changed while reading") and no
 * byte of the other version is ever yielded. A weak ETag is never sent as a precondition, only
 * compared; without ETag or Last-Modified the body is not resumed (the error is passed on).
 *
 * Everything the layer starts (requests, timers, listeners) ends with the operation: when the body is
 * consumed, fails or is abandoned (`break`/`return()`), when the caller's signal fires, or at the
 * deadline. Every other member of `inner` (an S3 backend's `bucket`, a memory backend's `put`) is
 * forwarded as is.
 */
export function withRetry<B extends Backend>(inner: B, options: RetryOptions = {}): RetryingBackend<B> {
  const s = check(options ?? {}, inner?.kind);
  const counters: RetryCounters = { operations: 0, attempts: 0, retries: 0, resumes: 0, stalls: 0, deadlines: 0, exhausted: 0 };

  /** Throws `err` unless it may be retried; otherwise sleeps the backoff. */
  async function backoff(op: Operation, err: ReaderError, kind: RetryEvent['op'], path: string, resumeAt?: number): Promise<void> {
    const stopped = op.stopped;
    if (stopped) throw stopped;
    op.streak++;
    if (err.code === 'DNS_FAILURE') op.dnsFailures++;
    const decision = nextDelay(err, { made: op.attempts, streak: op.streak, dnsFailures: op.dnsFailures }, performance.now() - op.started, s);
    if (!decision.retry) {
      if (decision.why === 'final') throw err;
      const context = { ...err.context, attempts: op.attempts };
      if (decision.why === 'dns') {
        throw new ReaderError(err.kind, `${err.detail} (final after ${op.attempts} attempts)`, context, { code: err.code, retryable: false, cause: err });
      }
      counters.exhausted++;
      const why = decision.why === 'attempts' ? `${op.attempts} attempts` : `the ${s.totalMs} ms retry budget`;
      throw new ReaderError(err.kind, `${err.detail} (gave up after ${why})`, { ...context, lastCode: err.code }, {
        code: 'RETRIES_EXHAUSTED',
        retryable: false,
        cause: err,
        ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
      });
    }
    const { delayMs } = decision;
    s.onRetry?.({ op: kind, path, attempt: op.attempts, delayMs, error: err, ...(resumeAt === undefined ? {} : { resumeAt }) });
    if (delayMs > 0) {
      try {
        await sleep(delayMs, op.signal);
      } catch {
        throw op.stopped ?? abortError(undefined, op.context);
      }
    }
    counters.retries++;
  }

  /** Runs `send` until it succeeds or fails for good. `send` gets the request's watch to race against. */
  async function attemptLoop<T>(op: Operation, kind: RetryEvent['op'], path: string, send: (a: StallWatch) => Promise<T>, resumeAt?: number): Promise<{ value: T; attempt: StallWatch }> {
    for (;;) {
      const stopped = op.stopped;
      if (stopped) throw stopped;
      const limit = stallLimit(s.stallMs, op.stalls, performance.now() - op.started, s.totalMs);
      const attempt = new StallWatch(op, limit, () => {
        counters.stalls++;
        op.stalls++;
      });
      op.attempts++;
      counters.attempts++;
      try {
        return { value: await send(attempt), attempt };
      } catch (e) {
        attempt.dispose(true);
        await backoff(op, explain(e, op, attempt), kind, path, resumeAt);
      }
    }
  }

  /** The error an attempt ended with, as the layer sees it (a stall or the deadline beats what the request threw). */
  function explain(e: unknown, op: Operation, attempt: StallWatch): ReaderError {
    if (op.stopped) return op.stopped;
    if (attempt.stalled) return attempt.signal.reason as ReaderError;
    return toReaderError(e, op.context);
  }

  /** Sends a read; a response that loses the race with a stall or an abort is released. */
  async function sendRead(attempt: StallWatch, path: string, range: ByteRange, ifMatch: string | undefined): Promise<ReadResponse> {
    const p = inner.read(path, range, { signal: attempt.signal, ...(ifMatch === undefined ? {} : { ifMatch }) });
    try {
      return await attempt.race(p);
    } catch (err) {
      p.then((r) => release(r.body), () => undefined);
      throw err;
    }
  }

  const runner: ResumeRunner<Operation> = {
    ifMatch: inner.capabilities.ifMatch,
    backoff: (op, err, path, at) => backoff(op, err, 'read', path, at),
    attemptLoop: (op, path, send, at) => attemptLoop(op, 'read', path, send, at),
    sendRead,
    explain,
    onResume: () => counters.resumes++,
  };

  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    counters.operations++;
    const op = new Operation(s, { backend: inner.kind, op: 'stat', path }, opts.signal, counters);
    try {
      const { value, attempt } = await attemptLoop(op, 'stat', path, (a) => a.race(inner.stat(path, { signal: a.signal })));
      attempt.dispose(false);
      return value;
    } finally {
      op.dispose();
    }
  }

  /** A listing page is retried as a whole, like a stat: a page that failed midway is asked again. */
  const list = listMembers(inner, (page) => async (prefix: string, opts: ListPageOptions = {}): Promise<ListPage> => {
    counters.operations++;
    const op = new Operation(s, { backend: inner.kind, op: 'list', path: prefix }, opts.signal, counters);
    try {
      const { value, attempt } = await attemptLoop(op, 'list', prefix, (a) => a.race(page(prefix, { ...opts, signal: a.signal })));
      attempt.dispose(false);
      return value;
    } finally {
      op.dispose();
    }
  });

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    counters.operations++;
    const op = new Operation(s, { backend: inner.kind, op: 'read', path, range }, opts.signal, counters);
    let first: { value: ReadResponse; attempt: StallWatch };
    try {
      first = await attemptLoop(op, 'read', path, (a) => sendRead(a, path, range, opts.ifMatch));
    } catch (err) {
      op.dispose();
      throw err;
    }
    const res = first.value;
    if (res.range.length === 0) {
      first.attempt.dispose(false);
      op.dispose();
      return res;
    }
    return { ...res, body: resumableBody(runner, op, path, res, first.attempt, opts.ifMatch) };
  }

  const own: Record<string, unknown> = {
    kind: inner.kind,
    capabilities: inner.capabilities,
    stat,
    read,
    ...list,
    retryCounters: (): RetryCounters => ({ ...counters }),
  };
  const forwarded = Object.getOwnPropertyDescriptors(inner) as Record<string, PropertyDescriptor>;
  for (const key of Object.keys(own)) delete forwarded[key];
  const wrapped = Object.defineProperties({}, forwarded);
  return Object.assign(wrapped, own) as unknown as RetryingBackend<B>;
}
