import type { Readable } from 'node:stream';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ByteRange, ReadOptions } from '../types.js';
import { checkVersion, isStrongEtag, type ObjectVersion } from '../version.js';
import { SeekFrom, seekTarget } from './seek-from.js';
import { nodeStreamOf, webStreamOf } from './streams.js';

/**
 * `Idle`: no request open. `SendStat`: asking for the size (only for a seek relative to an unknown
 * end). `SendRead`: a ranged GET is in flight. `Read`: consuming the open body.
 */
export type RangeReaderState = 'Idle' | 'SendStat' | 'SendRead' | 'Read';

/**
 * A forward seek within this many bytes of the open body's position reads through the gap instead of
 * dropping the body. 8 KiB is Arrow C++'s hole size: below it, a new request's time to first byte
 * (tens of ms) always costs more than the bytes skipped.
 */
export const RANGE_READER_SKIP_LIMIT = 8 * 1024;

export interface RangeReaderOptions {
  /** Read only this window of the object; positions are relative to `range.offset`. */
  range?: { offset: number; length?: number };
  /** The object's size, when known: saves the stat of a `SeekFrom.end` and skips reads at EOF. */
  size?: number;
  /** Forward seeks within this many bytes of the open body read through (default RANGE_READER_SKIP_LIMIT). */
  skipLimit?: number;
  /**
   * Drop the open body on every seek, even one to the current position: what OpenDAL's RangeReader
   * did before 0.42 (one GET per seek). For benchmarks of that baseline; default false.
   */
  dropOnSeek?: boolean;
  /** Aborts every request of this reader. */
  signal?: AbortSignal;
  /** Sees every state transition (for tests and tracing). */
  onStateChange?: (next: RangeReaderState, prev: RangeReaderState) => void;
}

interface OpenBody {
  iter: AsyncIterator<Uint8Array>;
  /** Absolute offset of the next byte the body will yield. */
  next: number;
  /** Absolute end (exclusive) of the body. */
  end: number;
}

function checkCount(n: number, what: string, context: ErrorContext): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new ReaderError('InvalidInput', `${what} must be an integer >= 0`, context, { code: 'INVALID_ARGUMENT' });
}

/**
 * A drop-in async seekable reader over one object: the honest baseline. It keeps one open ranged
 * GET (open-ended to the end of its window) and streams from it; a seek that lands outside what the
 * open body can serve drops it and the next read opens a new request.
 *
 * `read` returns 0 only at the end; seeking before 0 is `InvalidInput`; seeking past the end is
 * allowed and reads there return 0.
 */
export class RangeReader implements AsyncIterable<Uint8Array> {
  private _state: RangeReaderState = 'Idle';
  private pos = 0;
  private objectSize: number | undefined;
  /** The object's ETag as first seen: later requests carry it as If-Match. */
  private etag: string | undefined;
  /** The object's Last-Modified as first seen: compared on every response (servers without ETags). */
  private lastModified: Date | undefined;
  private body: OpenBody | undefined;
  /** The last chunk received, kept so seeks back into it (and short reads) cost nothing. */
  private chunk: { data: Uint8Array; start: number } | undefined;
  private closed = false;
  private readonly base: number;
  private readonly windowLength: number | undefined;
  private readonly skipLimit: number;

  constructor(
    readonly backend: Backend,
    readonly path: string,
    private readonly options: RangeReaderOptions = {},
  ) {
    const context = { backend: backend.kind, op: 'open', path };
    this.base = options.range?.offset ?? 0;
    this.windowLength = options.range?.length;
    checkCount(this.base, 'range.offset', context);
    if (this.windowLength !== undefined) checkCount(this.windowLength, 'range.length', context);
    if (options.size !== undefined) checkCount(options.size, 'size', context);
    this.objectSize = options.size;
    this.skipLimit = options.skipLimit ?? RANGE_READER_SKIP_LIMIT;
  }

  get state(): RangeReaderState {
    return this._state;
  }

  /** The current position, relative to the window's start. */
  get position(): number {
    return this.pos;
  }

  private setState(next: RangeReaderState): void {
    const prev = this._state;
    if (prev === next) return;
    this._state = next;
    this.options.onStateChange?.(next, prev);
  }

  private context(op: string, range?: ByteRange): ErrorContext {
    return { backend: this.backend.kind, op, path: this.path, ...(range ? { range } : {}) };
  }

  /** The reader's length (window length clamped to the object), if the object size is known. */
  private knownLength(): number | undefined {
    if (this.objectSize === undefined) return this.windowLength;
    const rest = Math.max(0, this.objectSize - this.base);
    return this.windowLength === undefined ? rest : Math.min(this.windowLength, rest);
  }

  /**
   * Pins the version first seen (ETag, size, Last-Modified); a response that differs in any of them
   * means the object changed while being read: `ConditionNotMatch` (`ETAG_CHANGED`), never bytes of
   * two versions (catalogue 4, 5).
   */
  private learn(meta: ObjectVersion, op: string): void {
    checkVersion({ etag: this.etag, size: this.objectSize, lastModified: this.lastModified }, meta, 'while reading', this.context(op));
    this.etag ??= meta.etag;
    this.objectSize ??= meta.size;
    this.lastModified ??= meta.lastModified;
  }

  /** Read options: the signal, and If-Match with the pinned ETag when it is strong and the backend enforces it. */
  private readOptions(): ReadOptions {
    const opts: ReadOptions = this.options.signal ? { signal: this.options.signal } : {};
    if (isStrongEtag(this.etag) && this.backend.capabilities.ifMatch) opts.ifMatch = this.etag;
    return opts;
  }

  private ensureOpen(op: string): void {
    if (this.closed) throw this.closedError(op);
  }

  private closedError(op: string): ReaderError {
    return new ReaderError('InvalidInput', 'reader is closed', this.context(op), { code: 'READER_CLOSED' });
  }

  /** The reader's length in bytes; asks the backend (SendStat) when it is not known yet. */
  async size(): Promise<number> {
    this.ensureOpen('size');
    if (this.objectSize === undefined) {
      const prev = this._state;
      this.setState('SendStat');
      try {
        const meta = await this.backend.stat(this.path, this.options.signal ? { signal: this.options.signal } : {});
        this.learn(meta, 'size');
      } finally {
        this.setState(prev);
      }
    }
    return this.knownLength() as number;
  }

  /** Whether absolute offset `abs` can be served by the open body or the last chunk without a request. */
  private canServe(abs: number): boolean {
    if (this.chunk && abs >= this.chunk.start && abs < this.chunk.start + this.chunk.data.byteLength) return true;
    const b = this.body;
    return b !== undefined && abs >= b.next && abs < b.end && abs - b.next <= this.skipLimit;
  }

  private dropBody(): void {
    const b = this.body;
    this.body = undefined;
    if (b) {
      // Closing the iterator releases the connection now; its outcome no longer matters to us.
      try {
        b.iter.return?.().catch(() => undefined);
      } catch {
        // a body that cannot be closed is dropped all the same
      }
    }
    if (this._state === 'Read') this.setState('Idle');
  }

  /** Moves the position; returns the new position. */
  async seek(to: SeekFrom): Promise<number> {
    this.ensureOpen('seek');
    const target = await seekTarget(to, this.pos, () => this.size(), this.context('seek'));
    this.pos = target;
    if (this.options.dropOnSeek || !this.canServe(this.base + target)) {
      this.chunk = undefined;
      this.dropBody();
    }
    return target;
  }

  /**
   * Reads up to `buf.length` bytes at the current position into `buf`. Returns the count, which is 0
   * only at (or past) the end. Short reads are normal.
   */
  async read(buf: Uint8Array): Promise<number> {
    this.ensureOpen('read');
    if (!(buf instanceof Uint8Array)) throw new ReaderError('InvalidInput', 'read needs a Uint8Array', this.context('read'), { code: 'INVALID_ARGUMENT' });
    if (buf.byteLength === 0) return 0;
    const piece = await this.nextPiece(buf.byteLength);
    if (!piece) return 0;
    buf.set(piece);
    return piece.byteLength;
  }

  /** Up to `max` bytes at the position, without copying; undefined at the end. Advances the position. */
  private async nextPiece(max: number): Promise<Uint8Array | undefined> {
    let opens = 0;
    for (;;) {
      const length = this.knownLength();
      if (length !== undefined && this.pos >= length) return undefined;
      const abs = this.base + this.pos;
      const c = this.chunk;
      if (c && abs >= c.start && abs < c.start + c.data.byteLength) {
        const from = abs - c.start;
        const limit = length === undefined ? Infinity : length - this.pos;
        const piece = c.data.subarray(from, from + Math.min(max, limit));
        this.pos += piece.byteLength;
        return piece;
      }
      if (!this.canServe(abs)) {
        this.chunk = undefined;
        this.dropBody();
        if (opens++ >= 2) {
          throw new ReaderError('Unexpected', 'backend returned empty bodies before the end of the object', this.context('read'), { code: 'EMPTY_READ' });
        }
        if (!(await this.openBody(abs))) return undefined;
        continue;
      }
      await this.pullChunk();
    }
  }

  /** Opens a ranged GET from `abs` to the end of the window. Returns false at the end of the object. */
  private async openBody(abs: number): Promise<boolean> {
    const windowEnd = this.windowLength === undefined ? undefined : this.base + this.windowLength;
    const range: ByteRange = windowEnd === undefined ? { offset: abs } : { offset: abs, length: windowEnd - abs };
    this.setState('SendRead');
    let res;
    try {
      res = await this.backend.read(this.path, range, this.readOptions());
    } catch (err) {
      this.setState('Idle');
      if (err instanceof ReaderError && err.kind === 'RangeNotSatisfied') {
        // Past the end: reads there return 0. Learn the size when the server told it.
        if (typeof err.context.size === 'number') this.learn({ size: err.context.size }, 'read');
        return false;
      }
      throw err;
    }
    try {
      this.learn(res.meta, 'read');
    } catch (err) {
      this.setState('Idle');
      res.body[Symbol.asyncIterator]().return?.()?.catch(() => undefined);
      throw err;
    }
    if (res.range.length === 0) {
      this.setState('Idle');
      return false;
    }
    this.body = { iter: res.body[Symbol.asyncIterator](), next: res.range.offset, end: res.range.offset + res.range.length };
    this.setState('Read');
    return true;
  }

  /** Pulls the next chunk of the open body into `chunk`; closes the body when it is complete. */
  private async pullChunk(): Promise<void> {
    const b = this.body as OpenBody;
    let step: IteratorResult<Uint8Array>;
    try {
      step = await b.iter.next();
    } catch (err) {
      this.body = undefined;
      this.chunk = undefined;
      this.setState('Idle');
      throw this.closed ? this.closedError('read') : err;
    }
    // close() while this chunk was awaited ends the body: the read fails as closed, not as a short body
    if (this.closed) throw this.closedError('read');
    if (step.done) {
      this.body = undefined;
      this.setState('Idle');
      if (b.next < b.end) {
        throw new ReaderError('Interrupted', `body ended ${b.end - b.next} bytes early`, this.context('read'), { code: 'SHORT_BODY' });
      }
      return;
    }
    this.chunk = { data: step.value, start: b.next };
    b.next += step.value.byteLength;
    if (b.next >= b.end) {
      // Let the body finish (it checks the server sent nothing extra) and release the connection.
      this.body = undefined;
      try {
        const last = await b.iter.next();
        if (!last.done) throw new ReaderError('Unexpected', 'body is longer than the requested range', this.context('read'), { code: 'LONG_BODY' });
      } catch (err) {
        this.chunk = undefined;
        this.setState('Idle');
        throw err;
      }
      this.setState('Idle');
    }
  }

  /** Drops any open request. Further reads and seeks throw `InvalidInput`. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.chunk = undefined;
    const b = this.body;
    this.body = undefined;
    this.closed = true;
    this.setState('Idle');
    if (b) await Promise.resolve(b.iter.return?.()).catch(() => undefined);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Yields the bytes from the current position to the end, advancing the position. */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      const piece = await this.nextPiece(Infinity);
      if (!piece) return;
      yield piece;
    }
  }

  /** A Web ReadableStream of the bytes from the current position to the end. Cancelling it closes nothing but the stream. */
  toReadableStream(): ReadableStream<Uint8Array> {
    return webStreamOf(this);
  }

  /** A Node Readable of the bytes from the current position to the end. */
  toNodeReadable(): Readable {
    return nodeStreamOf(this);
  }
}

export { SeekFrom };
