import type { Readable } from 'node:stream';
import { ReaderError, type ErrorContext } from '../errors.js';
import { withLimit } from '../layers/limit.js';
import { withMetrics, type Metrics, type MetricsSnapshot } from '../layers/metrics.js';
import { SeekFrom, seekTarget } from '../range-reader/seek-from.js';
import { nodeStreamOf, webStreamOf } from '../range-reader/streams.js';
import type { Backend } from '../types.js';
import { assemble, sliceOrCopy, type Piece } from './assemble.js';
import { unionRanges, type Span } from './coalesce.js';
import { CostModel, type CostModelSnapshot } from './cost-model.js';
import { Batcher, DEFAULT_BATCH_WINDOW_MS, type BatchEntry } from './batch.js';
import { Fetcher, type Coverage, type FetcherCounts } from './fetcher.js';
import { withCostObserver } from './observe.js';
import { READAHEAD_INITIAL, type ReadAhead } from './readahead.js';
import { Cursor } from './sequential.js';
import { checkCount, readAheadsFor, type BufferReaderOptions, type ReadCallOptions } from './options.js';
import { BufferPool, type PoolMemory } from './pool.js';
import type { WaveCaps } from './wave.js';
import { DEFAULT_CONCURRENCY } from '../connections.js';

export { DEFAULT_CONCURRENCY };
export type { BufferReaderOptions, ReadCallOptions };

/**
 * `hits`/`misses`: reads (read/readAt/readRanges calls) served entirely from buffered bytes, or that
 * waited for a request. `joins`: reads that shared a request already in flight. `bytesFetched`: bytes
 * received; `bytesStreamed`: of those, bytes passed through to a caller without buffering (over
 * budget). `requests`: GETs sent. `evictions`: this reader's blocks the budget let go.
 */
export interface BufferReaderStats extends FetcherCounts {
  memory: PoolMemory;
  model: CostModelSnapshot;
  /** The request list, when the reader was created with `metrics: true`. */
  metrics?: MetricsSnapshot;
}

/**
 * A seekable reader over one object that turns many small reads into a few large, parallel requests
 * and keeps what it fetched, within a byte budget, across seeks in both directions.
 *
 * Results may share memory with the reader's buffers (see `sliceOrCopy`; a `readAt` served whole
 * from one buffered block is always a view of it): do not modify them, and `slice()` what you keep
 * longer than the reader (a view keeps its block's memory alive).
 * `read` returns 0 only at the end; seeking before 0 is `InvalidInput`; seeking past the end is
 * allowed and reads there return 0. `readAt` clamps at EOF; a start at or past EOF is `RangeNotSatisfied`.
 */
export class BufferReader implements AsyncIterable<Uint8Array> {
  /** Position, current block and read-ahead of `read()`. */
  private readonly cursor: Cursor;
  private readonly fetcher: Fetcher;
  private readonly metered: Metrics | undefined;
  private readonly pool: BufferPool;
  private readonly model: CostModel;
  /** Read-ahead of positional reads (`readAt`): its own state, so they never reset a `read()` scan. */
  private readonly positional: ReadAhead;
  private readonly controller = new AbortController();
  /** Misses of the current turn, planned together (see batch.ts). */
  private readonly batch: Batcher<Coverage>;
  private retiredBy: ReaderError | undefined;
  /** Requests in flight at once. */
  readonly concurrency: number;

  constructor(
    readonly backend: Backend,
    readonly path: string,
    private readonly options: BufferReaderOptions = {},
  ) {
    const context = { backend: backend.kind, op: 'open', path };
    if (options.size !== undefined) checkCount(options.size, 'size', context);
    if (options.gap !== undefined) checkCount(options.gap, 'gap', context);
    if (options.maxRangeSize !== undefined) checkCount(options.maxRangeSize, 'maxRangeSize', context, 1);
    this.concurrency = options.concurrency ?? DEFAULT_CONCURRENCY;
    checkCount(this.concurrency, 'concurrency', context, 1);
    this.pool = options.pool ?? new BufferPool(options.maxMemory === undefined ? {} : { maxMemory: options.maxMemory });
    this.model = options.costModel ?? new CostModel({ adaptive: options.adaptive ?? true });
    const base = options.metrics ? withMetrics(backend) : backend;
    this.metered = options.metrics ? (base as ReturnType<typeof withMetrics>).metrics : undefined;
    const observed = options.adaptive === false ? base : withCostObserver(base, this.model);
    const io = withLimit(observed, { concurrency: this.concurrency });
    const signal = options.signal ? AbortSignal.any([options.signal, this.controller.signal]) : this.controller.signal;
    // Requests in flight follow it through one listener (the fetcher's, src/abort.ts), however many there are.
    this.fetcher = new Fetcher(io, backend, path, this.pool, {
      gap: () => this.gap,
      maxRangeSize: () => this.maxRangeSize,
      concurrency: this.concurrency,
      signal,
      ...(options.size === undefined ? {} : { size: options.size }),
      ...(options.etag === undefined ? {} : { etag: options.etag }),
      ...(options.lastModified === undefined ? {} : { lastModified: options.lastModified }),
      ...(options.onVersionChanged ? { onVersionChanged: options.onVersionChanged } : {}),
      onEvicted: (block) => this.cursor.onEvicted(block),
      onSize: () => this.cursor.onSize(),
    });
    this.batch = new Batcher(options.batchWindowMs ?? DEFAULT_BATCH_WINDOW_MS, (entries) => this.flushBatch(entries));
    const { scan, positional } = readAheadsFor(options.readahead, this.pool.maxMemory, this.concurrency, context);
    this.cursor = new Cursor(this.fetcher, this.pool, scan, (spans) => this.batch.add(spans), (op) => this.ensureOpen(op));
    this.positional = positional;
  }

  private context(op: string, extra: ErrorContext = {}): ErrorContext {
    return this.fetcher.context(op, extra);
  }

  private ensureOpen(op: string): void {
    if (this.retiredBy) throw this.retiredBy;
    if (this.fetcher.closed) throw new ReaderError('InvalidInput', 'reader is closed', this.context(op), { code: 'READER_CLOSED' });
  }

  /**
   * Closes the reader because its object changed (its owner moved on to the new version): every
   * later call rejects with `reason` (a `ConditionNotMatch`) instead of "reader is closed", so a
   * decoder still holding it learns why. @internal (ParquetSource)
   */
  async retire(reason: ReaderError): Promise<void> {
    this.retiredBy ??= reason;
    await this.close();
  }

  /** Merge gap in force: the option, or the cost model's current value. */
  get gap(): number {
    return this.options.gap ?? this.model.gap;
  }

  /** Largest request in force: the option, or the cost model's current value. */
  get maxRangeSize(): number {
    return this.options.maxRangeSize ?? this.model.maxRangeSize;
  }

  /** The caps a wave is planned with now: gap, maxRangeSize, concurrency and the memory budget. */
  caps(): WaveCaps {
    return this.fetcher.caps();
  }

  /** Largest request whose bytes are buffered: min(maxRangeSize, maxMemory). */
  get blockCap(): number {
    return this.fetcher.blockCap;
  }

  /** The current position. */
  get position(): number {
    return this.cursor.pos;
  }

  /** The object's size; asks the backend (HEAD) only when no response has told it yet. */
  async size(): Promise<number> {
    this.ensureOpen('size');
    return this.fetcher.knownSize ?? (await this.fetcher.stat());
  }

  /**
   * Adds bytes the caller already holds (say, the footer read of a Parquet open) at `offset`, so that
   * reads of them cost nothing. Returns the bytes added (not those already buffered or over budget).
   * The reader keeps views of `bytes`: do not modify them afterwards.
   */
  insert(offset: number, bytes: Uint8Array): number {
    this.ensureOpen('insert');
    checkCount(offset, 'offset', this.context('insert'));
    if (!(bytes instanceof Uint8Array)) throw new ReaderError('InvalidInput', 'insert needs a Uint8Array', this.context('insert'), { code: 'INVALID_ARGUMENT' });
    return this.fetcher.insert(offset, bytes);
  }

  // ---- random access ---------------------------------------------------------------------------

  /** Validates and clamps ranges against the known size; `RangeNotSatisfied` for a start at or past EOF. */
  private clampSpans(ranges: readonly Span[], op: string): Span[] {
    const size = this.fetcher.knownSize;
    return ranges.map((r, i) => {
      const context = this.context(op, { index: i });
      if (r === null || typeof r !== 'object') throw new ReaderError('InvalidInput', 'a range must be { offset, length }', context, { code: 'INVALID_ARGUMENT' });
      checkCount(r.offset, 'offset', context);
      checkCount(r.length, 'length', context);
      if (r.length === 0) return { offset: r.offset, length: 0 };
      if (size !== undefined && r.offset >= size) {
        throw new ReaderError('RangeNotSatisfied', `range starts at or past the end of the object (size ${size})`, { ...context, range: r, size }, { code: 'RANGE_NOT_SATISFIABLE' });
      }
      return { offset: r.offset, length: size === undefined ? r.length : Math.min(r.length, size - r.offset) };
    });
  }

  /**
   * The bytes of each range, in the order asked: all ranges planned together (merged, split, fetched
   * in parallel), and together with every other read that misses the buffer in the same turn. An end
   * past EOF is clamped (short result); a start at or past EOF is `RangeNotSatisfied`; length 0 gives
   * an empty result without a request. No read-ahead: the list is the caller's plan.
   */
  async readRanges(ranges: readonly Span[], opts: ReadCallOptions = {}): Promise<Uint8Array[]> {
    this.ensureOpen('readRanges');
    if (!Array.isArray(ranges)) throw new ReaderError('InvalidInput', 'readRanges needs an array of ranges', this.context('readRanges'), { code: 'INVALID_ARGUMENT' });
    return this.readSpans(this.clampSpans(ranges, 'readRanges'), 'readRanges', [], opts.signal);
  }

  /**
   * `length` bytes at `offset` (fewer at EOF; `RangeNotSatisfied` for a start at or past EOF).
   *
   * Reads that miss the buffer in the same turn of the event loop (`Promise.all` of slices, a
   * decoder's burst) are planned as one wave: `batchWindowMs`. A `readAt` after a jump fetches
   * exactly what it asks (merged with its batch). One that starts where the previous `readAt`
   * ended (or at most READAHEAD_SEQUENTIAL_SLACK bytes after) is sequential and gets read-ahead
   * windows as `read()` does: a window from there if its bytes are not buffered, then doubling
   * windows in the background. So a decoder that reads forward by position (hyparquet slices,
   * parquet-wasm, Arrow IPC) costs a few requests, not one per read. Windows are capped like
   * `read()`'s (half the budget) and only fetched when the budget has room; `readahead: false` turns
   * them off. Calls issued together without awaiting (`Promise.all`) are seen in the order issued.
   * A read that one buffered block holds is served at once, without waiting for the batch's turn,
   * as a view of the block (no copy).
   */
  async readAt(offset: number, length: number, opts: ReadCallOptions = {}): Promise<Uint8Array> {
    this.ensureOpen('readAt');
    const held = opts.signal?.aborted ? undefined : this.heldAt(offset, length);
    if (held) return held;
    const spans = this.clampSpans([{ offset, length }], 'readAt');
    const window = this.readAheadAt(spans[0] as Span);
    const [out] = await this.readSpans(spans, 'readAt', window, opts.signal);
    return out as Uint8Array;
  }

  /**
   * A `readAt` that one buffered block holds, served now: no batch turn, no planning, no copy (a
   * view of the block, whatever its size; see `readAt`); the read-ahead still hears of it.
   * Undefined for anything else (the general path then validates, clamps and plans it).
   */
  private heldAt(offset: number, length: number): Uint8Array | undefined {
    const f = this.fetcher;
    const size = f.knownSize;
    if (size === undefined || !Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length <= 0 || offset >= size) return undefined;
    const end = Math.min(offset + length, size);
    const block = f.blocks.find(offset);
    if (!block || block.offset + block.byteLength < end) return undefined;
    this.readAheadAt({ offset, length: end - offset }, true);
    f.pool.touch(block);
    const counts = f.counts;
    counts.hits++;
    counts.bytesFromBuffer += end - offset;
    // A view, not a copy: copying 4 KiB costs five times the rest of the call (bench:micro). A scan's
    // part kept as chunks gives a view of the chunk that holds the bytes; one that spans chunks joins the part.
    const from = offset - block.offset;
    if (!block.part.contiguous) {
      const view = block.part.view(from, end - offset);
      if (view.byteLength === end - offset) return view;
    }
    return block.data.subarray(from, end - block.offset);
  }

  /**
   * Reads clamped spans. Spans that are all buffered or in flight are served now; otherwise the read
   * joins the batch of this turn, with `window` (its read-ahead) to be fetched along.
   */
  private async readSpans(spans: Span[], op: string, window: readonly Span[], signal: AbortSignal | undefined): Promise<Uint8Array[]> {
    const union = unionRanges(spans);
    const f = this.fetcher;
    let resolved: Piece[];
    try {
      let cov: Coverage;
      if (f.missing(union)) cov = await this.batch.add(union, window, signal);
      else cov = f.cover(union, 'need', { hold: true });
      const counts = f.counts;
      if (cov.waits === 0) counts.hits++;
      else counts.misses++;
      counts.bytesFromBuffer += cov.fromBuffer;
      resolved = await f.resolve(cov, signal);
    } catch (err) {
      throw this.retiredBy ?? err; // retired mid-read: its requests were aborted because the object changed
    }
    // Clamp again: the responses may have told the size.
    return this.clampSpans(spans, op).map((s) => assemble(resolved, s.offset, s.offset + s.length, this.context(op)));
  }

  /**
   * Plans a batch (synchronously, at the end of its window): in offset order, in sub-batches of at
   * most the budget each (so a batch of small reads is buffered like the reads alone would be, not
   * streamed through; catalogue case 24), each sub-batch as one wave with its callers' read-ahead
   * windows merged in when the budget has room for them; then each caller's share.
   */
  private flushBatch(entries: readonly BatchEntry<Coverage>[]): void {
    const f = this.fetcher;
    if (f.closed) throw this.retiredBy ?? new ReaderError('Aborted', 'the reader was closed while this read waited', this.context('read'), { code: 'ABORTED' });
    const sorted = [...entries].sort((a, b) => (a.spans[0]?.offset ?? 0) - (b.spans[0]?.offset ?? 0));
    let group: BatchEntry<Coverage>[] = [];
    let bytes = 0;
    const plan = (): void => {
      const only = group[0] as BatchEntry<Coverage>;
      if (group.length === 1 && only.extra.length === 0) {
        // A lone read: its own wave, planned and held in one pass.
        only.settle(f.cover(only.spans, 'need', { hold: true }));
        group = [];
        bytes = 0;
        return;
      }
      const need = group.flatMap((e) => e.spans);
      const extra = group.flatMap((e) => e.extra);
      const extraBytes = extra.reduce((n, x) => n + x.length, 0);
      // Windows are optional: along with the wave while the budget has room next to what is in flight.
      const room = f.pool.maxMemory - f.pool.memory().inFlight - bytes;
      const along = extraBytes > 0 && extraBytes <= room;
      // One read larger than the budget streams through; a batch of several keeps to the block cap.
      const { started } = f.cover(unionRanges(along ? [...need, ...extra] : need), 'need', { count: false, stream: group.length === 1 });
      if (!along && extra.length > 0) started.push(...f.cover(unionRanges(extra), 'optional', { count: false }).started);
      for (const e of group) e.settle(f.cover(e.spans, 'need', { own: started, hold: true }));
      group = [];
      bytes = 0;
    };
    for (const e of sorted) {
      const n = e.spans.reduce((sum, x) => sum + x.length, 0);
      if (group.length > 0 && bytes + n > f.pool.maxMemory) plan();
      group.push(e);
      bytes += n;
    }
    if (group.length > 0) plan();
  }

  /**
   * The read-ahead of a positional read of `span`: background windows start now; the window the
   * read waits for is returned, to be fetched along with its batch (what the open batch already
   * wants counts as covered). Advances the read-ahead state.
   */
  private readAheadAt(span: Span, buffered = false): Span[] {
    const f = this.fetcher;
    if (span.length === 0 || this.positional.max === 0) return [];
    const covered = buffered || f.blocks.find(span.offset) !== undefined || f.fetches.find(span.offset) !== undefined || this.batch.covers(span.offset);
    const windows: Span[] = [];
    for (const w of this.positional.plan(span.offset, covered, Math.min(span.length, f.blockCap), f.knownSize, 'exact')) {
      const length = f.knownSize === undefined ? w.length : Math.min(w.length, f.knownSize - w.offset);
      if (length <= 0) continue;
      // The window this read waits for goes with its batch; a background one (for later reads) starts now.
      if (w.sync) windows.push({ offset: w.offset, length });
      else f.cover([{ offset: w.offset, length }], 'optional');
    }
    this.positional.advance(span.offset, span.length);
    return windows;
  }

  /**
   * Fetches ranges into the buffer now, to be served later without waiting. Requests that find no
   * room in the budget next to those already in flight are skipped (fetched on demand later).
   * Resolves when the fetches have landed, with the requests sent and their bytes.
   */
  async prefetch(ranges: readonly Span[]): Promise<{ requests: number; bytes: number }> {
    this.ensureOpen('prefetch');
    if (!Array.isArray(ranges)) throw new ReaderError('InvalidInput', 'prefetch needs an array of ranges', this.context('prefetch'), { code: 'INVALID_ARGUMENT' });
    const cov = this.fetcher.cover(unionRanges(this.clampSpans(ranges, 'prefetch')), 'optional');
    const { started } = cov;
    await this.fetcher.resolve(cov);
    return { requests: started.length, bytes: started.reduce((n, f) => n + (f.end - f.offset), 0) };
  }

  // ---- sequential access -----------------------------------------------------------------------

  /** Moves the position; returns it. Never drops buffered data. */
  async seek(to: SeekFrom): Promise<number> {
    this.ensureOpen('seek');
    const target = await seekTarget(to, this.cursor.pos, () => this.size(), this.context('seek'));
    this.cursor.pos = target;
    return target;
  }

  /**
   * Reads up to `buf.length` bytes at the position into `buf`; returns the count, 0 only at (or past)
   * the end. Short reads are normal (one read never spans two blocks; it does span the chunks of a
   * scan part, copied straight into `buf`).
   */
  async read(buf: Uint8Array): Promise<number> {
    this.ensureOpen('read');
    if (!(buf instanceof Uint8Array)) throw new ReaderError('InvalidInput', 'read needs a Uint8Array', this.context('read'), { code: 'INVALID_ARGUMENT' });
    if (buf.byteLength === 0) return 0;
    // The cursor copies straight into `buf` (across a chunked part's chunks: one copy of each byte).
    const next = this.cursor.next(buf.byteLength, buf.byteLength, false, buf);
    const piece = next instanceof Promise ? await next : next;
    return piece ? piece.byteLength : 0;
  }

  /** Drops every buffer and aborts requests in flight. Further calls throw `InvalidInput`. */
  async close(): Promise<void> {
    if (this.fetcher.closed) return;
    this.batch.close(this.retiredBy ?? new ReaderError('Aborted', 'the reader was closed while this read waited', this.context('read'), { code: 'ABORTED' }));
    this.controller.abort();
    this.cursor.release();
    await this.fetcher.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /** Counters, memory and the cost model; the request list too with `metrics: true`. */
  stats(): BufferReaderStats {
    return {
      ...this.fetcher.counts,
      memory: this.pool.memory(),
      model: this.model.snapshot(),
      ...(this.metered ? { metrics: this.metered.snapshot() } : {}),
    };
  }

  /**
   * Yields the bytes from the position to the end, advancing the position: views of the chunks a
   * scan part's body arrived in (tens of KiB: a socket read's worth), or of the rest of a buffered
   * block; never a copy made only to yield larger pieces.
   */
  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    for (;;) {
      this.ensureOpen('read');
      // With read-ahead on, its windows decide the request sizes; off, fetch a first window's worth.
      const want = this.cursor.readahead.max === 0 ? Math.min(READAHEAD_INITIAL, this.fetcher.blockCap) : 0;
      const next = this.cursor.next(Infinity, want, true);
      const piece = next instanceof Promise ? await next : next;
      if (!piece) return;
      yield sliceOrCopy(piece, 0, piece.byteLength);
    }
  }

  /** A Web ReadableStream of the bytes from the position to the end. */
  toReadableStream(): ReadableStream<Uint8Array> {
    return webStreamOf(this);
  }

  /** A Node Readable of the bytes from the position to the end. */
  toNodeReadable(): Readable {
    return nodeStreamOf(this);
  }
}

export { SeekFrom };
