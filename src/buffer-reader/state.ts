/**
 * The state half of a BufferReader, with one owner: which bytes are buffered (blocks in the budget),
 * which are in flight, what the object is (the pinned version: size, ETag, Last-Modified), and the counters. No I/O here: the
 * fetcher (fetcher.ts) sends requests and hands their bytes to `admit`.
 */
import type { ErrorContext } from '../errors.js';
import { checkVersion, type ObjectVersion } from '../version.js';
import type { Span } from './coalesce.js';
import { BufferPool, blockEnd, blockOf, type Block, type BlockOwner } from './pool.js';
import { Part } from './part.js';
import { SpanIndex } from './span-index.js';

/**
 * A request in flight. Its promise resolves to the bytes from `offset`: shorter than asked only at
 * EOF, empty when `offset` turned out to be at or past EOF.
 */
export interface Fetch {
  offset: number;
  /** Nominal end (exclusive). */
  end: number;
  /** Lands in the budget (reserved); otherwise streamed through to its readers only. */
  buffered: boolean;
  /** Started for the buffer (prefetch, read-ahead), not for a waiting caller: never aborted when callers leave. */
  background: boolean;
  /** Callers waiting for it (see `Fetcher.resolve`); when the last one detaches, a non-background fetch is aborted. */
  waiters: number;
  /** Aborts this request only. */
  abort(): void;
  /** The bytes as they landed: one buffer, or a scan part's chunks (part.ts). */
  landed: Promise<Part>;
  /** The bytes in one buffer (a chunked part is joined: only what needs them contiguous asks for this). */
  readonly promise: Promise<Uint8Array>;
}

export interface FetcherCounts {
  hits: number;
  misses: number;
  joins: number;
  bytesFromBuffer: number;
  bytesFetched: number;
  bytesStreamed: number;
  requests: number;
  evictions: number;
  /**
   * Body bytes that crossed the wire for this reader's requests: `bytesFetched` plus what a server
   * sent outside the asked range (all of the object when it ignored Range) and the reader skipped.
   */
  bytesReceived: number;
  /** Requests the server answered with the whole object, ignoring Range (200, not 206). */
  rangesIgnored: number;
}

export interface StateSettings {
  size?: number;
  etag?: string;
  lastModified?: Date;
  /** Hears about every block that leaves the budget (the reader pins its current one). */
  onEvicted?: (block: Block) => void;
  /** Hears when a response (or the caller) first tells the object's size. */
  onSize?: () => void;
}

export class ReaderState implements BlockOwner {
  readonly blocks = new SpanIndex<Block>(blockEnd);
  readonly fetches = new SpanIndex<Fetch>((f) => f.end);
  readonly counts: FetcherCounts = { hits: 0, misses: 0, joins: 0, bytesFromBuffer: 0, bytesFetched: 0, bytesStreamed: 0, requests: 0, evictions: 0, bytesReceived: 0, rangesIgnored: 0 };
  knownSize: number | undefined;
  etag: string | undefined;
  lastModified: Date | undefined;
  closed = false;
  private readonly ownerId = BufferPool.ownerId();

  constructor(
    private readonly backendKind: string,
    readonly path: string,
    readonly pool: BufferPool,
    private readonly settings: StateSettings,
  ) {
    this.knownSize = settings.size;
    this.etag = settings.etag;
    this.lastModified = settings.lastModified;
  }

  context(op: string, extra: ErrorContext = {}): ErrorContext {
    return { backend: this.backendKind, op, path: this.path, ...extra };
  }

  /**
   * Records what a response says of the object. The first ETag, size and Last-Modified seen (or
   * given) pin the version; a response that differs in any of them means the object changed:
   * `ConditionNotMatch` (`ETAG_CHANGED`), never bytes of two versions.
   */
  learn(meta: ObjectVersion): void {
    checkVersion({ etag: this.etag, size: this.knownSize, lastModified: this.lastModified }, meta, 'while reading', this.context('read'));
    this.etag ??= meta.etag;
    const knew = this.knownSize !== undefined;
    this.knownSize ??= meta.size;
    if (!knew && this.knownSize !== undefined) this.settings.onSize?.();
    this.lastModified ??= meta.lastModified;
  }

  /** Called by the pool when one of our blocks leaves the LRU. */
  onEvicted(block: Block, reason: 'evict' | 'delete'): void {
    if (!this.blocks.remove(block)) return;
    if (reason === 'evict') this.counts.evictions++;
    this.settings.onEvicted?.(block);
  }

  /** Adds bytes to the budget as a block unless they overlap one; false when refused. */
  admit(offset: number, part: Part): boolean {
    const n = part.byteLength;
    if (n === 0 || this.closed || this.blocks.overlaps(offset, offset + n)) return false;
    const block = blockOf(offset, part, this, `${this.ownerId}:${offset}`);
    this.blocks.insert(block);
    if (this.pool.admit(block)) return true;
    this.blocks.remove(block);
    return false;
  }

  /**
   * Adds bytes the caller already holds (a footer read, say) at `offset`, so reads of them cost
   * nothing. Only the parts not already buffered or in flight are added (as views of `bytes`); bytes
   * over the budget are not kept. Returns the bytes added.
   */
  insert(offset: number, bytes: Uint8Array): number {
    let added = 0;
    const end = offset + bytes.byteLength;
    for (let p = offset; p < end; ) {
      const covering = this.blocks.find(p) ?? this.fetches.find(p);
      if (covering) {
        p = 'part' in covering ? blockEnd(covering) : covering.end;
        continue;
      }
      const q = Math.min(end, this.blocks.nextStart(p), this.fetches.nextStart(p));
      if (this.pool.reserve(q - p)) {
        this.pool.release(q - p);
        if (this.admit(p, Part.of(bytes.subarray(p - offset, q - offset)))) added += q - p;
      }
      p = q;
    }
    return added;
  }

  /** Whether any byte of `spans` is neither buffered nor in flight. */
  missing(spans: readonly Span[]): boolean {
    for (const s of spans) {
      const end = s.offset + s.length;
      for (let p = s.offset; p < end; ) {
        const covering = this.blocks.find(p) ?? this.fetches.find(p);
        if (!covering) return true;
        p = 'part' in covering ? blockEnd(covering) : covering.end;
      }
    }
    return false;
  }
}
