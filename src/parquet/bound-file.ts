/**
 * One version of an open Parquet file (`BoundFile`): its footer's layout, its chunks' ranges (each
 * read and checked once, when first needed), its indexes once loaded, and the reader of its bytes.
 * `bindFile` (open.ts) makes one; `ParquetSource` (source.ts) holds one at a time.
 */
import type { FileMetaData, SchemaTree } from 'hyparquet';
import type { BufferReader } from '../buffer-reader/buffer-reader.js';
import { isReaderError, ReaderError, type ErrorContext } from '../errors.js';
import type { Backend, ResolvedRange } from '../types.js';
import type { ObjectVersion } from '../version.js';
import { bloomRanges, parseBlooms, type BloomIndex, type BloomRange } from './bloom.js';
import type { CachedFooter } from './cache.js';
import type { DecodeSource } from './decode.js';
import type { MetadataLayout } from './footer-layout.js';
import { checkChunksReadable, columnChunkRange, leafColumns, pageIndexRange, schemaOf, type ColumnChunkRange } from './metadata.js';
import { parsePageIndex, type PageIndex } from './page-index.js';
import { planRead, type ParquetLayout, type PlanSelection, type ReadPlan } from './planner.js';

export interface RowGroupInfo {
  index: number;
  numRows: number;
  /** Compressed bytes of all its column chunks. */
  bytes: number;
}

/**
 * A footer as an open holds it: the layout planning needs (read at open), and hyparquet's full
 * metadata (a `ParsedFooter` parses it on first use).
 */
export interface FooterParts {
  readonly layout: MetadataLayout;
  readonly metadata: FileMetaData;
}

/**
 * One version of an open Parquet file: its footer, layout and the reader of its bytes. Everything
 * here but `metadata` comes from the footer's layout: a plan without a filter never waits for the
 * full metadata to be parsed. A chunk's range (and the ColumnMetaData it comes from) is read and
 * checked when a plan first takes it (`chunksOf`), or with every other one by `columnChunks`,
 * `rowGroups[].bytes` and `bloomFilterRanges`: a projection of a wide file reads only its columns'.
 */
export class BoundFile implements DecodeSource {
  readonly schema: SchemaTree;
  readonly columns: string[];
  readonly rowGroups: RowGroupInfo[];
  readonly pageIndex: ResolvedRange | undefined;
  readonly numRows: number;
  /** The parsed page index, once loaded (for this version only). */
  pages: PageIndex | undefined;
  /** The parsed bloom filters, once loaded (for this version only). */
  blooms: BloomIndex | undefined;
  /** Chunk ranges read so far, by row group and index. */
  private readonly ranges: ColumnChunkRange[][];
  /** Row groups whose every chunk range is in `ranges`. */
  private readonly complete: boolean[];
  /** Each column's index among a row group's chunks (in schema order). */
  private readonly leafIndex: Map<string, number>;
  private bloomRanges: BloomRange[] | undefined;
  private readonly context: ErrorContext;
  /** Whether every leaf column has its own name (a flat `a.b` beside a struct `a { b }` do not): the fast path of `chunksOf` needs it. */
  private readonly uniqueColumns: boolean;

  constructor(
    readonly backend: Backend,
    readonly path: string,
    readonly version: ObjectVersion & { size: number },
    private readonly footer: FooterParts,
    readonly metadataLength: number,
    /** Bytes the open already holds (the tail window, or the cached footer). */
    readonly held: ResolvedRange,
    /** Requests the open made: 0 (cache), 1 or 2. */
    readonly openRequests: number,
    readonly reader: BufferReader,
    /** The cache entry this version was read from or stored as, if any. */
    readonly entry: CachedFooter | undefined,
    /**
     * Called when a check run after the open (a chunk's range or path, its ColumnMetaData, the full
     * metadata) finds the footer corrupt: the open forgets its cache entry, which was stored before
     * those checks ran, so a later open reads the object again (it may have been fixed).
     */
    private readonly onCorrupt: () => void,
  ) {
    const context: ErrorContext = { backend: backend.kind, op: 'open', path };
    this.context = context;
    const size = version.size;
    const metadata = footer.layout;
    this.schema = schemaOf(metadata);
    checkChunksReadable(metadata, context);
    this.columns = leafColumns(this.schema);
    this.leafIndex = new Map(this.columns.map((c, i) => [c, i]));
    this.uniqueColumns = this.leafIndex.size === this.columns.length;
    this.ranges = metadata.row_groups.map(() => []);
    this.complete = metadata.row_groups.map(() => false);
    const file = this; // for the row groups' `bytes` getters
    this.rowGroups = metadata.row_groups.map((rg, index) => ({
      index,
      numRows: Number(rg.num_rows),
      get bytes() {
        return file.rangesOf(index).reduce((n, c) => n + c.length, 0);
      },
    }));
    this.pageIndex = pageIndexRange(metadata, size, metadataLength, context);
    this.numRows = Number(metadata.num_rows);
  }

  /** Every column chunk's byte range, by row group (reads every chunk's ColumnMetaData once). */
  get columnChunks(): ColumnChunkRange[][] {
    return this.ranges.map((_, g) => this.rangesOf(g));
  }

  /** Where each column chunk's bloom filter lies (chunks whose metadata gives its length). */
  get bloomFilterRanges(): BloomRange[] {
    this.bloomRanges ??= this.checked(() => bloomRanges(this.footer.layout, this.size - this.metadataLength - 8, this.context));
    return this.bloomRanges;
  }

  /** The range of chunk `i` of row group `g` (undefined past its chunks), read and checked once. */
  private chunkRange(g: number, i: number): ColumnChunkRange | undefined {
    const got = (this.ranges[g] as ColumnChunkRange[])[i];
    if (got) return got;
    const layout = this.footer.layout;
    const chunk = layout.row_groups[g]?.columns[i];
    if (!chunk) return undefined;
    const range = this.checked(() => columnChunkRange(layout, chunk, g, i, this.size, this.metadataLength, this.context));
    (this.ranges[g] as ColumnChunkRange[])[i] = range;
    return range;
  }

  /** Every chunk range of row group `g`, in the footer's order. */
  private rangesOf(g: number): ColumnChunkRange[] {
    const count = this.footer.layout.row_groups[g]?.columns.length ?? 0;
    if (!this.complete[g]) {
      for (let i = 0; i < count; i++) this.chunkRange(g, i);
      this.complete[g] = true;
    }
    return this.ranges[g] ?? [];
  }

  /**
   * The chunks of `columns` in row group `g`, reading only theirs: a column's chunk is the one at its
   * index when that chunk names it; a row group not laid out in schema order is searched whole (what
   * `columnChunks[g]` holds of those columns).
   */
  chunksOf(g: number, columns: ReadonlySet<string>): ColumnChunkRange[] {
    const count = this.footer.layout.row_groups[g]?.columns.length ?? 0;
    if (this.uniqueColumns && count === this.columns.length && !this.complete[g]) {
      const out: ColumnChunkRange[] = [];
      for (const column of columns) {
        const c = this.chunkRange(g, this.leafIndex.get(column) ?? -1);
        if (c?.column !== column) return this.rangesOf(g).filter((r) => columns.has(r.column));
        out.push(c);
      }
      return out;
    }
    return this.rangesOf(g).filter((r) => columns.has(r.column));
  }

  /**
   * Checks that in each of `rowGroups` the chunks of `columns` (leaf paths; every leaf when absent)
   * sit at their columns' positions in the schema, as the format requires and parquet-wasm assumes:
   * it takes a row group's i-th chunk for the schema's i-th leaf, so a chunk listed elsewhere would
   * decode as another column. `METADATA_CORRUPT` otherwise (hyparquet finds chunks by path:
   * `readObjects` reads such a file). Reads only those chunks' ColumnMetaData, once.
   */
  checkChunkOrder(rowGroups: readonly number[], columns?: readonly string[]): void {
    const wanted = columns ? new Set(columns) : undefined;
    for (const g of rowGroups) {
      for (let i = 0; i < this.columns.length; i++) {
        const column = this.columns[i] as string;
        if (wanted && !wanted.has(column)) continue;
        const chunk = this.chunkRange(g, i);
        if (chunk?.column === column) continue;
        const found = chunk ? `column ${chunk.column}'s chunk` : 'no chunk';
        throw new ReaderError(
          'InvalidData',
          `corrupt Parquet metadata: row group ${g} has ${found} at position ${i}, where the schema has ${column}: parquet-wasm reads chunks by position, so they must be in schema order (readObjects finds them by path)`,
          { backend: this.backend.kind, op: 'read', path: this.path, rowGroup: g, column },
          { code: 'METADATA_CORRUPT' },
        );
      }
    }
  }

  get size(): number {
    return this.version.size;
  }

  /** hyparquet's full FileMetaData: parsed on first use when the open read only the layout. */
  get metadata(): FileMetaData {
    return this.checked(() => this.footer.metadata);
  }

  /** Runs a check of the footer made after the open; a corrupt footer (InvalidData) is reported to `onCorrupt` and thrown. */
  private checked<T>(read: () => T): T {
    try {
      return read();
    } catch (err) {
      if (isReaderError(err, 'InvalidData')) this.onCorrupt();
      throw err;
    }
  }

  private layout(): ParquetLayout {
    const footer = this.footer;
    const file = this; // for the layout's `chunks` getter
    return {
      // Only a filter's pruning reads it (statistics): a projection's plan never parses it.
      get metadata() {
        return footer.metadata;
      },
      size: this.size,
      get chunks() {
        return file.columnChunks;
      },
      rowGroupCount: this.rowGroups.length,
      chunksOf: (g, columns) => this.chunksOf(g, columns),
      columns: this.columns,
      held: this.held,
      ...(this.pages ? { pages: this.pages } : {}),
      ...(this.blooms ? { blooms: this.blooms } : {}),
      ...(this.pageIndex ? { pageIndexRange: this.pageIndex } : {}),
    };
  }

  /**
   * Fetches and parses this version's page index (one request for the whole region, none when the
   * open's tail window holds it). Resolves false when the file has none.
   */
  async loadPageIndex(): Promise<boolean> {
    if (this.pages) return true;
    const region = this.pageIndex;
    if (!region) return false;
    const bytes = await this.reader.readAt(region.offset, region.length);
    this.pages = parsePageIndex(this.metadata, this.schema, bytes, region.offset, { backend: this.backend.kind, op: 'open', path: this.path });
    return true;
  }

  /**
   * Fetches and parses this version's bloom filters (one wave of coalesced requests, none when the
   * tail window holds them). Resolves false when the file has none.
   */
  async loadBloomFilters(): Promise<boolean> {
    if (this.blooms) return true;
    const ranges = this.bloomFilterRanges;
    if (ranges.length === 0) return false;
    const bytes = await this.reader.readRanges(ranges);
    this.blooms = parseBlooms(this.rowGroups.length, ranges, bytes, { backend: this.backend.kind, op: 'open', path: this.path });
    return true;
  }

  /** The plan of a selection, made with the reader's caps and its cost model's current figures (recorded in `plan.model`). */
  plan(selection: PlanSelection = {}): ReadPlan {
    const { ttfbMs, bytesPerSecond } = this.reader.stats().model;
    return planRead(this.layout(), selection, { ...this.reader.caps(), ttfbMs, bytesPerSecond });
  }

  /**
   * Fetches a plan's bytes into the buffer: exactly `plan.requests` when nothing but the open's bytes
   * is buffered (the same wave planner, the same caps). `pageIndex`: add the page index region to this
   * wave (better: plan with `pageIndex: true`, so the plan shows it).
   */
  prefetch(plan: ReadPlan, opts: { pageIndex?: boolean } = {}): Promise<{ requests: number; bytes: number }> {
    const ranges: ResolvedRange[] = [...plan.ranges];
    if (opts.pageIndex && this.pageIndex) ranges.push(...subtractHeld(this.pageIndex, this.held));
    return this.reader.prefetch(ranges);
  }

  /** `length` bytes at `offset` of this version, through the buffer. */
  readAt(offset: number, length: number): Promise<Uint8Array> {
    return this.reader.readAt(offset, length);
  }

  /** The bytes of each range of this version, planned together (see `BufferReader.readRanges`). */
  readRanges(ranges: readonly ResolvedRange[]): Promise<Uint8Array[]> {
    return this.reader.readRanges(ranges);
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

