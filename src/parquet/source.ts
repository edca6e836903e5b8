/**
 * `openParquet`: one request to open (a suffix GET of the tail window), a pure planner, prefetch
 * through a BufferReader, and adapters for the decoders (see src/adapters).
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { parquetReadObjects, type AsyncBuffer, type FileMetaData, type SchemaTree } from 'hyparquet';
import { hyparquetError, toAsyncBuffer } from '../adapters/hyparquet.js';
import { toParquetWasmBlob, type BlobLike } from '../adapters/parquet-wasm.js';
import { openTarget } from '../backends/target.js';
import type { BackendFromUrlOptions } from '../backends/url.js';
import type { BufferReader, BufferReaderOptions, BufferReaderStats } from '../buffer-reader/buffer-reader.js';
import { ReaderError, isReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ResolvedRange } from '../types.js';
import type { BloomIndex, BloomRange } from './bloom.js';
import { metadataCacheKey, sharedMetadataCache, type MetadataCache } from './cache.js';
import { readTable, type ReadTableOptions } from './decode.js';
import { readFilteredObjects, rowGroupsIn } from './filtered-read.js';
import type { ColumnChunkRange } from './metadata.js';
import { BoundFile, type RowGroupInfo } from './bound-file.js';
import { bindFile, checkExpectation, forgetEntry, type OpenTarget, type ReadExpectation } from './open.js';
import type { PageIndex } from './page-index.js';
import type { PlanSelection, ReadPlan } from './planner.js';
import type { ReadFilter } from './row-filter.js';
import { batchesOf } from './whole.js';

export type { RowGroupInfo } from './bound-file.js';
export type { ReadExpectation } from './open.js';

export interface OpenParquetOptions {
  /** Bytes of the first (suffix) GET, the tail window; default DEFAULT_FOOTER_WINDOW (≈ 786 KiB). */
  footerSizeHint?: number;
  /**
   * What you will read: `'part'` (default: a selection, or only the metadata) or `'whole'` (every
   * byte: `readTable()`, `readObjects()` or `readBatches()` with no selection). With `'whole'` the
   * open's one GET asks for the larger whole-read window (`openWindow`: the reader's merge gap,
   * TTFB × bandwidth, ≈ 1.9 MiB with the S3 defaults), so a file up to that size is read in that
   * one round trip; a larger one takes one more, for the bytes before the window only. A selection
   * read after it reuses every byte the open holds.
   */
  expect?: ReadExpectation;
  /** Footer cache across opens: the process-wide one by default, `false` for none, or your own. */
  metadataCache?: MetadataCache | false;
  /** Options of the BufferReader that serves the data (gap, maxRangeSize, concurrency, maxMemory, ...). */
  reader?: Omit<BufferReaderOptions, 'size' | 'etag' | 'lastModified' | 'signal' | 'onVersionChanged'>;
  /** Options for `backendFromUrl` when opening by URL. */
  url?: BackendFromUrlOptions;
  signal?: AbortSignal;
}

/**
 * Options of hyparquet's `parquetReadObjects`, but the file and metadata, which the source supplies;
 * `filter` takes our syntax as well as hyparquet's (see `ReadFilter`).
 */
export type ReadObjectsOptions = Omit<Parameters<typeof parquetReadObjects>[0], 'file' | 'metadata' | 'filter'> & { filter?: ReadFilter };

/** Whether `err` says the object is not the version a read was bound to (a 412, or another ETag/size/Last-Modified). */
function isVersionChange(err: unknown): boolean {
  return isReaderError(err, 'ConditionNotMatch');
}

/**
 * An open Parquet file: its footer, layout and a buffered reader for its data, bound to one version
 * of the object (see "Consistency" in the README).
 *
 * - Whole-call reads (`readTable`, `readObjects`, `loadPageIndex`, `loadBloomFilters`, `readBatches` before its first
 *   batch) that find the object changed before returning anything re-open once on the new version
 *   (one extra round trip), complete on it, and leave the source bound to it: `etag`, `size`,
 *   `metadata` and the layout then describe the new version.
 * - Whatever has handed out bytes of a version never mixes in another: `reader` (and adapters from
 *   `toAsyncBuffer()`/`toBlob()`) after a returned read, `readBatches` after a yield. They fail with
 *   `ConditionNotMatch` (`ETAG_CHANGED`); `reopen()` gives a fresh source.
 * - The footer cache never keeps a footer that a response contradicted.
 */
export class ParquetSource {
  private bound: BoundFile;
  /** A re-open in flight, shared by the calls that found the change together. */
  private rebinding: Promise<void> | undefined;

  /** @internal use `openParquet` */
  constructor(
    private readonly target: OpenTarget,
    bound: BoundFile,
    /** A view inside `readWhole`: its reads never move to another version on their own. */
    private readonly pinned = false,
  ) {
    this.bound = bound;
  }

  get backend(): Backend {
    return this.target.backend;
  }

  get path(): string {
    return this.target.path;
  }

  get size(): number {
    return this.bound.size;
  }

  /** The ETag of the version read, as the server sent it (quotes, `W/`), if it sends one. */
  get etag(): string | undefined {
    return this.bound.version.etag;
  }

  get lastModified(): Date | undefined {
    return this.bound.version.lastModified;
  }

  get metadata(): FileMetaData {
    return this.bound.metadata;
  }

  get metadataLength(): number {
    return this.bound.metadataLength;
  }

  get schema(): SchemaTree {
    return this.bound.schema;
  }

  /** Leaf column paths (`a`, `s.x`, `l.list.element`) in schema order. */
  get columns(): string[] {
    return this.bound.columns;
  }

  get rowGroups(): RowGroupInfo[] {
    return this.bound.rowGroups;
  }

  /** Every column chunk's byte range, by row group. */
  get columnChunks(): ColumnChunkRange[][] {
    return this.bound.columnChunks;
  }

  /** See `BoundFile.checkChunkOrder`: whether parquet-wasm may read these chunks by position. */
  checkChunkOrder(rowGroups: readonly number[], columns?: readonly string[]): void {
    this.bound.checkChunkOrder(rowGroups, columns);
  }

  /** Where the page index (ColumnIndex + OffsetIndex) lives, if the file has one. */
  get pageIndex(): ResolvedRange | undefined {
    return this.bound.pageIndex;
  }

  get numRows(): number {
    return this.bound.numRows;
  }

  /** The parsed page index, once `loadPageIndex()` has run. */
  get pages(): PageIndex | undefined {
    return this.bound.pages;
  }

  /** Where each column chunk's bloom filter lies (chunks whose metadata gives its length). */
  get bloomFilterRanges(): BloomRange[] {
    return this.bound.bloomFilterRanges;
  }

  /** The parsed bloom filters, once `loadBloomFilters()` has run. */
  get blooms(): BloomIndex | undefined {
    return this.bound.blooms;
  }

  /** Bytes the open already holds (the tail window, or the cached footer). */
  get held(): ResolvedRange {
    return this.bound.held;
  }

  /** Requests the open (or the latest re-open) made: 0 (cache), 1 or 2. */
  get openRequests(): number {
    return this.bound.openRequests;
  }

  /** The buffered reader of the current version's bytes. */
  get reader(): BufferReader {
    return this.bound.reader;
  }

  /** Bytes of the footer (Thrift metadata + length + magic). */
  get footerLength(): number {
    return this.metadataLength + 8;
  }

  /**
   * Runs a whole-call read on the current version; if the object turns out to have changed before
   * the call returned anything, moves to the new version (one re-open, shared by concurrent calls)
   * and runs it once more. A second change fails the call.
   */
  private async whole<T>(call: (bound: BoundFile) => Promise<T>): Promise<T> {
    const first = this.bound;
    if (this.pinned) return call(first);
    try {
      return await call(first);
    } catch (err) {
      // The reader was retired under us when another call moved the source on: retry as well.
      if (!isVersionChange(err) && this.bound === first) throw err;
      await this.rebind(first);
      return call(this.bound);
    }
  }

  /**
   * Runs `read` as one whole-call read, for reads made of several steps (plan, pick row groups from
   * the footer, then `readTable`): `read` gets a view of the current version, whose own reads do not
   * move on by themselves; if the object turns out to have changed before `read` resolved, the
   * source moves to the new version and `read` runs once more, from the start, on a view of it.
   * Write output after it resolves, not inside (a retried `read` would write twice).
   */
  async readWhole<T>(read: (view: ParquetSource) => Promise<T>): Promise<T> {
    if (this.pinned) return read(this);
    return this.whole((bound) => read(new ParquetSource(this.target, bound, true)));
  }

  /** Moves from `stale` to the object's current version (once, however many calls found the change). */
  private async rebind(stale: BoundFile): Promise<void> {
    if (this.bound !== stale) return;
    this.rebinding ??= (async () => {
      forgetEntry(this.target, stale.entry);
      const next = await bindFile(this.target);
      await stale.reader.retire(
        new ReaderError('ConditionNotMatch', 'object changed: this reader holds an older version (use the source, or reopen())', { backend: this.backend.kind, op: 'read', path: this.path }, { code: 'ETAG_CHANGED' }),
      );
      this.bound = next;
    })().finally(() => {
      this.rebinding = undefined;
    });
    await this.rebinding;
  }

  /**
   * A fresh source for the object's current version (the cached footer of this version is dropped
   * first, so the re-open reads the object unless the cache already holds a newer footer). This
   * source is left as it is: close it.
   */
  async reopen(): Promise<ParquetSource> {
    forgetEntry(this.target, this.bound.entry);
    return new ParquetSource(this.target, await bindFile(this.target));
  }

  /**
   * Fetches and parses the page index (ColumnIndex + OffsetIndex), so plans with a filter prune pages
   * too. One request for the whole region (none when the open's tail window already holds it).
   * Resolves false when the file has no page index.
   */
  loadPageIndex(): Promise<boolean> {
    return this.whole((bound) => bound.loadPageIndex());
  }

  /**
   * Fetches and parses the bloom filters, so plans with an `eq`/`in` filter prune the row groups
   * they rule out. One wave of coalesced requests (none when the tail window holds them). Resolves
   * false when the file has none. A filtered read loads them by itself when they are held.
   */
  loadBloomFilters(): Promise<boolean> {
    return this.whole((bound) => bound.loadBloomFilters());
  }

  /**
   * The read plan for a selection, before any I/O: ranges, merged requests, bytes, round trips, cost.
   * Planned with the reader's caps and its cost model's current figures (recorded in `plan.model`).
   */
  plan(selection: PlanSelection = {}): ReadPlan {
    return this.bound.plan(selection);
  }

  /**
   * Fetches a plan's bytes into the buffer (parallel, bounded by the reader's concurrency): exactly
   * `plan.requests` when nothing but the open's bytes is buffered (the same wave planner, the same
   * caps). A decoder reading through `toBlob()`/`toAsyncBuffer()` then hits only the buffer; bytes
   * outside the plan are fetched on demand (counted), never an error. `pageIndex`: add the page index
   * region to this wave (better: plan with `pageIndex: true`, so the plan shows it). A plan is of one
   * version: when the object has changed, this rejects with `ConditionNotMatch` (plan again after a
   * whole-call read or `reopen()`).
   */
  prefetch(plan: ReadPlan, opts: { pageIndex?: boolean } = {}): Promise<{ requests: number; bytes: number }> {
    return this.bound.prefetch(plan, opts);
  }

  /** The whole selection as one apache-arrow Table, decoded by parquet-wasm from the buffer. */
  readTable(opts: ReadTableOptions = {}): Promise<Table> {
    return this.whole((bound) => readTable(bound, opts));
  }

  /**
   * The selection as apache-arrow RecordBatches, row group by row group, under the memory budget.
   * Without a filter (no selection, or a projection of columns and/or row groups), the selected bytes
   * the open does not hold come first in one wave when they fit a quarter of the budget
   * (`WHOLE_BATCHES_BUDGET_SHARE`): one round trip, not one per row group. (A caller that stops after
   * the first batch has then paid for the whole selection's bytes.)
   * Until the first batch is yielded, a changed object is re-opened as in `readTable`; after it, a
   * change fails the iteration with `ConditionNotMatch` (the batches already yielded are of the old
   * version, and later ones are never of another).
   */
  async *readBatches(opts: ReadTableOptions = {}): AsyncGenerator<RecordBatch> {
    let batches = batchesOf(this.bound, opts);
    try {
      const first = this.bound;
      let step: IteratorResult<RecordBatch>;
      try {
        step = await batches.next();
      } catch (err) {
        if (this.pinned || (!isVersionChange(err) && this.bound === first)) throw err;
        await this.rebind(first);
        batches = batchesOf(this.bound, opts);
        step = await batches.next();
      }
      if (step.done) return;
      yield step.value;
      yield* batches;
    } finally {
      await batches.return(undefined);
    }
  }

  /** hyparquet's AsyncBuffer over the current version's buffer: `parquetRead({ file: source.toAsyncBuffer(), metadata: source.metadata })`. */
  toAsyncBuffer(): AsyncBuffer {
    return toAsyncBuffer(this.bound.reader, this.bound.size);
  }

  /**
   * Rows as objects, decoded by hyparquet from the buffer: the row groups overlapping
   * `[rowStart, rowEnd)` and the selected columns are prefetched in one wave first. Unlike calling
   * `parquetReadObjects` on `toAsyncBuffer()` yourself, every failure is a `ReaderError`: hyparquet's
   * own plain errors become `InvalidData` (corrupt bytes) or `Unsupported` (a codec or encoding it
   * lacks), with hyparquet's error as the `cause`.
   */
  readObjects(opts: ReadObjectsOptions = {}): Promise<Record<string, unknown>[]> {
    return this.whole(async (bound) => {
      const { filter, ...read } = opts;
      if (filter) return readFilteredObjects(bound, { ...read, filter });
      const context: ErrorContext = { backend: this.backend.kind, path: this.path };
      const rowGroups = rowGroupsIn(bound, opts.rowStart, opts.rowEnd);
      // leadingMagic: when this reads the whole file, the 4 bytes ride along, so a later readTable (parquet-wasm's whole-file reader) needs no GET of its own.
      const fetched = bound.prefetch(bound.plan({ rowGroups, ...(opts.columns ? { columns: opts.columns } : {}), leadingMagic: true }));
      // hyparquet takes the full metadata: parsed while the wave is in flight (a corrupt footer is
      // METADATA_CORRUPT here, once the wave has settled — unless the wave found the object changed:
      // then that is the error, so the call moves to the new version, whose footer may be sound).
      let metadata: FileMetaData;
      try {
        metadata = bound.metadata;
      } catch (err) {
        const waved = await fetched.then(() => undefined, (e: unknown) => e);
        throw isVersionChange(waved) ? waved : err;
      }
      await fetched;
      try {
        return await parquetReadObjects({ ...read, file: toAsyncBuffer(bound.reader, bound.size), metadata });
      } catch (err) {
        throw hyparquetError(err, context);
      }
    });
  }

  /** A Blob-like object for `ParquetFile.fromFile` (parquet-wasm) over the current version; failed slices reject `onError`'s read instead of panicking. */
  toBlob(onError: (err: ReaderError) => void = () => undefined): BlobLike {
    return toParquetWasmBlob(this.bound.reader, this.bound.size, { onError });
  }

  /**
   * `length` bytes at `offset` of the current version, through the buffer. After a whole-call read
   * has moved the source to a new version, later calls read that one: to stay on one version across
   * calls, hold `source.reader` (it fails with `ETAG_CHANGED` instead of moving on).
   */
  readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.bound.reader.readAt(offset, length);
  }

  /** The bytes of each range of the current version, planned together (see `BufferReader.readRanges`). */
  readRanges(ranges: readonly ResolvedRange[]): Promise<Uint8Array[]> {
    return this.bound.reader.readRanges(ranges);
  }

  stats(): BufferReaderStats {
    return this.bound.reader.stats();
  }

  /** Closes the reader (a view inside `readWhole` leaves it to the source it came from). */
  async close(): Promise<void> {
    if (this.pinned) return;
    await this.rebinding?.catch(() => undefined);
    await this.bound.reader.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * Opens a Parquet file: one suffix GET of the tail window (its Content-Range gives the size: no HEAD),
 * and exactly one more GET if the metadata is longer than the window. With `expect: 'whole'` that
 * GET asks for the whole-read window instead, so a whole read of a file that fits needs no other.
 * A footer in the metadata cache costs no request and is trusted until the first data request,
 * which checks it: If-Match with its ETag, or without one the response's size and Last-Modified
 * (see `ParquetSource` for what follows a change).
 *
 * `openParquet(url, options)` or `openParquet(backend, path, options)`.
 */
export async function openParquet(backendOrUrl: Backend | string, pathOrOptions?: string | OpenParquetOptions, maybeOptions?: OpenParquetOptions): Promise<ParquetSource> {
  const { backend, path, options, url } = openTarget<OpenParquetOptions>('openParquet', backendOrUrl, pathOrOptions, maybeOptions);
  checkExpectation(options.expect, { backend: backend.kind, op: 'open', path });
  const cacheKey = url !== undefined ? `url\u0000${url}` : metadataCacheKey(backend, path);
  const target: OpenTarget = {
    backend,
    path,
    cacheKey,
    cache: options.metadataCache === false ? undefined : (options.metadataCache ?? sharedMetadataCache()),
    ...(options.footerSizeHint === undefined ? {} : { footerSizeHint: options.footerSizeHint }),
    ...(options.expect === undefined ? {} : { expect: options.expect }),
    ...(options.reader ? { reader: options.reader } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  };
  return new ParquetSource(target, await bindFile(target));
}
