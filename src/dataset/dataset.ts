/**
 * `openDataset`: many Parquet files as one table. List (or read a manifest), prune by partition
 * values before any footer, fetch the remaining footers in parallel (bounded, one GET each, through
 * the metadata cache), check the schemas, then plan and read per file with the one per-file pipeline
 * of `openParquet` (plan → prefetch → decode), adding the partition values as columns.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import type { SchemaTree } from 'hyparquet';
import { signalForRequests } from '../abort.js';
import type { BackendFromUrlOptions } from '../backends/url.js';
import { ReaderError } from '../errors.js';
import { metadataCacheKey, sharedMetadataCache, type MetadataCache } from '../parquet/cache.js';
import type { ReadTableOptions } from '../parquet/decode.js';
import type { RowGroupFilter } from '../parquet/filter.js';
import { leafColumns, schemaOf } from '../parquet/metadata.js';
import type { ReadPlan } from '../parquet/planner.js';
import type { OpenParquetOptions, ParquetSource } from '../parquet/source.js';
import type { Backend } from '../types.js';
import { arrowTypes, concatTables, partitionColumnTypes, tableWithPartitions, withPartitions, type PartitionColumnType } from './arrow.js';
import { resolveFiles, type DatasetInput, type FileFilterOptions } from './files.js';
import { DATASET_FOOTER_CONCURRENCY, checkSchemas, fetchFooter, keyedAs, mapBounded, openWithFooter, type DatasetFooter } from './footers.js';
import { partitionFiles, type PartitionSchema, type PartitionValue, type Partitioning } from './hive.js';
import { sumPlans, type DatasetPlan } from './plan.js';
import { bindPartitions, validateDatasetFilter } from './prune.js';
import { planSplits, type DatasetSplit, type SplitOptions } from './splits.js';

/**
 * Files read (planned, fetched, decoded) at once by readTable/readObjects, and opened ahead by
 * readBatches. 4 overlaps one file's first byte wait with others' decoding while memory holds only
 * a few files' row groups; each file's own requests are parallel inside its plan already.
 */
export const DATASET_READ_CONCURRENCY = 4;

export interface OpenDatasetOptions extends FileFilterOptions {
  /** Partition columns from `key=value` folders: `'hive'` (default: names from the paths, types inferred), explicit fields and types, or `false`. */
  partitioning?: Partitioning | false;
  /** Files whose partition values cannot match are dropped before their footers are fetched (comparisons on file columns wait for the reads). */
  filter?: RowGroupFilter;
  /** Footer GETs in flight (default DATASET_FOOTER_CONCURRENCY). */
  concurrency?: number;
  /** Files read at once (default DATASET_READ_CONCURRENCY). */
  readConcurrency?: number;
  /** Tail bytes of each footer GET (default DATASET_FOOTER_WINDOW, 64 KiB). */
  footerSizeHint?: number;
  /** Footer cache: the process-wide one by default (a warm re-open costs the listing only), `false` for none, or your own. */
  metadataCache?: MetadataCache | false;
  /** BufferReader options for each file's data reads. */
  reader?: OpenParquetOptions['reader'];
  /** Options for URLs (`s3`, `http`, `retry`), as for `openParquet`. */
  url?: BackendFromUrlOptions;
  signal?: AbortSignal;
}

/** A file of the dataset, after pruning by partitions. */
export interface DatasetFile {
  path: string;
  /** Its URL, when the dataset was opened by URL (what splits carry). */
  url?: string;
  size: number;
  etag?: string;
  partitions: Record<string, PartitionValue>;
  numRows: number;
  rowGroups: number;
}

/** Columns, filter and decode options of a dataset read. `columns` may name partition fields. */
export interface DatasetSelection extends Omit<ReadTableOptions, 'rowGroups' | 'pages' | 'filter'> {
  /** Our filter syntax (`{ column, eq|gt|… }`, `and`/`or`) on file and partition columns: partitions prune files, the rest row groups and rows. */
  filter?: RowGroupFilter;
}

/** What opening the dataset cost. */
export interface DatasetOpenStats {
  /** LIST pages (or the manifest GET). */
  listRequests: number;
  /** Footer GETs (0 for footers found in the cache). */
  footerRequests: number;
  /** Files the listing gave (data files only). */
  listedFiles: number;
  /** Of those, dropped by the open's filter on partition values (no footer fetched). */
  prunedFiles: number;
}

interface OpenFile {
  file: DatasetFile;
  footer: DatasetFooter;
}

type Arrow = typeof import('apache-arrow');

export class Dataset {
  /** Leaf column paths of the files, then the partition fields. */
  readonly columns: string[];
  /** @internal use `openDataset` */
  constructor(
    readonly backend: Backend,
    private readonly open: OpenFile[],
    readonly partitions: PartitionSchema,
    readonly openStats: DatasetOpenStats,
    private readonly options: OpenDatasetOptions,
    /** For splits: the URL options a worker needs (no credentials), when opened by URL. */
    readonly urlSpec: { s3?: { region?: string; endpoint?: string; forcePathStyle?: boolean } } | undefined,
  ) {
    this.columns = [...this.fileColumns, ...partitions.fields.map((f) => f.name)];
  }

  /** The arrow type of each partition column. */
  get columnTypes(): Record<string, PartitionColumnType> {
    return partitionColumnTypes(this.partitions, this.open.map((o) => o.file.partitions));
  }

  get files(): DatasetFile[] {
    return this.open.map((o) => o.file);
  }

  /** The Parquet schema of the files (the first file's: every file has the same). Undefined for an empty dataset. */
  get schema(): SchemaTree | undefined {
    const first = this.open[0];
    return first ? schemaOf(first.footer.metadata) : undefined;
  }

  /**
   * Memory the dataset holds for its files, as the metadata cache sizes an entry: each footer's raw
   * bytes plus its parsed form (≈ 3× the Thrift bytes). Nothing else grows with the file count.
   */
  get footerBytes(): number {
    return this.open.reduce((n, o) => n + o.footer.footer.byteLength + 3 * o.footer.metadataLength, 0);
  }

  get numRows(): number {
    return this.open.reduce((n, o) => n + o.file.numRows, 0);
  }

  private get fileColumns(): string[] {
    const first = this.open[0];
    if (!first) return [];
    return leafColumns(schemaOf(first.footer.metadata)); // schema order, as a source's `columns` (a row group's chunks may be listed in another)
  }

  /** Splits a selection's columns into the files' and the partitions', and binds the filter per file. */
  private select(selection: DatasetSelection): { fileColumns?: string[]; partitionColumns: string[]; files: { o: OpenFile; filter?: RowGroupFilter }[]; pruned: number } {
    const names = this.partitions.fields.map((f) => f.name);
    if (selection.filter) validateDatasetFilter(selection.filter, this.fileColumns, this.partitions);
    let fileColumns: string[] | undefined;
    let partitionColumns = names;
    if (selection.columns) {
      partitionColumns = selection.columns.filter((c) => names.includes(c));
      fileColumns = selection.columns.filter((c) => !names.includes(c));
      if (fileColumns.length === 0) throw new ReaderError('InvalidInput', 'select at least one column of the files (partition values alone have no row count)', {}, { code: 'INVALID_ARGUMENT' });
    }
    const files: { o: OpenFile; filter?: RowGroupFilter }[] = [];
    let pruned = 0;
    for (const o of this.open) {
      const bound = selection.filter ? bindPartitions(selection.filter, o.file.partitions) : true;
      if (bound === false) pruned++;
      else files.push({ o, ...(bound === true ? {} : { filter: bound }) });
    }
    return { ...(fileColumns ? { fileColumns } : {}), partitionColumns, files, pruned };
  }

  private source(o: OpenFile): Promise<ParquetSource> {
    return openWithFooter(this.backend, o.file.path, o.footer, { ...(this.options.reader ? { reader: this.options.reader } : {}), ...(this.options.signal ? { signal: this.options.signal } : {}) });
  }

  /** Runs `fn` on a file's source (opened from its footer: no request) and closes it. */
  private async withSource<T>(o: OpenFile, fn: (s: ParquetSource) => Promise<T>): Promise<T> {
    const s = await this.source(o);
    try {
      return await fn(s);
    } finally {
      await s.close();
    }
  }

  private readOptions(selection: DatasetSelection, fileColumns: string[] | undefined, filter: RowGroupFilter | undefined): ReadTableOptions {
    const { columns: _c, filter: _f, ...rest } = selection;
    return { ...rest, ...(fileColumns ? { columns: fileColumns } : {}), ...(filter ? { filter } : {}) };
  }

  /** Every file's read plan and their sums, before any I/O: files, row groups, requests, bytes, round trips, S3 cost. */
  async plan(selection: DatasetSelection = {}): Promise<DatasetPlan> {
    const sel = this.select(selection);
    const plans = await mapBounded(sel.files, DATASET_READ_CONCURRENCY, ({ o, filter }) =>
      this.withSource(o, async (s): Promise<{ path: string; plan: ReadPlan }> => ({ path: o.file.path, plan: s.plan({ ...this.readOptions(selection, sel.fileColumns, filter), pages: false }) })),
    );
    return sumPlans(plans, sel.pruned, this.openStats, {
      footerConcurrency: this.options.concurrency ?? DATASET_FOOTER_CONCURRENCY,
      readConcurrency: this.options.readConcurrency ?? DATASET_READ_CONCURRENCY,
    });
  }

  private async arrow(): Promise<{ arrow: Arrow; types: ReturnType<typeof arrowTypes> }> {
    const arrow = await import('apache-arrow');
    return { arrow, types: arrowTypes(arrow, this.columnTypes) };
  }

  /** The selection as one apache-arrow Table: files in dataset order, partition columns last. */
  async readTable(selection: DatasetSelection = {}): Promise<Table> {
    const sel = this.select(selection);
    const { arrow, types } = await this.arrow();
    const kept: { o: OpenFile; filter?: RowGroupFilter }[] = sel.files.length > 0 ? sel.files : this.open.slice(0, 1).map((o) => ({ o }));
    const tables = await mapBounded(kept, this.options.readConcurrency ?? DATASET_READ_CONCURRENCY, (f, i) =>
      this.withSource(f.o, async (s) => {
        const opts = this.readOptions(selection, sel.fileColumns, f.filter);
        const rowGroups = sel.files.length > 0 ? s.plan({ ...opts, pages: false }).rowGroups : [];
        // A file whose row groups the statistics all pruned is not decoded (the first one still is, for the schema).
        if (rowGroups.length === 0 && i > 0) return undefined;
        const table = await s.readTable({ ...opts, rowGroups });
        return tableWithPartitions(arrow, table, sel.partitionColumns, types, f.o.file.partitions);
      }),
    );
    return concatTables(arrow, tables.filter((t): t is Table => t !== undefined));
  }

  /**
   * The selection as record batches, file after file, row group by row group: memory holds the
   * batches of one row group plus the prefetched first row groups of the next `readConcurrency - 1`
   * files (opened ahead, so their first byte waits overlap this file's decoding).
   */
  async *readBatches(selection: DatasetSelection = {}): AsyncGenerator<RecordBatch> {
    const sel = this.select(selection);
    const { arrow, types } = await this.arrow();
    const ahead = Math.max(1, this.options.readConcurrency ?? DATASET_READ_CONCURRENCY);
    const opening: Promise<ParquetSource>[] = [];
    const start = (i: number): void => {
      const f = sel.files[i];
      if (!f) return;
      const p = this.source(f.o).then(async (s) => {
        const first = s.plan({ ...this.readOptions(selection, sel.fileColumns, f.filter), pages: false }).rowGroups[0];
        if (first !== undefined) await s.prefetch(s.plan({ ...(sel.fileColumns ? { columns: sel.fileColumns } : {}), rowGroups: [first] }), { pageIndex: true });
        return s;
      });
      p.catch(() => undefined);
      opening[i] = p;
    };
    for (let i = 0; i < ahead; i++) start(i);
    try {
      for (let i = 0; i < sel.files.length; i++) {
        const f = sel.files[i] as { o: OpenFile; filter?: RowGroupFilter };
        const s = await (opening[i] as Promise<ParquetSource>);
        try {
          for await (const b of s.readBatches(this.readOptions(selection, sel.fileColumns, f.filter))) {
            yield withPartitions(arrow, b, sel.partitionColumns, types, f.o.file.partitions);
          }
        } finally {
          await s.close();
          delete opening[i];
        }
        start(i + ahead);
      }
    } finally {
      for (const p of opening) p?.then((s) => s.close(), () => undefined);
    }
  }

  /** The selection as plain row objects (hyparquet), with the partition values as properties. */
  async readObjects(selection: Pick<DatasetSelection, 'columns' | 'filter'> = {}): Promise<Record<string, unknown>[]> {
    const sel = this.select(selection);
    const perFile = await mapBounded(sel.files, this.options.readConcurrency ?? DATASET_READ_CONCURRENCY, ({ o, filter }) =>
      this.withSource(o, async (s) => {
        // The file's own filtered read: row groups, pages and rows pruned in one wave, like readTable's.
        const rows = await s.readObjects({ ...(sel.fileColumns ? { columns: sel.fileColumns } : {}), ...(filter ? { filter } : {}) });
        const extra = Object.fromEntries(sel.partitionColumns.map((n) => [n, o.file.partitions[n] ?? null]));
        return rows.map((r) => ({ ...r, ...extra }));
      }),
    );
    return perFile.flat();
  }

  /** JSON-serialisable work units of about `targetBytes` each, for workers that call `readSplit` (see splits.ts). */
  async splits(options: SplitOptions & DatasetSelection = {}): Promise<DatasetSplit[]> {
    const sel = this.select(options);
    const columnTypes = this.columnTypes;
    const out: DatasetSplit[] = [];
    for (const { o, filter } of sel.files) {
      const plan = await this.withSource(o, async (s) => s.plan({ ...(sel.fileColumns ? { columns: sel.fileColumns } : {}), ...(filter ? { filter } : {}), pages: false }));
      out.push(...planSplits({ file: o.file, footer: o.footer, plan, columnTypes, partitionColumns: sel.partitionColumns, ...(sel.fileColumns ? { columns: sel.fileColumns } : {}), ...(this.urlSpec ? { urlSpec: this.urlSpec } : {}), backendKind: this.backend.kind }, options));
    }
    return out;
  }
}

/**
 * Opens a dataset: one listing (⌈files / 1,000⌉ LIST pages) or manifest GET, partition pruning by
 * `options.filter` on the paths alone, then the footers of the files left, `concurrency` at a time,
 * one GET each (none when cached: a warm re-open costs only the listing). Schemas must be identical
 * across files (`SCHEMA_MISMATCH` names the first file and column that differ).
 *
 * `openDataset('s3://bucket/events/', { filter: { column: 'year', eq: 2024 } })`,
 * `openDataset('./data/')`, `openDataset('https://host/manifest.json')`,
 * `openDataset(['s3://b/a.parquet', 's3://b/b.parquet'])`, `openDataset({ backend, prefix })`.
 */
export async function openDataset(input: DatasetInput, options: OpenDatasetOptions = {}): Promise<Dataset> {
  const resolved = await resolveFiles(input, options);
  const { backend } = resolved;
  const partitioning = options.partitioning ?? 'hive';
  const withRel = resolved.entries.map((e) => ({ path: e.path, relative: relativePath(e.path, resolved.rootLength) }));
  const parts = partitioning === false ? { schema: { fields: [] }, values: withRel.map(() => ({})) } : partitionFiles(withRel, partitioning);
  if (options.filter) validateDatasetFilter(options.filter, undefined, parts.schema); // partition types now; file columns once the footers are in
  const keep = resolved.entries
    .map((entry, i) => ({ entry, values: parts.values[i] as Record<string, PartitionValue> }))
    .filter(({ values }) => !options.filter || bindPartitions(options.filter, values) !== false);
  let footerRequests = 0;
  const cache = options.metadataCache === false ? false : (options.metadataCache ?? sharedMetadataCache());
  const concurrency = options.concurrency ?? DATASET_FOOTER_CONCURRENCY;
  const footerOptions = {
    ...(options.footerSizeHint !== undefined ? { footerSizeHint: options.footerSizeHint } : {}),
    // `concurrency` footer GETs in flight, each listened on by its HTTP client: on a signal of their own.
    ...(options.signal ? { signal: signalForRequests(options.signal, concurrency) } : {}),
  };
  const open = await mapBounded(keep, concurrency, async ({ entry, values }): Promise<OpenFile> => {
    const url = resolved.urlOf?.(entry.path);
    // Under the key openParquet itself would use: the file's URL, or this backend object and path.
    const metadataCache = cache && keyedAs(cache, url !== undefined ? `url\u0000${url}` : metadataCacheKey(backend, entry.path));
    const { entry: footer, requests } = await fetchFooter(backend, entry.path, { ...footerOptions, metadataCache, ...(entry.etag ? { listedEtag: entry.etag } : {}) });
    footerRequests += requests;
    return {
      footer,
      file: {
        path: entry.path,
        ...(url !== undefined ? { url } : {}),
        size: footer.size,
        ...(footer.etag ?? entry.etag ? { etag: (footer.etag ?? entry.etag) as string } : {}),
        partitions: values,
        numRows: Number(footer.metadata.num_rows),
        rowGroups: footer.metadata.row_groups.length,
      },
    };
  });
  checkSchemas(open.map((o) => ({ path: o.file.path, metadata: o.footer.metadata })));
  const dataset = new Dataset(
    backend,
    open,
    parts.schema,
    { listRequests: resolved.listRequests, footerRequests, listedFiles: resolved.entries.length, prunedFiles: resolved.entries.length - keep.length },
    options,
    resolved.urlOf ? { ...(options.url?.s3 ? { s3: pickS3(options.url.s3) } : {}) } : undefined,
  );
  if (options.filter) validateDatasetFilter(options.filter, dataset.columns.filter((c) => !parts.schema.fields.some((f) => f.name === c)), parts.schema);
  return dataset;
}

/** Where a file's partition folders are read: after the listed prefix, or (a URL) its decoded path. */
function relativePath(path: string, rootLength: number): string {
  if (rootLength > 0) return path.slice(rootLength);
  if (!/^https?:\/\//i.test(path)) return path;
  return new URL(path).pathname
    .split('/')
    .map((seg) => {
      try {
        return decodeURIComponent(seg);
      } catch {
        return seg;
      }
    })
    .join('/');
}

/** The S3 settings a worker needs to reach the same bucket: never credentials. */
function pickS3(s3: NonNullable<BackendFromUrlOptions['s3']>): { region?: string; endpoint?: string; forcePathStyle?: boolean } {
  return {
    ...(s3.region !== undefined ? { region: s3.region } : {}),
    ...(s3.endpoint !== undefined ? { endpoint: s3.endpoint } : {}),
    ...(s3.forcePathStyle !== undefined ? { forcePathStyle: s3.forcePathStyle } : {}),
  };
}
