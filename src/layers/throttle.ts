import { sleep } from '../sleep.js';
import { ReaderError, abortError, type ErrorContext } from '../errors.js';
import { listMembers } from '../list.js';
import type { Backend, ByteRange, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../types.js';

/**
 * Largest piece the throttle hands out at once, so a big chunk arrives as a stream of pieces paced
 * over time instead of one late burst (16 KiB is a typical TLS record / socket read).
 */
const THROTTLE_PIECE_SIZE = 16 * 1024;

export interface ThrottleOptions {
  /** Delay before each response (time to first byte), in ms. */
  ttfbMs?: number;
  /** Bandwidth of each response body (per connection, as on S3), in bytes per second. */
  bytesPerSecond?: number;
}

async function wait(ms: number, signal: AbortSignal | undefined, context: ErrorContext): Promise<void> {
  if (ms <= 0) return;
  try {
    await sleep(ms, signal);
  } catch (err) {
    throw abortError(signal, context);
  }
}

/**
 * Models remote storage: every request (a listing page too) waits `ttfbMs` before answering, and every body is paced at
 * `bytesPerSecond`. For tests and benchmarks; speed claims are measured with it, never in timed tests.
 */
export function withThrottle(inner: Backend, options: ThrottleOptions = {}): Backend {
  const ttfb = options.ttfbMs ?? 0;
  const bps = options.bytesPerSecond ?? Infinity;
  if (!(ttfb >= 0) || !(bps > 0)) {
    throw new ReaderError('InvalidInput', 'withThrottle needs ttfbMs >= 0 and bytesPerSecond > 0', { backend: inner.kind }, { code: 'INVALID_ARGUMENT' });
  }

  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    await wait(ttfb, opts.signal, { backend: inner.kind, op: 'stat', path });
    return inner.stat(path, opts);
  }

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    const context = { backend: inner.kind, op: 'read', path, range };
    await wait(ttfb, opts.signal, context);
    const res = await inner.read(path, range, opts);
    if (!Number.isFinite(bps)) return res;
    const source = res.body;
    const signal = opts.signal;
    async function* paced(): AsyncGenerator<Uint8Array> {
      const started = performance.now();
      let sent = 0;
      for await (const chunk of source) {
        for (let at = 0; at < chunk.byteLength; at += THROTTLE_PIECE_SIZE) {
          const piece = chunk.subarray(at, at + THROTTLE_PIECE_SIZE);
          sent += piece.byteLength;
          await wait(started + (sent / bps) * 1000 - performance.now(), signal, context);
          yield piece;
        }
      }
    }
    return { ...res, body: paced() };
  }

  const list = listMembers(inner, (page) => async (prefix: string, opts: ListPageOptions = {}) => {
    await wait(ttfb, opts.signal, { backend: inner.kind, op: 'list', path: prefix });
    return page(prefix, opts);
  });

  return { kind: inner.kind, capabilities: inner.capabilities, stat, read, ...list };
}
