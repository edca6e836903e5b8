/**
 * Splits: plain-JSON work units a worker anywhere (a thread, a process, a queue consumer, a
 * serverless function) reads with `readSplit`, with no listing and an exact one-GET open: the split
 * carries the file's URL (never credentials: the worker uses its own environment), its ETag, the
 * footer's offset and length, the row groups and byte ranges to read, and the partition values.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { collectBody } from '../body.js';
import { backendFromUrl, type BackendFromUrlOptions } from '../backends/url.js';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { CachedFooter } from '../parquet/cache.js';
import type { ReadTableOptions } from '../parquet/decode.js';
import { ifMatch, parseFooter } from '../parquet/footer.js';
import { parseMetadata } from '../parquet/metadata.js';
import type { ReadPlan } from '../parquet/planner.js';
import type { OpenParquetOptions, ParquetSource } from '../parquet/source.js';
import type { Backend, ResolvedRange } from '../types.js';
import { arrowTypes, tableWithPartitions, withPartitions, type PartitionColumnType } from './arrow.js';
import type { DatasetFile } from './dataset.js';
import { openWithFooter, type DatasetFooter } from './footers.js';
import type { PartitionValue } from './hive.js';

/**
 * Bytes of data a split aims at: 128 MiB, Spark's `spark.sql.files.maxPartitionBytes` (and the
 * usual HDFS block). Row groups are never cut; a row group larger than this is a split of its own.
 */
export const DEFAULT_SPLIT_BYTES = 128 * 1024 * 1024;

/** The version of the split format; `readSplit` refuses others. */
export const SPLIT_VERSION = 1;

export interface SplitOptions {
  /** Data bytes per split (default DEFAULT_SPLIT_BYTES): a file's row groups are grouped up to this. */
  targetBytes?: number;
}

/** A partition value in JSON: dates as `YYYY-MM-DD`. */
export interface SplitPartition {
  name: string;
  type: PartitionColumnType;
  value: number | string | null;
}

/** One work unit: JSON in, JSON out (`JSON.parse(JSON.stringify(split))` reads the same). */
export interface DatasetSplit {
  version: typeof SPLIT_VERSION;
  /** The file's URL (`s3://…`, `https://…`, a local path) when the dataset was opened by URL. */
  url?: string;
  /** The path on the dataset's backend (with `readSplit(split, { backend })`). */
  path: string;
  /** The backend kind it was planned on. */
  backend: string;
  /** S3 addressing the worker needs (region, endpoint, path style); never credentials. */
  s3?: { region?: string; endpoint?: string; forcePathStyle?: boolean };
  size: number;
  /** The version planned: data requests carry it as If-Match, so a replaced file fails instead of mixing. */
  etag?: string;
  /** Where the footer (metadata + 8 bytes) is: the worker's open is one exact GET. */
  footer: ResolvedRange;
  rowGroups: number[];
  /** The data byte ranges the split reads (coalesced into requests by the worker's reader). */
  ranges: ResolvedRange[];
  bytes: number;
  rows: number;
  /** File columns to read; absent: all. */
  columns?: string[];
  /** Partition columns added to the rows. */
  partitions: SplitPartition[];
}

export interface PlanSplitsInput {
  file: DatasetFile;
  footer: DatasetFooter;
  plan: ReadPlan;
  columnTypes: Readonly<Record<string, PartitionColumnType>>;
  partitionColumns: readonly string[];
  columns?: string[];
  urlSpec?: { s3?: DatasetSplit['s3'] };
  backendKind: string;
}

const isoDate = (d: Date): string => d.toISOString().slice(0, 10);

/** A file's planned row groups grouped into splits of about `targetBytes` (pure). */
export function planSplits(input: PlanSplitsInput, options: SplitOptions = {}): DatasetSplit[] {
  const target = options.targetBytes ?? DEFAULT_SPLIT_BYTES;
  if (!(target > 0)) throw new ReaderError('InvalidInput', 'splits targetBytes must be > 0', {}, { code: 'INVALID_ARGUMENT' });
  const { file, footer, plan } = input;
  const footerLength = footer.metadataLength + 8;
  const partitions = input.partitionColumns.map((name): SplitPartition => {
    const v = file.partitions[name] ?? null;
    return { name, type: input.columnTypes[name] as PartitionColumnType, value: v instanceof Date ? isoDate(v) : v };
  });
  const groups: number[][] = [];
  let current: number[] = [];
  let bytes = 0;
  const chunkBytes = (g: number) => plan.chunks.filter((c) => c.rowGroup === g).reduce((n, c) => n + c.length, 0);
  for (const g of plan.rowGroups) {
    const b = chunkBytes(g);
    if (current.length > 0 && bytes + b > target) {
      groups.push(current);
      current = [];
      bytes = 0;
    }
    current.push(g);
    bytes += b;
  }
  if (current.length > 0) groups.push(current);
  return groups.map((rowGroups) => {
    const chunks = plan.chunks.filter((c) => rowGroups.includes(c.rowGroup));
    return {
      version: SPLIT_VERSION,
      ...(file.url !== undefined ? { url: file.url } : {}),
      path: file.path,
      backend: input.backendKind,
      ...(input.urlSpec?.s3 && Object.keys(input.urlSpec.s3).length ? { s3: input.urlSpec.s3 } : {}),
      size: file.size,
      ...(file.etag ? { etag: file.etag } : {}),
      footer: { offset: file.size - footerLength, length: footerLength },
      rowGroups,
      ranges: chunks.map((c) => ({ offset: c.offset, length: c.length })),
      bytes: chunks.reduce((n, c) => n + c.length, 0),
      rows: rowGroups.reduce((n, g) => n + Number(footer.metadata.row_groups[g]?.num_rows ?? 0), 0),
      ...(input.columns ? { columns: input.columns } : {}),
      partitions,
    };
  });
}

export interface ReadSplitOptions extends Omit<ReadTableOptions, 'rowGroups' | 'columns' | 'filter' | 'pages'> {
  /** The backend to read `split.path` with; default: from `split.url` (and `split.s3`), credentials from this process's environment. */
  backend?: Backend;
  /** Options for the URL's backend (http headers, S3 credentials, retry), merged over the split's S3 addressing. */
  url?: BackendFromUrlOptions;
  reader?: OpenParquetOptions['reader'];
}

function checkSplit(split: DatasetSplit): void {
  const bad = (why: string): never => {
    throw new ReaderError('InvalidInput', `not a dataset split: ${why}`, { op: 'open' }, { code: 'BAD_SPLIT' });
  };
  if (split === null || typeof split !== 'object') bad('expected an object');
  if (split.version !== SPLIT_VERSION) bad(`version ${String(split.version)}, expected ${SPLIT_VERSION}`);
  if (typeof split.path !== 'string' || !Number.isSafeInteger(split.size)) bad('path and size are required');
  const f = split.footer;
  if (!f || !Number.isSafeInteger(f.offset) || !Number.isSafeInteger(f.length) || f.length < 8 || f.offset + f.length !== split.size) bad('footer must end the file');
  if (!Array.isArray(split.rowGroups) || !split.rowGroups.every((g) => Number.isSafeInteger(g) && g >= 0)) bad('rowGroups must be indices');
  if (!Array.isArray(split.partitions)) bad('partitions must be an array');
}

/** The split's file opened with one exact GET (its footer), If-Match its ETag. */
async function openSplit(split: DatasetSplit, options: ReadSplitOptions): Promise<ParquetSource> {
  checkSplit(split);
  let backend = options.backend;
  let path = split.path;
  if (!backend) {
    if (split.url === undefined) throw new ReaderError('InvalidInput', 'this split has no URL (its dataset was opened on a backend object): pass readSplit(split, { backend })', { path }, { code: 'BAD_SPLIT' });
    const s3 = { ...split.s3, ...options.url?.s3 };
    ({ backend, path } = backendFromUrl(split.url, { ...options.url, ...(Object.keys(s3).length ? { s3 } : {}) }));
  }
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  const signal = options.signal ? { signal: options.signal } : {};
  const res = await backend.read(path, split.footer, { ...signal, ...(split.etag ? ifMatch({ size: split.size, etag: split.etag }) : {}) });
  const bytes = await collectBody(res.body);
  if (res.meta.size !== split.size || (split.etag && res.meta.etag && res.meta.etag !== split.etag)) {
    throw new ReaderError('ConditionNotMatch', `the file changed since the split was planned (size ${res.meta.size}, ETag ${res.meta.etag ?? 'none'}; planned ${split.size}, ${split.etag ?? 'none'})`, context, { code: 'ETAG_CHANGED' });
  }
  const metadataLength = parseFooter(bytes.subarray(bytes.byteLength - 8), split.size, context);
  if (metadataLength + 8 !== split.footer.length) {
    throw new ReaderError('InvalidInput', `split footer length ${split.footer.length} does not match the file's (${metadataLength + 8})`, context, { code: 'BAD_SPLIT' });
  }
  const meta = { size: split.size, ...(res.meta.etag ? { etag: res.meta.etag } : {}) };
  const metadata = parseMetadata({ meta, bytes, offset: split.footer.offset, metadataLength, requests: 1 }, context);
  const entry: CachedFooter = { ...meta, metadata, metadataLength, footer: bytes };
  return openWithFooter(backend, path, entry, { ...(options.reader ? { reader: options.reader } : {}), ...signal });
}

function partitionValues(split: DatasetSplit): { names: string[]; kinds: Record<string, PartitionColumnType>; values: Record<string, PartitionValue> } {
  const values: Record<string, PartitionValue> = {};
  const kinds: Record<string, PartitionColumnType> = {};
  for (const p of split.partitions) {
    kinds[p.name] = p.type;
    values[p.name] = p.type === 'date' && typeof p.value === 'string' ? new Date(`${p.value}T00:00:00Z`) : p.value;
  }
  return { names: split.partitions.map((p) => p.name), kinds, values };
}

function tableOptions(split: DatasetSplit, options: ReadSplitOptions): ReadTableOptions {
  const { backend: _b, url: _u, reader: _r, ...rest } = options;
  return { ...rest, rowGroups: split.rowGroups, ...(split.columns ? { columns: split.columns } : {}) };
}

/** Reads one split into an apache-arrow Table: one GET for the footer, then the split's data (one wave). */
export async function readSplit(split: DatasetSplit, options: ReadSplitOptions = {}): Promise<Table> {
  const source = await openSplit(split, options);
  try {
    const arrow = await import('apache-arrow');
    const { names, kinds, values } = partitionValues(split);
    return tableWithPartitions(arrow, await source.readTable(tableOptions(split, options)), names, arrowTypes(arrow, kinds), values);
  } finally {
    await source.close();
  }
}

/** Streams one split's record batches, row group by row group. */
export async function* readSplitBatches(split: DatasetSplit, options: ReadSplitOptions = {}): AsyncGenerator<RecordBatch> {
  const source = await openSplit(split, options);
  try {
    const arrow = await import('apache-arrow');
    const { names, kinds, values } = partitionValues(split);
    const types = arrowTypes(arrow, kinds);
    for await (const b of source.readBatches(tableOptions(split, options))) yield withPartitions(arrow, b, names, types, values);
  } finally {
    await source.close();
  }
}
