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

/**
 * Yields exactly `take` bytes of `source` after skipping `skip`, checking the byte count the server
 * promised. Never yields a byte that is not part of the requested window, never yields a short
 * result as if it were complete. Stopping early closes the source.
 */
export async function* windowBody(source: AsyncIterable<Uint8Array>, opts: WindowOptions): AsyncGenerator<Uint8Array> {
  const { skip, take, expected, context, signal } = opts;
  const end = skip + take;
  let seen = 0;
  try {
    for await (const raw of source) {
      if (signal?.aborted) throw abortError(signal, context);
      const chunk = plainBytes(raw);
      opts.onWire?.(chunk.byteLength);
      const from = seen;
      seen += chunk.byteLength;
      if (expected !== undefined && seen > expected) {
        throw new ReaderError('Unexpected', `body is longer than the ${expected} bytes announced`, context, { code: 'LONG_BODY', retryable: false });
      }
      const lo = Math.max(skip, from) - from;
      const hi = Math.min(end, seen) - from;
      if (hi > lo) yield lo === 0 && hi === chunk.byteLength ? chunk : chunk.subarray(lo, hi);
      // Stop once the window is complete unless the rest must be read to check the promised length.
      if (seen >= end && (expected === undefined || expected > end)) return;
    }
    if (seen < (expected ?? end)) {
      throw new ReaderError('Interrupted', `body ended after ${seen} of ${expected ?? end} bytes`, { ...context, received: Math.max(0, Math.min(seen, end) - skip) }, { code: 'SHORT_BODY' });
    }
  } catch (err) {
    throw (opts.mapError ?? toReaderError)(err, context, signal);
  } finally {
    opts.onClose?.();
  }
}
