/**
 * undici's response body read as a flowing stream into a bounded queue. `for await` over undici's
 * body (a Node Readable) pulls one chunk per turn through the stream's async iterator: a read(), a
 * promise and a generator resume for every socket chunk, and the socket is read only as fast as
 * the consumer asks. Here the socket flows (`data` events, the cheapest way Node hands out bytes)
 * into a queue the consumer drains; the stream is paused while the queue holds BODY_QUEUE_BYTES,
 * so a slow consumer still bounds what a body holds (and TCP's window slows the server).
 */
import type { HttpResult } from './response.js';

/**
 * Bytes a body may hold queued ahead of its consumer: 256 KiB. That is four of undici's 64 KiB
 * socket reads — enough that the socket keeps flowing while the consumer is busy with one chunk
 * (a copy into a 2 MiB part takes tens of µs, a socket read at 40 MB/s about 1.6 ms) — and small
 * beside a scan's 2 MiB parts: 32 connections hold at most 8 MiB queued on top of the reader's own
 * accounting. More would only be bytes waiting in the process instead of in the kernel's buffers.
 */
export const BODY_QUEUE_BYTES = 256 * 1024;

/** What this needs of a body: undici's BodyReadable (a Node Readable with `dump`). */
export interface FlowableBody extends AsyncIterable<Uint8Array> {
  on(event: 'data', f: (chunk: Uint8Array) => void): unknown;
  on(event: 'end' | 'close', f: () => void): unknown;
  on(event: 'error', f: (err: unknown) => void): unknown;
  removeListener(event: string, f: (...args: never[]) => void): unknown;
  pause(): unknown;
  resume(): unknown;
  destroy(err?: Error): unknown;
  dump?(opts?: { limit: number }): Promise<void>;
  text?(): Promise<string>;
}

/** A flowing body: an async iterator over the queue, plus what the response helpers use of a body. */
export interface FlowingBody extends AsyncIterableIterator<Uint8Array> {
  /** Bytes queued now, not yet taken by the consumer (at most BODY_QUEUE_BYTES plus one chunk). */
  readonly queuedBytes: number;
  dump(opts?: { limit: number }): Promise<void>;
  text?(): Promise<string>;
}

type Step = IteratorResult<Uint8Array>;
const DONE: Step = Object.freeze({ done: true, value: undefined }) as Step;

function prematureClose(): Error {
  return Object.assign(new Error('the body closed before its end'), { code: 'UND_ERR_SOCKET' });
}

/**
 * `body`, flowing into a queue of at most `limit` bytes once its first chunk is asked for (before
 * that, `dump`/`text` work on the stream as it is). `return()` (a consumer's `break`) destroys the
 * stream, which ends its request; a stream error or an early close is thrown by the next `next()`,
 * after the bytes queued before it.
 */
export function withFlowingBody(body: FlowableBody, limit = BODY_QUEUE_BYTES): FlowingBody {
  const queue: Uint8Array[] = [];
  let head = 0;
  let queued = 0;
  let paused = false;
  let started = false;
  let ended = false;
  /** The consumer gave the body up: nothing more to hear (the stream's own abort error included). */
  let stopped = false;
  let failure: { err: unknown } | undefined;
  let waiter: { resolve: (s: Step) => void; reject: (e: unknown) => void } | undefined;

  const onData = (chunk: Uint8Array): void => {
    const w = waiter;
    if (w) {
      waiter = undefined;
      w.resolve({ done: false, value: chunk });
      return;
    }
    queue.push(chunk);
    queued += chunk.byteLength;
    if (queued >= limit && !paused) {
      paused = true;
      body.pause();
    }
  };
  const onEnd = (): void => {
    ended = true;
    detach();
    const w = waiter;
    waiter = undefined;
    w?.resolve(DONE);
  };
  const onError = (err: unknown): void => {
    if (stopped) return;
    failure ??= { err };
    detach();
    const w = waiter;
    waiter = undefined;
    w?.reject(failure.err);
  };
  const onClose = (): void => {
    if (!ended) onError(prematureClose());
  };
  const detach = (): void => {
    body.removeListener('data', onData);
    body.removeListener('end', onEnd);
    body.removeListener('close', onClose);
    // the error listener stays: a late error of a destroyed stream must not go unhandled
  };
  const start = (): void => {
    started = true;
    body.on('error', onError);
    body.on('end', onEnd);
    body.on('close', onClose);
    body.on('data', onData);
  };

  const self: FlowingBody = {
    get queuedBytes() {
      return queued;
    },
    next(): Promise<Step> {
      if (stopped) return Promise.resolve(DONE);
      if (!started) start();
      if (head < queue.length) {
        const value = queue[head] as Uint8Array;
        queue[head++] = undefined as never;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        queued -= value.byteLength;
        if (paused && queued < limit) {
          paused = false;
          body.resume();
        }
        return Promise.resolve({ done: false, value });
      }
      if (failure) return Promise.reject(failure.err);
      if (ended) return Promise.resolve(DONE);
      return new Promise<Step>((resolve, reject) => (waiter = { resolve, reject }));
    },
    return: () => stop(),
    dump(opts) {
      if (!started && body.dump) return body.dump(opts);
      return stop().then(() => undefined);
    },
    ...(body.text ? { text: () => (body as Required<FlowableBody>).text() } : {}),
    [Symbol.asyncIterator]() {
      return self;
    },
  };
  /** The consumer is done: the stream is destroyed (its request ends) unless it had ended already; a pending `next()` ends (done). */
  function stop(): Promise<Step> {
    if (stopped) return Promise.resolve(DONE);
    const finished = ended || failure !== undefined;
    stopped = true;
    queue.length = 0;
    head = 0;
    queued = 0;
    if (!started) body.on('error', () => undefined);
    detach();
    if (!finished) body.destroy();
    // a next() in flight ends with the body (the stream's abort error is not heard: `stopped`)
    const w = waiter;
    waiter = undefined;
    w?.resolve(DONE);
    return Promise.resolve(DONE);
  }
  return self;
}

/** An undici response with its body made flowing (`withFlowingBody`); headers and status as they are. */
export function flowingResult(res: HttpResult): HttpResult {
  const body = res.body as unknown as FlowableBody;
  if (typeof body?.on !== 'function' || typeof body.pause !== 'function') return res; // not a Readable (a test double, fetch)
  return { ...res, body: withFlowingBody(body) };
}
