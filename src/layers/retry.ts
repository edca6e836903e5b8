/**
 * `withRetry`: retries that resume. Transient failures (5xx, 429, SlowDown, RequestTimeout, resets,
 * short bodies, stalls) are retried with exponential backoff and full jitter, honouring Retry-After;
 * a body that dies mid-stream continues from its next byte with a new bounded request pinned to the
 * first response's version, so a caller sees one unbroken body of one version, or a typed error.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { ReaderError, abortError, toReaderError } from '../errors.js';
import { listMembers } from '../list.js';
import type { Backend, ByteRange, ListPage, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../types.js';
import { Attempt, Operation, release } from './retry-control.js';

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

export interface RetryOptions {
  /** Attempts per operation, the first included (1 = no retry). Default RETRY_MAX_ATTEMPTS. */
  maxAttempts?: number;
  /** First backoff ceiling in ms. Default RETRY_BASE_MS. */
  baseMs?: number;
  /** Largest backoff ceiling in ms. Default RETRY_CAP_MS. */
  capMs?: number;
  /** No retry starts after this many ms from the start of the operation. Default RETRY_TOTAL_MS. */
  totalMs?: number;
  /** No headers or body bytes for this many ms: abort the request and retry it. 0 turns it off. Default RETRY_STALL_MS. */
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

const isStrong = (etag: string | undefined): etag is string => etag !== undefined && !etag.startsWith('W/');

type Settings = Required<Omit<RetryOptions, 'onRetry' | 'deadlineMs'>> & Pick<RetryOptions, 'onRetry' | 'deadlineMs'>;

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
    throw new ReaderError('InvalidInput', `withRetry: ${why}`, { backend: kind });
  };
  if (!Number.isSafeInteger(s.maxAttempts) || s.maxAttempts < 1) bad('maxAttempts must be an integer >= 1');
  for (const k of ['baseMs', 'capMs', 'totalMs', 'stallMs'] as const) if (!(s[k] >= 0)) bad(`${k} must be >= 0`);
  if (s.deadlineMs !== undefined && !(s.deadlineMs > 0)) bad('deadlineMs must be > 0');
  return s;
}

/**
 * Wraps a backend with retries: each `stat`, `read` and listing page (`listPage`) is retried on retryable errors (`RateLimited`,
 * `Unavailable`, `Interrupted`, `Timeout`) up to `maxAttempts` requests and `totalMs`, sleeping a
 * full-jitter backoff (`random() × min(capMs, baseMs × 2^(n-1))`), or Retry-After when longer.
 * Final errors (NotFound, PermissionDenied, ConditionNotMatch, RangeNotSatisfied, InvalidInput,
 * Unexpected, Aborted) are never retried.
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
    if (!err.retryable || err.kind === 'Aborted') throw err;
    op.streak++;
    const ceiling = Math.min(s.capMs, s.baseMs * 2 ** Math.min(op.streak - 1, 52));
    const delayMs = Math.max(s.random() * ceiling, err.retryAfterMs ?? 0);
    const elapsed = performance.now() - op.started;
    if (op.attempts >= s.maxAttempts || elapsed + delayMs > s.totalMs) {
      counters.exhausted++;
      const why = op.attempts >= s.maxAttempts ? `${op.attempts} attempts` : `the ${s.totalMs} ms retry budget`;
      throw new ReaderError(err.kind, `${err.detail} (gave up after ${why})`, { ...err.context, attempts: op.attempts }, {
        retryable: err.retryable,
        cause: err.cause ?? err,
        ...(err.retryAfterMs === undefined ? {} : { retryAfterMs: err.retryAfterMs }),
      });
    }
    s.onRetry?.({ op: kind, path, attempt: op.attempts, delayMs, error: err, ...(resumeAt === undefined ? {} : { resumeAt }) });
    if (delayMs > 0) {
      try {
        await sleep(delayMs, undefined, { signal: op.signal });
      } catch {
        throw op.stopped ?? abortError(undefined, op.context);
      }
    }
    counters.retries++;
  }

  /** Runs `send` until it succeeds or fails for good. `send` gets the attempt to race against. */
  async function attemptLoop<T>(op: Operation, kind: RetryEvent['op'], path: string, send: (a: Attempt) => Promise<T>, resumeAt?: number): Promise<{ value: T; attempt: Attempt }> {
    for (;;) {
      const stopped = op.stopped;
      if (stopped) throw stopped;
      const attempt = new Attempt(op, counters);
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
  function explain(e: unknown, op: Operation, attempt: Attempt): ReaderError {
    if (op.stopped) return op.stopped;
    if (attempt.stalled) return attempt.signal.reason as ReaderError;
    return toReaderError(e, op.context);
  }

  /** Sends a read; a response that loses the race with a stall or an abort is released. */
  async function sendRead(attempt: Attempt, path: string, range: ByteRange, ifMatch: string | undefined): Promise<ReadResponse> {
    const p = inner.read(path, range, { signal: attempt.signal, ...(ifMatch === undefined ? {} : { ifMatch }) });
    try {
      return await attempt.race(p);
    } catch (err) {
      p.then((r) => release(r.body), () => undefined);
      throw err;
    }
  }

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
    let first: { value: ReadResponse; attempt: Attempt };
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
    return { ...res, body: resumable(op, path, res, first.attempt, opts.ifMatch) };
  }

  /** Checks a resumed response is the same version as the first one; throws ConditionNotMatch otherwise. */
  function sameVersion(first: ObjectMeta, next: ReadResponse, at: number, op: Operation): void {
    const m = next.meta;
    const changed = (why: string): never => {
      release(next.body);
      throw new ReaderError('ConditionNotMatch', `object changed while reading: ${why}; resuming at byte ${at} refused`, op.context);
    };
    if (m.size !== first.size) changed(`its size went from ${first.size} to ${m.size}`);
    if (first.etag !== m.etag) changed(`its ETag went from ${first.etag ?? 'none'} to ${m.etag ?? 'none'}`);
    if (first.etag === undefined && first.lastModified?.getTime() !== m.lastModified?.getTime()) changed('its Last-Modified changed');
  }

  function resumable(op: Operation, path: string, first: ReadResponse, firstAttempt: Attempt, callerIfMatch: string | undefined): AsyncIterable<Uint8Array> {
    const { offset, length } = first.range;
    const pin = callerIfMatch ?? (inner.capabilities.ifMatch && isStrong(first.meta.etag) ? first.meta.etag : undefined);
    const canResume = first.meta.etag !== undefined || first.meta.lastModified !== undefined;
    let attempt = firstAttempt;
    let it: AsyncIterator<Uint8Array> = first.body[Symbol.asyncIterator]();
    let received = 0;
    let finished = false;

    const cleanup = (abort: boolean): void => {
      if (finished) return;
      finished = true;
      if (abort) it.return?.()?.catch(() => undefined);
      attempt.dispose(abort);
      op.dispose();
    };

    async function resume(err: ReaderError): Promise<void> {
      it.return?.()?.catch(() => undefined);
      attempt.dispose(true);
      const at = offset + received;
      const stopped = op.stopped;
      if (stopped) throw stopped;
      if (!err.retryable || err.kind === 'Aborted') throw err;
      if (!canResume) {
        throw new ReaderError(err.kind, `${err.detail} (not resumed: the response had no ETag or Last-Modified to prove the object did not change)`, err.context, {
          retryable: err.retryable,
          cause: err,
        });
      }
      await backoff(op, err, 'read', path, at);
      counters.resumes++;
      const rest = { offset: at, length: length - received };
      const next = await attemptLoop(
        op,
        'read',
        path,
        async (a) => {
          let r: ReadResponse;
          try {
            r = await sendRead(a, path, rest, pin);
          } catch (e) {
            const re = toReaderError(e, op.context);
            if (re.kind === 'ConditionNotMatch' || re.kind === 'RangeNotSatisfied') {
              throw new ReaderError('ConditionNotMatch', `object changed while reading: resuming at byte ${at} was refused (${re.detail})`, op.context, { cause: re });
            }
            throw e;
          }
          sameVersion(first.meta, r, at, op);
          if (r.range.offset !== rest.offset || r.range.length !== rest.length) {
            release(r.body);
            throw new ReaderError('Unexpected', `resumed read returned bytes ${r.range.offset}+${r.range.length}, not ${rest.offset}+${rest.length}`, op.context, { retryable: false });
          }
          return r;
        },
        at,
      );
      attempt = next.attempt;
      it = next.value.body[Symbol.asyncIterator]();
    }

    async function* body(): AsyncGenerator<Uint8Array> {
      try {
        while (received < length) {
          let step: IteratorResult<Uint8Array>;
          try {
            step = await attempt.race(it.next());
            if (step.done) throw new ReaderError('Interrupted', `body ended after ${received} of ${length} bytes`, op.context);
          } catch (e) {
            await resume(explain(e, op, attempt));
            continue;
          }
          if (step.value.byteLength > length - received) {
            throw new ReaderError('Unexpected', 'body is longer than the requested range', op.context, { retryable: false });
          }
          if (step.value.byteLength > 0) op.streak = 0;
          received += step.value.byteLength;
          yield step.value;
        }
        // Let the inner body finish its own checks (nothing extra after the last byte) and release its connection.
        try {
          const last = await attempt.race(it.next());
          if (!last.done && last.value.byteLength > 0) throw new ReaderError('Unexpected', 'body is longer than the requested range', op.context, { retryable: false });
        } catch (e) {
          const re = explain(e, op, attempt);
          if (!re.retryable || re.kind === 'Aborted' || op.stopped) throw re;
          // every byte is here and checked: a transport error after the last one changes nothing
        }
        cleanup(false);
      } finally {
        cleanup(true);
      }
    }

    const gen = body();
    let started = false;
    return {
      [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
        return {
          next: () => {
            started = true;
            return gen.next();
          },
          return: async (value?: unknown) => {
            if (!started) cleanup(true); // a generator that never started runs no finally
            await gen.return(undefined);
            return { done: true, value: value as undefined };
          },
        };
      },
    };
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
