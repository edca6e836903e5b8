import { ReaderError, abortError, toReaderError, type ErrorContext } from './errors.js';

/**
 * A plain Uint8Array view of the same memory. Node Buffers (undici's body chunks, readFile results)
 * are Uint8Arrays whose `slice()` does NOT copy; downstream code that copies to stop a small result
 * from pinning a big buffer relies on `slice()` copying, so bytes are handed on as plain views.
 */
export function plainBytes(raw: Uint8Array | ArrayBufferLike): Uint8Array {
  if (!(raw instanceof Uint8Array)) return new Uint8Array(raw);
  // Any subclass (Node's Buffer) becomes a plain view; no `Buffer` reference, so this runs in a browser.
  return Object.getPrototypeOf(raw) === Uint8Array.prototype ? raw : new Uint8Array(raw.buffer, raw.byteOffset, raw.byteLength);
}

/**
 * Reads a whole body into one buffer. With `sizeHint` (the length the response announced), the
 * chunks after the first are copied as they arrive into one buffer of that size, so they are garbage
 * at once instead of all living until the end (half the memory at the end of a big body, and young
 * garbage is cheap to collect); a body longer than the hint is still read whole. A body of one chunk
 * is returned as it is, without a copy.
 */
export async function collectBody(body: AsyncIterable<Uint8Array>, sizeHint = 0): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let out: Uint8Array | undefined;
  for await (const chunk of body) {
    const end = total + chunk.byteLength;
    if (out && end <= out.byteLength) {
      out.set(chunk, total);
      total = end;
      continue;
    }
    if (out) {
      chunks.push(out.subarray(0, total)); // longer than announced: collect the rest as chunks
      out = undefined;
    } else if (chunks.length === 1 && end <= sizeHint) {
      out = new Uint8Array(sizeHint);
      out.set(chunks[0] as Uint8Array);
      out.set(chunk, total);
      chunks.length = 0;
      total = end;
      continue;
    }
    chunks.push(chunk);
    total = end;
  }
  if (out) return total === out.byteLength ? out : out.subarray(0, total);
  if (chunks.length === 1 && chunks[0]) return chunks[0];
  const joined = new Uint8Array(total);
  let at = 0;
  for (const chunk of chunks) {
    joined.set(chunk, at);
    at += chunk.byteLength;
  }
  return joined;
}

/**
 * A whole body as the chunks it arrived in (plain views: no copy, nothing joined). For a body kept
 * only in parts — the open's tail window, of which only the footer must be contiguous — this saves
 * the copy into one buffer that `collectBody` makes, and that buffer's allocation.
 */
export async function collectChunks(body: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) if (chunk.byteLength > 0) chunks.push(plainBytes(chunk));
  return chunks;
}

/**
 * `source`, read ahead into memory while `until` is pending (at most `maxBytes`): a response held
 * while something else must be asked first keeps flowing, so its connection comes free for that
 * request even when the pool has no other — a 206 whose `Content-Range` gives no total waits for a
 * stat of the object's size, and with every connection held by such a body that stat would never
 * be sent. What was read is yielded first, then the rest of the source; a source that fails while
 * read ahead fails when its consumer gets there. `return()` closes the source without waiting for
 * a chunk the read-ahead is waiting for, and `dump()` (when the source has one) releases it at once.
 */
export function readAheadWhile<S extends AsyncIterable<Uint8Array> & { dump?(opts?: { limit: number }): Promise<void> }>(
  source: S,
  until: Promise<unknown>,
  maxBytes: number,
): AsyncIterable<Uint8Array> & { dump?(opts?: { limit: number }): Promise<void> } {
  const it = source[Symbol.asyncIterator]();
  const held: Uint8Array[] = [];
  let failed: { err: unknown } | undefined;
  let ended = false;
  let closed = false;
  let waiting = true;
  until.then(
    () => void (waiting = false),
    () => void (waiting = false),
  );
  const pump = (async (): Promise<void> => {
    for (let bytes = 0; waiting && !closed && bytes < maxBytes; ) {
      let step: IteratorResult<Uint8Array>;
      try {
        step = await it.next();
      } catch (err) {
        failed = { err };
        return;
      }
      if (step.done) {
        ended = true;
        return;
      }
      if (closed) return;
      held.push(step.value);
      bytes += step.value.byteLength;
    }
  })();
  const close = (): void => {
    closed = true;
    held.length = 0;
  };
  return {
    ...(source.dump ? { dump: (opts?: { limit: number }) => (close(), (source.dump as (o?: { limit: number }) => Promise<void>)(opts)) } : {}),
    [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
      return {
        async next(): Promise<IteratorResult<Uint8Array>> {
          await pump;
          const chunk = held.shift();
          if (chunk !== undefined) return { value: chunk, done: false };
          if (failed) throw failed.err;
          if (ended) return { value: undefined, done: true };
          return it.next();
        },
        async return(): Promise<IteratorResult<Uint8Array>> {
          close();
          if (!ended && !failed) await it.return?.();
          return { value: undefined, done: true };
        },
      };
    },
  };
}

/** The last `length` bytes of consecutive chunks, in a buffer of their own (a copy of those bytes only). */
export function lastBytes(chunks: readonly Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length);
  let end = length;
  for (let i = chunks.length - 1; i >= 0 && end > 0; i--) {
    const chunk = chunks[i] as Uint8Array;
    const take = Math.min(end, chunk.byteLength);
    out.set(chunk.subarray(chunk.byteLength - take), end - take);
    end -= take;
  }
  if (end > 0) throw new RangeError(`lastBytes: ${length} bytes asked of ${length - end}`);
  return out;
}

export interface WindowOptions {
  /** Bytes to drop from the start of the source (a server that sent more than asked for). */
  skip: number;
  /** Bytes to yield after the skipped ones: exactly this many, or an error. */
  take: number;
  /**
   * Bytes the server said it would send (Content-Length), when known: fewer is `Interrupted`
   * (retryable: catalogue case 1), more is `Unexpected` (case 2). When unknown, the source must hold
   * at least `skip + take` bytes.
   */
  expected?: number;
  context: ErrorContext;
  signal?: AbortSignal;
  /** Maps what the source throws (e.g. a socket error) to a ReaderError; default `toReaderError`. */
  mapError?: (err: unknown, context: ErrorContext, signal?: AbortSignal) => ReaderError;
  /** Called once when the source is done with (ended, failed, or abandoned by the consumer). */
  onClose?: () => void;
  /** Hears the size of every chunk read from the source, skipped bytes included (bytes on the wire). */
  onWire?: (bytes: number) => void;
}

type Step = IteratorResult<Uint8Array>;
const DONE: Step = Object.freeze({ done: true, value: undefined }) as Step;
const done = (): Promise<Step> => Promise.resolve(DONE);

/** Closes an iterator we are done with, without waiting for it or hearing its failure. */
function closeQuietly(it: AsyncIterator<Uint8Array> | undefined): void {
  try {
    it?.return?.()?.catch(() => undefined);
  } catch {
    // nothing to close
  }
}

/** `it.next()` passed through `onStep`/`onError`; a `next` that throws instead of rejecting goes to `onError` too. */
function pullStep(it: AsyncIterator<Uint8Array>, onStep: (s: Step) => Step | Promise<Step>, onError: (err: unknown) => never): Promise<Step> {
  try {
    return it.next().then(onStep, onError);
  } catch (err) {
    return Promise.reject(err).catch(onError);
  }
}

/** What `observeBody` tells about a body as its consumer reads it. */
export interface BodyWatch {
  /** Hears the size of every chunk handed on. */
  chunk?(bytes: number): void;
  /**
   * Hears once that the body is done with: `end` (read to its end), `error` (the source failed with
   * `err`), `return` (the consumer stopped early: `break`/`return()`, also before its first chunk).
   * Called at that moment, before the source's own cleanup.
   */
  close?(how: 'end' | 'error' | 'return', err?: unknown): void;
}

/**
 * The one way a layer watches a body pass (metrics, the cost observer, the concurrency limit): a
 * hand-written iterator, one `then` per chunk. An async generator per layer cost a generator resume
 * and extra promise turns per chunk on the scan's hot path, and one abandoned before its first
 * `next()` never ran its `finally` (so a permit or a record stayed open).
 */
export function observeBody(source: AsyncIterable<Uint8Array>, watch: BodyWatch): AsyncIterableIterator<Uint8Array> {
  let it: AsyncIterator<Uint8Array> | undefined;
  let closed = false;
  const close = (how: 'end' | 'error' | 'return', err?: unknown): void => {
    if (closed) return;
    closed = true;
    watch.close?.(how, err);
  };
  const onStep = (step: Step): Step => {
    if (step.done) close('end');
    else watch.chunk?.(step.value.byteLength);
    return step;
  };
  const onError = (err: unknown): never => {
    close('error', err);
    throw err;
  };
  const self: AsyncIterableIterator<Uint8Array> = {
    next(): Promise<Step> {
      if (closed) return done();
      try {
        it ??= source[Symbol.asyncIterator]();
      } catch (err) {
        return Promise.reject(err).catch(onError);
      }
      return pullStep(it, onStep, onError);
    },
    async return(): Promise<Step> {
      if (closed) return DONE;
      close('return');
      await (it ?? source[Symbol.asyncIterator]()).return?.();
      return DONE;
    },
    [Symbol.asyncIterator]() {
      return self;
    },
  };
  return self;
}

/**
 * Yields exactly `take` bytes of `source` after skipping `skip`, checking the byte count the server
 * promised. Never yields a byte that is not part of the requested window, never yields a short
 * result as if it were complete. Stopping early (also before the first chunk) closes the source.
 * A hand-written iterator (one `then` per chunk, no generator): every byte of a scan passes here.
 */
export function windowBody(source: AsyncIterable<Uint8Array>, opts: WindowOptions): AsyncIterableIterator<Uint8Array> {
  const { skip, take, expected, context, signal } = opts;
  const end = skip + take;
  let seen = 0;
  let it: AsyncIterator<Uint8Array> | undefined;
  /** The window is complete and the source need not be read to its end: the next `next()` closes it. */
  let complete = false;
  let finished = false;
  /** `close` began: a `next()` in flight ends (done) whatever its source answers. */
  let closing = false;
  const finish = (): void => {
    if (finished) return;
    finished = true;
    opts.onClose?.();
  };
  /** Ends with `err`; `ours`: the source did not fail, we refused what it sent (it is closed). */
  const fail = (err: unknown, ours: boolean): never => {
    if (ours) closeQuietly(it);
    finish();
    throw (opts.mapError ?? toReaderError)(err, context, signal);
  };
  const onError = (err: unknown): never => fail(err, false);
  const onStep = (step: Step): Step | Promise<Step> => {
    if (closing) return DONE; // given up (`return()`) while this chunk was awaited: what comes now is not the body's end
    if (step.done) {
      if (seen < (expected ?? end)) {
        fail(new ReaderError('Interrupted', `body ended after ${seen} of ${expected ?? end} bytes`, { ...context, received: Math.max(0, Math.min(seen, end) - skip) }, { code: 'SHORT_BODY' }), false);
      }
      finish();
      return DONE;
    }
    if (signal?.aborted) fail(abortError(signal, context), true);
    const chunk = plainBytes(step.value);
    opts.onWire?.(chunk.byteLength);
    const from = seen;
    seen += chunk.byteLength;
    if (expected !== undefined && seen > expected) {
      fail(new ReaderError('Unexpected', `body is longer than the ${expected} bytes announced`, context, { code: 'LONG_BODY', retryable: false }), true);
    }
    // Stop once the window is complete unless the rest must be read to check the promised length.
    if (seen >= end && (expected === undefined || expected > end)) complete = true;
    const lo = Math.max(skip, from) - from;
    const hi = Math.min(end, seen) - from;
    if (hi > lo) return { done: false, value: lo === 0 && hi === chunk.byteLength ? chunk : chunk.subarray(lo, hi) };
    return pull(); // nothing of the window in this chunk
  };
  const pull = (): Promise<Step> => {
    return complete ? close() : pullStep(it as AsyncIterator<Uint8Array>, onStep, onError);
  };
  const close = async (): Promise<Step> => {
    if (finished) return DONE;
    closing = true;
    try {
      await (it ?? source[Symbol.asyncIterator]()).return?.();
    } catch (err) {
      fail(err, false);
    } finally {
      finish();
    }
    return DONE;
  };
  const self: AsyncIterableIterator<Uint8Array> = {
    next(): Promise<Step> {
      if (finished) return done();
      try {
        it ??= source[Symbol.asyncIterator]();
      } catch (err) {
        return Promise.reject(err).catch(onError);
      }
      return pull();
    },
    return: close,
    [Symbol.asyncIterator]() {
      return self;
    },
  };
  return self;
}
