/**
 * The resumable body of `withRetry`: a read's body that fails mid-stream continues from its next byte
 * with a bounded request pinned to the first response's version, so the caller sees one unbroken
 * body of one version, or a typed error. Retry decisions and timeouts come from the runner.
 */
import { ReaderError, abortError, toReaderError } from '../errors.js';
import type { ByteRange, ObjectMeta, ReadResponse } from '../types.js';
import { release, type Deadline, type StallWatch } from './timeouts.js';

/** What a resumable body needs of the retrying backend that made it. */
export interface ResumeRunner<Op extends Deadline> {
  /** The inner backend honours If-Match. */
  readonly ifMatch: boolean;
  /** Throws `err` unless it may be retried; otherwise sleeps the backoff. */
  backoff(op: Op, err: ReaderError, path: string, resumeAt: number): Promise<void>;
  /** Runs `send` until it succeeds or fails for good. */
  attemptLoop<T>(op: Op, path: string, send: (a: StallWatch) => Promise<T>, resumeAt: number): Promise<{ value: T; attempt: StallWatch }>;
  /** Sends a read under a request's watch. */
  sendRead(attempt: StallWatch, path: string, range: ByteRange, ifMatch: string | undefined): Promise<ReadResponse>;
  /** The error an attempt ended with, as the layer sees it (a stall or the deadline beats what the request threw). */
  explain(e: unknown, op: Op, attempt: StallWatch): ReaderError;
  /** A body was continued from its next byte. */
  onResume(): void;
}

/** A weak ETag (`W/…`) is never sent as a precondition, only compared. */
const isStrong = (etag: string | undefined): etag is string => etag !== undefined && !etag.startsWith('W/');

/** Checks a resumed response is the same version as the first one; throws ConditionNotMatch otherwise. */
function sameVersion(first: ObjectMeta, next: ReadResponse, at: number, op: Deadline): void {
  const m = next.meta;
  const changed = (why: string): never => {
    release(next.body);
    throw new ReaderError('ConditionNotMatch', `object changed while reading: ${why}; resuming at byte ${at} refused`, op.context, { code: 'ETAG_CHANGED' });
  };
  if (m.size !== first.size) changed(`its size went from ${first.size} to ${m.size}`);
  if (first.etag !== m.etag) changed(`its ETag went from ${first.etag ?? 'none'} to ${m.etag ?? 'none'}`);
  if (first.etag === undefined && first.lastModified?.getTime() !== m.lastModified?.getTime()) changed('its Last-Modified changed');
}

/**
 * The body of `first`, resumed on retryable failures. Everything it holds (the request's watch, the
 * operation) ends with the body: consumed, failed, or abandoned (`break`/`return()`).
 */
export function resumableBody<Op extends Deadline & { progressed(): void; dispose(): void }>(
  runner: ResumeRunner<Op>,
  op: Op,
  path: string,
  first: ReadResponse,
  firstAttempt: StallWatch,
  callerIfMatch: string | undefined,
): AsyncIterable<Uint8Array> {
  const { offset, length } = first.range;
  const pin = callerIfMatch ?? (runner.ifMatch && isStrong(first.meta.etag) ? first.meta.etag : undefined);
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
      throw new ReaderError(err.kind, `${err.detail} (not resumed: the response had no ETag or Last-Modified to prove the object did not change)`, { ...err.context, resumable: false }, {
        code: err.code,
        retryable: err.retryable,
        cause: err,
      });
    }
    await runner.backoff(op, err, path, at);
    runner.onResume();
    const rest = { offset: at, length: length - received };
    const next = await runner.attemptLoop(
      op,
      path,
      async (a) => {
        let r: ReadResponse;
        try {
          r = await runner.sendRead(a, path, rest, pin);
        } catch (e) {
          const re = toReaderError(e, op.context);
          if (re.kind === 'ConditionNotMatch' || re.kind === 'RangeNotSatisfied') {
            throw new ReaderError('ConditionNotMatch', `object changed while reading: resuming at byte ${at} was refused (${re.detail})`, op.context, { code: 'ETAG_CHANGED', cause: re });
          }
          throw e;
        }
        sameVersion(first.meta, r, at, op);
        if (r.range.offset !== rest.offset || r.range.length !== rest.length) {
          release(r.body);
          throw new ReaderError('Unexpected', `resumed read returned bytes ${r.range.offset}+${r.range.length}, not ${rest.offset}+${rest.length}`, op.context, {
            code: 'BAD_CONTENT_RANGE',
            retryable: false,
          });
        }
        return r;
      },
      at,
    );
    if (done) {
      // given up (`return()`) while the new request was under way: it is not ours to keep
      release(next.value.body);
      next.attempt.dispose(true);
      throw op.stopped ?? abortError(undefined, op.context);
    }
    attempt = next.attempt;
    it = next.value.body[Symbol.asyncIterator]();
  }

  // A hand-written iterator, not an async generator: one `race` and one `then` per chunk (a
  // generator added a resume and extra promise turns per chunk under every retried read).
  type Step = IteratorResult<Uint8Array>;
  const DONE: Step = { done: true, value: undefined };
  let done = false;
  const fail = (err: unknown): never => {
    done = true;
    cleanup(true);
    throw err;
  };
  const onStep = (step: Step): Step | Promise<Step> => {
    if (step.done) return retry(new ReaderError('Interrupted', `body ended after ${received} of ${length} bytes`, op.context, { code: 'SHORT_BODY' }));
    const n = step.value.byteLength;
    if (n > length - received) fail(new ReaderError('Unexpected', 'body is longer than the requested range', op.context, { code: 'LONG_BODY', retryable: false }));
    if (n > 0) op.progressed();
    received += n;
    return step;
  };
  /**
   * The current request failed or ended short: continue from the next byte, or fail for good. A
   * `next()` in flight when the body was given up (`return()`) ends the body instead (done).
   */
  const retry = (e: unknown): Promise<Step> => {
    if (done) return Promise.resolve(DONE);
    return resume(runner.explain(e, op, attempt)).then(pull, (err: unknown) => (done ? DONE : fail(err)));
  };
  const nextOfInner = (): Promise<Step> => {
    try {
      return it.next();
    } catch (e) {
      return Promise.reject(e);
    }
  };
  const pull = (): Promise<Step> => {
    if (done) return Promise.resolve(DONE);
    if (received >= length) return end();
    return attempt.race(nextOfInner()).then(onStep, retry);
  };
  /** Every byte is here: let the inner body finish its own checks (nothing extra after the last byte) and release its connection. */
  async function end(): Promise<Step> {
    try {
      const last = await attempt.race(nextOfInner());
      if (!last.done && last.value.byteLength > 0) {
        throw new ReaderError('Unexpected', 'body is longer than the requested range', op.context, { code: 'LONG_BODY', retryable: false });
      }
    } catch (e) {
      const re = runner.explain(e, op, attempt);
      if (!re.retryable || re.kind === 'Aborted' || op.stopped) fail(re);
      // every byte is here and checked: a transport error after the last one changes nothing
    }
    done = true;
    cleanup(false);
    return DONE;
  }

  const self: AsyncIterableIterator<Uint8Array> = {
    next: pull,
    return: async () => {
      if (!finished) {
        done = true;
        // Stop the operation first: a resume under way (its backoff sleep, its attempt loop) ends, and
        // the race of a next() in flight rejects (the watch's stop listener goes with its dispose).
        op.fail(abortError(undefined, op.context));
      }
      done = true;
      cleanup(true);
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return self;
    },
  };
  return self;
}
