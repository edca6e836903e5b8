/**
 * The I/O half of a BufferReader: the requests for what its state (state.ts) does not hold —
 * planned by the one wave planner, bounded in concurrency, de-duplicated while in flight, checked,
 * and admitted into the budget.
 */
import { onAbort } from '../abort.js';
import { collectBody, collectChunks } from '../body.js';
import { ReaderError, abortError, isReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ReadOptions } from '../types.js';
import { isStrongEtag, versionChangedError } from '../version.js';
import type { Piece } from './assemble.js';
import type { Span } from './coalesce.js';
import { Part } from './part.js';
import { blockEnd, type BufferPool, type Block } from './pool.js';
import type { SpanIndex } from './span-index.js';
import { ReaderState, type Fetch, type FetcherCounts } from './state.js';
import { planWave, requestCap, type WaveCaps } from './wave.js';

export type { Fetch, FetcherCounts };

export interface FetcherSettings {
  /** Merge gap and request cap, read at each plan (so an adaptive model's changes apply). */
  gap(): number;
  maxRangeSize(): number;
  /** Requests in flight at once: a wave is spread over this many connections. */
  concurrency: number;
  signal: AbortSignal;
  size?: number;
  etag?: string;
  lastModified?: Date;
  /** Hears about every block that leaves the budget (the reader pins its current one). */
  onEvicted?: (block: Block) => void;
  /** Hears when a response first tells the object's size (a scan waiting for it opens its window). */
  onSize?: () => void;
  /** Hears that the object is not the version this reader is pinned to (for each request that found it; may repeat). */
  onVersionChanged?: (err: ReaderError) => void;
}

export interface Coverage {
  pieces: (Piece | Fetch)[];
  /** Requests this call started. */
  started: Fetch[];
  /** Fetches (joined or started) the caller will wait for. */
  waits: number;
  /** Bytes already buffered. */
  fromBuffer: number;
  /** The caller holds its fetches (counted in their `waiters`) until `resolve` ends. */
  held: boolean;
}

export interface CoverOptions {
  /** Fetches the caller itself just started (its read-ahead): waiting on them is not a join. */
  own?: readonly Fetch[];
  /** The caller will wait through `resolve` and may detach: count it among each fetch's waiters. */
  hold?: boolean;
  /** Count joins (false for a batch's own planning pass: its callers count). Default true. */
  count?: boolean;
  /**
   * `need` only: a wave larger than the whole budget is streamed through (default true). False for a
   * batch of several reads: its requests stay within the block cap and are buffered while there is room.
   */
  stream?: boolean;
  /** Spread the wave over idle connections (default true); false: the caller sized its requests itself (a scan's parts). */
  spread?: boolean;
  /**
   * Keep the bodies of the requests this call starts in the chunks they arrive in (part.ts): for a
   * scan's parts, which the cursor copies out of (`read`) or hands on (the iterator) chunk by
   * chunk. Anything that needs such a part in one buffer joins it then. Default false.
   */
  chunked?: boolean;
}

/** A request in flight (see `Fetch`). A class: every fetch shares one shape, and `promise` is made only when asked for. */
class InFlight implements Fetch {
  waiters = 0;
  landed: Promise<Part> = undefined as never;
  private joined: Promise<Uint8Array> | undefined;

  constructor(
    readonly offset: number,
    readonly end: number,
    readonly buffered: boolean,
    readonly background: boolean,
    readonly abort: () => void,
  ) {}

  /** A chunked part is joined only for a reader that needs it whole. */
  get promise(): Promise<Uint8Array> {
    return (this.joined ??= this.landed.then((part) => part.data));
  }
}

export class Fetcher {
  /** The one owner of what is buffered, in flight and counted. */
  readonly state: ReaderState;

  constructor(
    /** The backend requests go to (already wrapped in the reader's limit). */
    private readonly io: Backend,
    /** The backend as given, for its kind and capabilities. */
    private readonly backend: Backend,
    readonly path: string,
    readonly pool: BufferPool,
    private readonly settings: FetcherSettings,
  ) {
    this.state = new ReaderState(backend.kind, path, pool, settings);
  }

  get blocks(): SpanIndex<Block> {
    return this.state.blocks;
  }

  get fetches(): SpanIndex<Fetch> {
    return this.state.fetches;
  }

  get counts(): FetcherCounts {
    return this.state.counts;
  }

  get knownSize(): number | undefined {
    return this.state.knownSize;
  }

  get closed(): boolean {
    return this.state.closed;
  }

  context(op: string, extra: ErrorContext = {}): ErrorContext {
    return this.state.context(op, extra);
  }

  insert(offset: number, bytes: Uint8Array): number {
    return this.state.insert(offset, bytes);
  }

  missing(spans: readonly Span[]): boolean {
    return this.state.missing(spans);
  }

  /** Requests in flight at once. */
  get concurrency(): number {
    return this.settings.concurrency;
  }

  /** Largest request whose result is buffered: a block never exceeds the budget. */
  get blockCap(): number {
    return requestCap(this.caps());
  }

  /** The caps a wave is planned with now (an adaptive model's changes apply at each plan). */
  caps(): WaveCaps {
    return { gap: this.settings.gap(), maxRangeSize: this.settings.maxRangeSize(), maxMemory: this.pool.maxMemory, concurrency: this.settings.concurrency };
  }

  /** Tells `onVersionChanged` about a ConditionNotMatch (from the server's 412 or from `learn`), then rethrows it. */
  private changed(err: unknown): never {
    if (isReaderError(err, 'ConditionNotMatch')) this.settings.onVersionChanged?.(err);
    throw err;
  }

  async stat(): Promise<number> {
    try {
      const meta = await this.io.stat(this.path, { signal: this.settings.signal });
      this.state.learn(meta);
      return meta.size;
    } catch (err) {
      return this.changed(err);
    }
  }

  /** Starts one request and registers it as in flight (synchronously, so later reads can join it). `chunked`: see CoverOptions. */
  private start(span: Span, buffered: boolean, background: boolean, chunked = false): Fetch {
    const context = this.context('read', { range: span });
    // Its own signal, aborted with the reader's: one waiter on the reader's one listener (src/abort.ts),
    // gone when the request ends — however many requests are in flight or queued at the limit.
    const controller = new AbortController();
    const signal = controller.signal;
    const outer = this.settings.signal;
    const offOuter = onAbort(outer, () => controller.abort(outer.reason));
    const fetch = new InFlight(span.offset, span.offset + span.length, buffered, background, () => controller.abort());
    const run = async (): Promise<Part> => {
      const opts: ReadOptions = { signal };
      if (isStrongEtag(this.state.etag) && this.backend.capabilities.ifMatch) opts.ifMatch = this.state.etag;
      this.counts.requests++;
      let res;
      try {
        res = await this.io.read(this.path, span, opts);
      } catch (err) {
        if (!isReaderError(err, 'RangeNotSatisfied')) throw err;
        // A part planned past an unknown EOF (the tail of a split read): it holds no bytes. Learn
        // the size from the error, or ask (a 416 need not carry it), and answer empty past EOF.
        if (typeof err.context.size === 'number') this.state.learn({ size: err.context.size });
        const pinned = this.knownSize;
        if (pinned === undefined) await this.stat();
        if (span.offset >= (this.knownSize as number)) return Part.of(new Uint8Array(0));
        // Inside the size this reader is pinned to, yet past the end: the object shrank.
        if (pinned !== undefined) throw versionChangedError('while reading', `it ends before byte ${span.offset}, within the ${pinned} bytes read before`, context);
        throw err;
      }
      try {
        this.state.learn(res.meta);
      } catch (err) {
        res.body[Symbol.asyncIterator]().return?.()?.catch(() => undefined); // none of its bytes are wanted
        throw err;
      }
      const data = chunked ? Part.chunked(await collectChunks(res.body)) : Part.of(await collectBody(res.body, res.range.length));
      const n = data.byteLength;
      const short = n < span.length && span.offset + n !== res.meta.size;
      if (res.range.offset !== span.offset || n > span.length || short) {
        throw new ReaderError('Unexpected', `backend returned ${n} bytes at ${res.range.offset}`, context, { code: 'BAD_CONTENT_RANGE' });
      }
      this.counts.bytesFetched += n;
      this.counts.bytesReceived += res.wireBytes ? res.wireBytes() : n;
      if (res.rangeIgnored) this.counts.rangesIgnored++;
      if (!buffered) this.counts.bytesStreamed += n;
      return data;
    };
    // Bookkeeping runs before any waiter resumes: the bytes are buffered (or not) by then.
    fetch.landed = run().catch((err: unknown) => this.changed(err)).then(
      (data) => {
        offOuter();
        this.fetches.remove(fetch);
        if (buffered) {
          this.pool.release(span.length);
          this.state.admit(span.offset, data);
        }
        return data;
      },
      (err: unknown) => {
        offOuter();
        this.fetches.remove(fetch);
        if (buffered) this.pool.release(span.length);
        throw err;
      },
    );
    fetch.landed.catch(() => undefined); // background fetches may fail unobserved; readers that wait see the error
    this.fetches.insert(fetch);
    return fetch;
  }

  /**
   * The pieces covering `spans` (sorted, disjoint, clamped to the known size): buffered blocks now,
   * fetches already in flight, and new requests for the rest. All synchronous, so concurrent reads
   * see each other's fetches. `need`: what is larger than the whole budget is fetched without
   * buffering (streamed through); `optional` (prefetch, read-ahead): requests that find no room
   * next to those in flight are skipped. The wave is planned by `planWave` with the reader's caps.
   */
  cover(spans: readonly Span[], policy: 'need' | 'optional', opts: CoverOptions = {}): Coverage {
    const own = opts.own ?? [];
    const pieces: (Piece | Fetch)[] = [];
    const started: Fetch[] = [];
    const missing: Span[] = [];
    let waits = 0;
    let joined = 0;
    let fromBuffer = 0;
    let direct = false;
    for (const s of spans) {
      const end = s.offset + s.length;
      for (let p = s.offset; p < end; ) {
        const block = this.blocks.find(p);
        const fetch = block ? undefined : this.fetches.find(p);
        if (block) {
          this.pool.touch(block);
          pieces.push(block); // a Piece whose `data` is made only if asked for (a chunked part is joined then)
          fromBuffer += Math.min(end, blockEnd(block)) - p;
          p = blockEnd(block);
        } else if (fetch) {
          pieces.push(fetch);
          waits++;
          if (!own.includes(fetch)) joined++;
          p = fetch.end;
        } else {
          const q = Math.min(end, this.blocks.nextStart(p), this.fetches.nextStart(p));
          missing.push({ offset: p, length: q - p });
          p = q;
        }
      }
    }
    if (joined > 0 && opts.count !== false) this.counts.joins++;
    let requests: Span[] = [];
    if (missing.length > 0) {
      // Nothing merges across a buffered block or a fetch: the planner sees them as held.
      const from = (missing[0] as Span).offset;
      const to = (missing.at(-1) as Span).offset + (missing.at(-1) as Span).length;
      const held = [...this.blocks.within(from, to).map((b) => ({ offset: b.offset, length: b.byteLength })), ...this.fetches.within(from, to).map((f) => ({ offset: f.offset, length: f.end - f.offset }))];
      const caps = this.caps();
      if (opts.spread === false) caps.concurrency = 1;
      requests = planWave(missing, held, caps).requests;
      // Larger than the whole budget: stream it through to the caller instead of evicting everything.
      if (policy === 'need' && opts.stream !== false && requests.reduce((n, r) => n + r.length, 0) > this.pool.maxMemory) {
        direct = true;
        requests = planWave(missing, held, caps, true).requests;
      }
    }
    for (const r of requests) {
      const buffered = !direct && this.pool.reserve(r.length);
      if (!buffered && policy === 'optional') continue;
      const fetch = this.start(r, buffered, policy === 'optional', opts.chunked === true);
      pieces.push(fetch);
      started.push(fetch);
      waits++;
    }
    pieces.sort((a, b) => a.offset - b.offset);
    const held = opts.hold === true;
    if (held) for (const p of pieces) if ('promise' in p) p.waiters++;
    return { pieces, started, waits, fromBuffer, held };
  }

  /**
   * Waits for the fetches of a coverage. With `signal`, a caller that aborts detaches at once
   * (AbortError): a request that others still wait for keeps going; one nobody waits for any more
   * (and not started for the buffer) is aborted.
   */
  async resolve(cov: Coverage, signal?: AbortSignal): Promise<Piece[]> {
    const fetches = cov.held ? cov.pieces.filter((p): p is Fetch => 'promise' in p) : [];
    let released = false;
    const release = (detached: boolean): void => {
      if (released) return;
      released = true;
      for (const f of fetches) {
        f.waiters--;
        if (detached && f.waiters <= 0 && !f.background) f.abort();
      }
    };
    const all = Promise.all(cov.pieces.map(async (p) => ('data' in p ? p : { offset: p.offset, data: await p.promise })));
    if (!signal) {
      try {
        return await all;
      } finally {
        release(false);
      }
    }
    return new Promise<Piece[]>((resolve, reject) => {
      const off = onAbort(signal, () => {
        release(true);
        reject(abortError(signal, this.context('read')));
      });
      if (signal.aborted) return;
      all.then(
        (v) => {
          off();
          release(false);
          resolve(v);
        },
        (err: unknown) => {
          off();
          release(false);
          reject(err);
        },
      );
    });
  }

  /** Drops every block and waits for requests in flight to end (abort them first through the signal). */
  async close(): Promise<void> {
    this.state.closed = true;
    for (const b of [...this.blocks.all()]) this.pool.remove(b);
    await Promise.allSettled(this.fetches.all().map((f) => f.landed));
  }
}
