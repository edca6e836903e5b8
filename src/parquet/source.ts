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
import { BufferReader, type BufferReaderOptions, type BufferReaderStats } from '../buffer-reader/buffer-reader.js';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ResolvedRange } from '../types.js';
import { metadataCacheKey, sharedMetadataCache, type CachedFooter, type MetadataCache } from './cache.js';
import { readBatches, readTable, type ReadTableOptions } from './decode.js';
import { readTail } from './footer.js';
import { columnChunkRanges, pageIndexRange, parseMetadata, schemaOf, type ColumnChunkRange } from './metadata.js';
import { parsePageIndex, type PageIndex } from './page-index.js';
import { planRead, type ParquetLayout, type PlanSelection, type ReadPlan } from './planner.js';

export interface OpenParquetOptions {
  /** Bytes of the first (suffix) GET; default DEFAULT_FOOTER_WINDOW (1 MiB). */
  footerSizeHint?: number;
  /** Footer cache across opens: the process-wide one by default, `false` for none, or your own. */
  metadataCache?: MetadataCache | false;
  /** Options of the BufferReader that serves the data (gap, maxRangeSize, concurrency, maxMemory, ...). */
  reader?: Omit<BufferReaderOptions, 'size' | 'etag' | 'signal'>;
  /** Options for `backendFromUrl` when opening by URL. */
  url?: BackendFromUrlOptions;
  signal?: AbortSignal;
}

/** Options of hyparquet's `parquetReadObjects`, but the file and metadata, which the source supplies. */
export type ReadObjectsOptions = Omit<Parameters<typeof parquetReadObjects>[0], 'file' | 'metadata'>;

export interface RowGroupInfo {
  index: number;
  numRows: number;
  /** Compressed bytes of all its column chunks. */
  bytes: number;
}

/** An open Parquet file: its footer, layout and a buffered reader for its data. */
export class ParquetSource {
  readonly schema: SchemaTree;
  /** Leaf column paths (`a`, `s.x`, `l.list.element`) in schema order. */
  readonly columns: string[];
  readonly rowGroups: RowGroupInfo[];
  /** Every column chunk's byte range, by row group. */
  readonly columnChunks: ColumnChunkRange[][];
  /** Where the page index (ColumnIndex + OffsetIndex) lives, if the file has one. */
  readonly pageIndex: ResolvedRange | undefined;
  readonly numRows: number;
  /** The parsed page index, once `loadPageIndex()` has run. */
  pages: PageIndex | undefined;

  /** @internal use `openParquet` */
  constructor(
    readonly backend: Backend,
    readonly path: string,
    readonly size: number,
    readonly etag: string | undefined,
    readonly metadata: FileMetaData,
    readonly metadataLength: number,
    /** Bytes the open already holds (the tail window, or the cached footer). */
    readonly held: ResolvedRange,
    /** Requests the open made: 0 (cache), 1 or 2. */
    readonly openRequests: number,
    readonly reader: BufferReader,
  ) {
    const context: ErrorContext = { backend: backend.kind, op: 'open', path };
    this.schema = schemaOf(metadata);
    this.columnChunks = columnChunkRanges(metadata, size, metadataLength, context);
    this.columns = leafColumns(metadata);
    this.rowGroups = metadata.row_groups.map((rg, index) => ({
      index,
      numRows: Number(rg.num_rows),
      bytes: (this.columnChunks[index] ?? []).reduce((n, c) => n + c.length, 0),
    }));
    this.pageIndex = pageIndexRange(metadata, size, metadataLength, context);
    this.numRows = Number(metadata.num_rows);
  }

  /** Bytes of the footer (Thrift metadata + length + magic). */
  get footerLength(): number {
    return this.metadataLength + 8;
  }

  private layout(): ParquetLayout {
    return {
      metadata: this.metadata,
      size: this.size,
      chunks: this.columnChunks,
      columns: this.columns,
      held: this.held,
      ...(this.pages ? { pages: this.pages } : {}),
      ...(this.pageIndex ? { pageIndexRange: this.pageIndex } : {}),
    };
  }

  /**
   * Fetches and parses the page index (ColumnIndex + OffsetIndex), so plans with a filter prune pages
   * too. One request for the whole region (none when the open's tail window already holds it).
   * Resolves false when the file has no page index.
   */
  async loadPageIndex(): Promise<boolean> {
    if (this.pages) return true;
    const region = this.pageIndex;
    if (!region) return false;
    const bytes = await this.readAt(region.offset, region.length);
    this.pages = parsePageIndex(this.metadata, this.schema, bytes, region.offset, { backend: this.backend.kind, op: 'open', path: this.path });
    return true;
  }

  /**
   * The read plan for a selection, before any I/O: ranges, merged requests, bytes, round trips, cost.
   * Planned with the reader's caps and its cost model's current figures (recorded in `plan.model`).
   */
  plan(selection: PlanSelection = {}): ReadPlan {
    const { ttfbMs, bytesPerSecond } = this.reader.stats().model;
    return planRead(this.layout(), selection, { ...this.reader.caps(), ttfbMs, bytesPerSecond });
  }

  /**
   * Fetches a plan's bytes into the buffer (parallel, bounded by the reader's concurrency): exactly
   * `plan.requests` when nothing but the open's bytes is buffered (the same wave planner, the same
   * caps). A decoder reading through `toBlob()`/`toAsyncBuffer()` then hits only the buffer; bytes
   * outside the plan are fetched on demand (counted), never an error. `pageIndex`: add the page
   * index region to this wave (better: plan with `pageIndex: true`, so the plan shows it).
   */
  async prefetch(plan: ReadPlan, opts: { pageIndex?: boolean } = {}): Promise<{ requests: number; bytes: number }> {
    const ranges: ResolvedRange[] = [...plan.ranges];
    // Decoders such as parquet-wasm read the page index too: fetch it in the same wave.
    if (opts.pageIndex && this.pageIndex) ranges.push(...subtractHeld(this.pageIndex, this.held));
    return this.reader.prefetch(ranges);
  }

  /** The whole selection as one apache-arrow Table, decoded by parquet-wasm from the buffer. */
  readTable(opts: ReadTableOptions = {}): Promise<Table> {
    return readTable(this, opts);
  }

  /** The selection as apache-arrow RecordBatches, row group by row group, under the memory budget. */
  readBatches(opts: ReadTableOptions = {}): AsyncGenerator<RecordBatch> {
    return readBatches(this, opts);
  }

  /** hyparquet's AsyncBuffer over the buffer: `parquetRead({ file: source.toAsyncBuffer(), metadata: source.metadata })`. */
  toAsyncBuffer(): AsyncBuffer {
    return toAsyncBuffer(this, this.size);
  }

  /**
   * Rows as objects, decoded by hyparquet from the buffer: the row groups overlapping
   * `[rowStart, rowEnd)` and the selected columns are prefetched in one wave first. Unlike calling
   * `parquetReadObjects` on `toAsyncBuffer()` yourself, every failure is a `ReaderError`: hyparquet's
   * own plain errors become `InvalidData` (corrupt bytes) or `Unsupported` (a codec or encoding it
   * lacks), with hyparquet's error as the `cause`.
   */
  async readObjects(opts: ReadObjectsOptions = {}): Promise<Record<string, unknown>[]> {
    const context: ErrorContext = { backend: this.backend.kind, path: this.path };
    const start = opts.rowStart ?? 0;
    const end = opts.rowEnd ?? Infinity;
    let first = 0;
    const rowGroups = this.rowGroups
      .filter((rg) => {
        const lo = first;
        first += rg.numRows;
        return lo < end && first > start;
      })
      .map((rg) => rg.index);
    await this.prefetch(this.plan({ rowGroups, ...(opts.columns ? { columns: opts.columns } : {}) }));
    try {
      return await parquetReadObjects({ ...opts, file: this.toAsyncBuffer(), metadata: this.metadata });
    } catch (err) {
      throw hyparquetError(err, context);
    }
  }

  /** A Blob-like object for `ParquetFile.fromFile` (parquet-wasm); failed slices reject `onError`'s read instead of panicking. */
  toBlob(onError: (err: ReaderError) => void = () => undefined): BlobLike {
    return toParquetWasmBlob(this, this.size, { onError });
  }

  /** `length` bytes at `offset` through the buffer. */
  readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.reader.readAt(offset, length);
  }

  /** The bytes of each range through the buffer, planned together (see `BufferReader.readRanges`). */
  readRanges(ranges: readonly ResolvedRange[]): Promise<Uint8Array[]> {
    return this.reader.readRanges(ranges);
  }

  stats(): BufferReaderStats {
    return this.reader.stats();
  }

  async close(): Promise<void> {
    await this.reader.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

function subtractHeld(range: ResolvedRange, held: ResolvedRange): ResolvedRange[] {
  const out: ResolvedRange[] = [];
  const end = range.offset + range.length;
  const heldEnd = held.offset + held.length;
  if (range.offset < held.offset) out.push({ offset: range.offset, length: Math.min(end, held.offset) - range.offset });
  if (end > heldEnd) out.push({ offset: Math.max(range.offset, heldEnd), length: end - Math.max(range.offset, heldEnd) });
  return out;
}

function leafColumns(metadata: FileMetaData): string[] {
  const first = metadata.row_groups[0];
  if (first) return first.columns.map((c) => c.meta_data?.path_in_schema.join('.') ?? '');
  // No row groups: walk the schema tree for leaves.
  const out: string[] = [];
  const walk = (node: SchemaTree, path: string[]): void => {
    if (node.children.length === 0) out.push(path.join('.'));
    for (const child of node.children) walk(child, [...path, child.element.name]);
  };
  walk(schemaOf(metadata), []);
  return out;
}

/**
 * Opens a Parquet file: one suffix GET of the tail window (its Content-Range gives the size: no HEAD),
 * and exactly one more GET if the metadata is longer than the window. A footer in the metadata cache
 * costs no request; the source's data requests then carry its ETag as If-Match.
 *
 * `openParquet(url, options)` or `openParquet(backend, path, options)`.
 */
export async function openParquet(backendOrUrl: Backend | string, pathOrOptions?: string | OpenParquetOptions, maybeOptions?: OpenParquetOptions): Promise<ParquetSource> {
  const { backend, path, options, url } = openTarget<OpenParquetOptions>('openParquet', backendOrUrl, pathOrOptions, maybeOptions);
  const cacheKey = url !== undefined ? `url\u0000${url}` : metadataCacheKey(backend, path);
  const cache = options.metadataCache === false ? undefined : (options.metadataCache ?? sharedMetadataCache());
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };

  const readerFor = (size: number, etag: string | undefined): BufferReader =>
    new BufferReader(backend, path, {
      ...options.reader,
      size,
      ...(etag ? { etag } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });

  const cached = cache?.get(cacheKey);
  if (cached) {
    const reader = readerFor(cached.size, cached.etag);
    const held = { offset: cached.size - cached.footer.byteLength, length: cached.footer.byteLength };
    reader.insert(held.offset, cached.footer);
    return new ParquetSource(backend, path, cached.size, cached.etag, cached.metadata, cached.metadataLength, held, 0, reader);
  }

  const tail = await readTail(backend, path, {
    ...(options.footerSizeHint === undefined ? {} : { footerSizeHint: options.footerSizeHint }),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  const metadata = parseMetadata(tail, context);
  const reader = readerFor(tail.meta.size, tail.meta.etag);
  reader.insert(tail.offset, tail.bytes);
  const held = { offset: tail.offset, length: tail.bytes.byteLength };
  const source = new ParquetSource(backend, path, tail.meta.size, tail.meta.etag, metadata, tail.metadataLength, held, tail.requests, reader);
  if (cache) {
    const entry: CachedFooter = {
      size: tail.meta.size,
      metadata,
      metadataLength: tail.metadataLength,
      footer: new Uint8Array(tail.bytes.subarray(tail.bytes.byteLength - tail.metadataLength - 8)), // a copy: keep only the footer
      ...(tail.meta.etag ? { etag: tail.meta.etag } : {}),
      ...(tail.meta.lastModified ? { lastModified: tail.meta.lastModified } : {}),
    };
    cache.set(cacheKey, entry);
  }
  return source;
}
