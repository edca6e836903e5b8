/**
 * The Parquet readers the benchmark races, shared by the repository's matrix (bench/) and
 * `brr bench <url>`: each reads one selection of one object, from cold (a fresh backend, no caches).
 *
 * - Ours and the byte-only baselines go through a counted backend (`withMetrics`) and return its counts.
 * - The peers read with their own URL readers (hyparquet's `asyncBufferFromUrl`, parquet-wasm's
 *   `ParquetFile.fromUrl`) when the object has a plain URL, through `target.fetch` when given (the CLI
 *   passes a counting one; the matrix counts them on the server). Without a URL (a local file) they
 *   read through a plain file object — one read per slice, as `asyncBufferFromFile` or a Blob over a
 *   file does — over our counted backend.
 */
import { tableFromIPC } from 'apache-arrow';
import { asyncBufferFromUrl, parquetMetadataAsync, parquetReadObjects, type AsyncBuffer, type FileMetaData } from 'hyparquet';
import { ParquetFile } from 'parquet-wasm';
import { toAsyncBuffer } from '../../adapters/hyparquet.js';
import { toParquetWasmBlob } from '../../adapters/parquet-wasm.js';
import type { RandomAccess } from '../../adapters/random-access.js';
import { collectBody } from '../../body.js';
import { ReaderError } from '../../errors.js';
import { withMetrics, type MetricsSnapshot } from '../../layers/metrics.js';
import type { RowGroupFilter } from '../../parquet/filter.js';
import { columnChunkRanges } from '../../parquet/metadata.js';
import { planRead, type PlanSelection, type ReadPlan } from '../../parquet/planner.js';
import { openAsyncBuffer } from '../../parquet/dropin.js';
import { openParquet, type ParquetSource } from '../../parquet/source.js';
import { isWholeRead } from '../../parquet/whole.js';
import { RangeReader } from '../../range-reader/range-reader.js';
import type { Backend } from '../../types.js';
import { ClearingBufReader, readChunksBySeeks, readFooterBySeeks, type SeekRead } from './baselines.js';
import { withGlobalFetch } from './counting-fetch.js';

/** What to read. */
export interface ReadSpec {
  columns?: string[];
  rowGroups?: number[];
  filter?: RowGroupFilter;
  /** The same filter in hyparquet's (Mongo-style) syntax, for the hyparquet peer. */
  hyparquetFilter?: Record<string, Record<string, unknown>>;
  /** Only the footer (no column data). */
  metadataOnly?: boolean;
}

/** The file's layout, parsed once: what the byte-only baselines need to know which chunks to read. */
export interface FileLayout {
  size: number;
  metadata: FileMetaData;
  metadataLength: number;
}

export interface ReadTarget extends Partial<FileLayout> {
  /** A fresh backend for our readers and the baselines (wrapped in withMetrics by each reader). */
  backend(): Backend;
  /** The object's path on that backend. */
  key: string;
  /** A plain http(s) URL of the object (presigned for a private S3 object) for the peers' own URL readers. */
  httpUrl?: string;
  /** The fetch the peers use with `httpUrl` (default: the global one). */
  fetch?: typeof globalThis.fetch;
}

export interface ReaderOutcome {
  /** Rows decoded (0 for byte-only readers and metadata). */
  rows: number;
  /** Data bytes delivered to the caller (byte-only readers). */
  bytes?: number;
  /** Client-side counts, for readers that go through our counted backend. */
  client?: MetricsSnapshot;
  /** When all bytes were in (our readers: before decoding), ms on the parent's clock. */
  ioDoneAt?: number;
  /** The layout our readers learnt on the way (so a caller need not open the file once more to know it). */
  layout?: FileLayout;
  /** Column chunks left out by `chunkLimit` (byte-only readers). */
  chunksSkipped?: number;
}

export interface RunOptions {
  /** Byte-only baselines read at most this many column chunks (the rest are counted in `chunksSkipped`). */
  chunkLimit?: number;
}

export interface ReaderDef {
  id: string;
  label: string;
  ours: boolean;
  /** Decodes rows (false: moves the chunk bytes only). */
  decodes: boolean;
  kind: 'parquet' | 'ipc';
  run(t: ReadTarget, s: ReadSpec, opts?: RunOptions): Promise<ReaderOutcome>;
}

/** The rows a selection covers, as [rowStart, rowEnd) ranges of whole row groups. */
export function rowRange(meta: FileMetaData, rowGroups: number[]): { rowStart: number; rowEnd: number } | undefined {
  if (rowGroups.length === 0) return undefined;
  let start = 0;
  const bounds: [number, number][] = meta.row_groups.map((rg) => {
    const b: [number, number] = [start, start + Number(rg.num_rows)];
    start = b[1];
    return b;
  });
  return { rowStart: (bounds[Math.min(...rowGroups)] as [number, number])[0], rowEnd: (bounds[Math.max(...rowGroups)] as [number, number])[1] };
}

/** [1,2,3,7,8] → [[1,2,3],[7,8]] */
function consecutiveRuns(xs: readonly number[]): number[][] {
  const runs: number[][] = [];
  for (const x of xs) {
    const last = runs.at(-1);
    if (last && last.at(-1) === x - 1) last.push(x);
    else runs.push([x]);
  }
  return runs;
}

/** Whether `s` reads every byte (no selection, no filter, not the metadata only): an open with `expect: 'whole'`. */
export function readsWhole(s: ReadSpec): boolean {
  return !s.metadataOnly && isWholeRead(s);
}

export function planSelection(s: ReadSpec): PlanSelection {
  return { ...(s.columns ? { columns: s.columns } : {}), ...(s.rowGroups ? { rowGroups: s.rowGroups } : {}), ...(s.filter ? { filter: s.filter } : {}) };
}

function requireLayout(t: ReadTarget, reader: string): FileLayout {
  if (t.size === undefined || !t.metadata || t.metadataLength === undefined) {
    throw new ReaderError('InvalidInput', `the ${reader} reader needs the file's layout (size, metadata) in its target`, {}, { code: 'INVALID_ARGUMENT' });
  }
  return { size: t.size, metadata: t.metadata, metadataLength: t.metadataLength };
}

/** The chunk list a plain column-chunk reader would read for a selection (file order). */
function chunksFor(layout: FileLayout, s: ReadSpec): { offset: number; length: number }[] {
  if (s.metadataOnly) return [];
  const chunks = columnChunkRanges(layout.metadata, layout.size, layout.metadataLength, {});
  const columns = (chunks[0] ?? []).map((c) => c.column);
  return planRead({ metadata: layout.metadata, size: layout.size, chunks, columns }, planSelection(s)).chunks;
}

/** The byte-only baselines: footer by seeks, then one seek + read per chunk, over a RangeReader that drops its body on every seek. */
async function chunksBySeeks(t: ReadTarget, s: ReadSpec, opts: RunOptions, id: string, wrap: (r: RangeReader) => SeekRead): Promise<ReaderOutcome> {
  const all = chunksFor(requireLayout(t, id), s);
  const chunks = opts.chunkLimit === undefined ? all : all.slice(0, opts.chunkLimit);
  const backend = withMetrics(t.backend());
  const inner = new RangeReader(backend, t.key, { dropOnSeek: true });
  const reader = wrap(inner);
  try {
    await readFooterBySeeks(reader);
    const bytes = await readChunksBySeeks(reader, chunks);
    return { rows: 0, bytes, client: backend.metrics.snapshot(), ...(chunks.length < all.length ? { chunksSkipped: all.length - chunks.length } : {}) };
  } finally {
    await inner.close();
  }
}

export const NAIVE: ReaderDef = {
  id: 'naive',
  label: 'naive: RangeReader, one seek + read per chunk (old OpenDAL)',
  ours: false,
  decodes: false,
  kind: 'parquet',
  run: (t, s, opts = {}) => chunksBySeeks(t, s, opts, 'naive', (r) => r),
};

export const BUFREADER: ReaderDef = {
  id: 'bufreader',
  label: 'BufReader that clears on seek (std::io::BufReader)',
  ours: false,
  decodes: false,
  kind: 'parquet',
  run: (t, s, opts = {}) => chunksBySeeks(t, s, opts, 'bufreader', (r) => new ClearingBufReader(r)),
};

/** One backend read per call: what a plain file object does (hyparquet's `asyncBufferFromFile`, a Blob over a file). */
function directAccess(backend: Backend, key: string): RandomAccess {
  return {
    readAt: async (offset, length) => (length === 0 ? new Uint8Array(0) : collectBody((await backend.read(key, { offset, length })).body)),
  };
}

/** How a peer reaches a local object: a plain file object over our counted backend, sized by a stat (as theirs are). */
async function plainFile(t: ReadTarget): Promise<{ access: RandomAccess; size: number; client: () => MetricsSnapshot }> {
  const backend = withMetrics(t.backend());
  const { size } = await backend.stat(t.key);
  return { access: directAccess(backend, t.key), size, client: () => backend.metrics.snapshot() };
}

export const HYPARQUET_PEER: ReaderDef = {
  id: 'hyparquet',
  label: "hyparquet's asyncBufferFromUrl",
  ours: false,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    let file: AsyncBuffer;
    let client: (() => MetricsSnapshot) | undefined;
    if (t.httpUrl) {
      file = await asyncBufferFromUrl({ url: t.httpUrl, ...(t.fetch ? { fetch: t.fetch } : {}) });
    } else {
      const plain = await plainFile(t);
      file = toAsyncBuffer(plain.access, plain.size);
      client = plain.client;
    }
    const rows = await hyparquetReads(file, s);
    return { rows, ...(client ? { client: client() } : {}) };
  },
};

/**
 * What existing hyparquet code does with a file object: read the metadata, then one
 * `parquetReadObjects` of the selection (row groups as the row range they span; the filter in
 * hyparquet's syntax). Returns the rows decoded.
 */
async function hyparquetReads(file: AsyncBuffer, s: ReadSpec): Promise<number> {
  const metadata = await parquetMetadataAsync(file);
  if (s.metadataOnly) return 0;
  const range = s.rowGroups ? rowRange(metadata, s.rowGroups) : undefined;
  const got = await parquetReadObjects({
    file,
    metadata,
    ...(s.columns ? { columns: s.columns } : {}),
    ...(range ?? {}),
    ...(s.hyparquetFilter ? { filter: s.hyparquetFilter } : {}),
  });
  return got.length;
}

/** parquet-wasm over a Blob-like: its read never settles when a slice fails, so a failure rejects beside it. */
async function fromPlainFile(t: ReadTarget): Promise<{ file: ParquetFile; failed: Promise<never>; client: () => MetricsSnapshot }> {
  const plain = await plainFile(t);
  let fail: (err: ReaderError) => void = () => undefined;
  const failed = new Promise<never>((_, reject) => (fail = reject));
  failed.catch(() => undefined);
  const file = await Promise.race([ParquetFile.fromFile(toParquetWasmBlob(plain.access, plain.size, { onError: (e) => fail(e) }) as unknown as Blob), failed]);
  return { file, failed, client: plain.client };
}

/**
 * parquet-wasm panics on a failed fetch or a bad file, and the panic escapes as an uncaught exception
 * (DESIGN.md) while its promise never settles: while `fn` runs, an uncaught exception rejects it
 * instead of ending the process. (Anything else thrown uncaught in that window is blamed on it too.)
 */
async function catchingPanics<T>(fn: () => Promise<T>): Promise<T> {
  let fail: (err: unknown) => void = () => undefined;
  const panicked = new Promise<never>((_, reject) => (fail = reject));
  const onUncaught = (err: unknown) =>
    fail(new ReaderError('InvalidData', `parquet-wasm panicked: ${err instanceof Error ? err.message : String(err)}`, { op: 'decode' }, { code: 'DECODER_PANIC', cause: err }));
  process.on('uncaughtException', onUncaught);
  try {
    return await Promise.race([fn(), panicked]);
  } finally {
    process.off('uncaughtException', onUncaught);
  }
}

export const PARQUET_WASM_PEER: ReaderDef = {
  id: 'parquet-wasm',
  label: "parquet-wasm's ParquetFile.fromUrl",
  ours: false,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    // parquet-wasm fetches with the global fetch: swap the counting one in for this read.
    return withGlobalFetch(t.httpUrl ? t.fetch : undefined, () => catchingPanics(async () => {
      const opened = t.httpUrl ? { file: await ParquetFile.fromUrl(t.httpUrl), failed: undefined, client: undefined } : await fromPlainFile(t);
      const { file, failed, client } = opened;
      try {
        let rows = 0;
        if (s.metadataOnly) file.metadata().free();
        else {
          // parquet-wasm has no predicate: a filter means reading every row group and filtering after.
          const read = file.read({ ...(s.columns ? { columns: s.columns } : {}), ...(s.rowGroups ? { rowGroups: s.rowGroups } : {}) });
          const table = await (failed ? Promise.race([read, failed]) : read);
          rows = tableFromIPC(table.intoIPCStream()).numRows;
        }
        return { rows, ...(client ? { client: client() } : {}) };
      } finally {
        file.free();
      }
    }));
  },
};

/** Ours: open from cold (no footer cache), plan (the selection plus `planAs`), prefetch the plan, then `decode` from the buffer (rows). */
async function runOurs(t: ReadTarget, s: ReadSpec, planAs: Pick<PlanSelection, 'pages' | 'pageIndex' | 'leadingMagic'>, decode: (source: ParquetSource, plan: ReadPlan) => Promise<number>): Promise<ReaderOutcome> {
  const backend = withMetrics(t.backend());
  // A whole read says so at the open, as a user reading the whole file would: one GET for a file that fits the whole-read window.
  const source = await openParquet(backend, t.key, { metadataCache: false, ...(readsWhole(s) ? { expect: 'whole' as const } : {}) });
  // Read after the I/O: the full metadata is parsed on first use, and a plan without a filter needs only the layout.
  const layout = (): FileLayout => ({ size: source.size, metadata: source.metadata, metadataLength: source.metadataLength });
  try {
    if (s.metadataOnly) return { rows: 0, client: backend.metrics.snapshot(), ioDoneAt: performance.now(), layout: layout() };
    const plan = source.plan({ ...planSelection(s), ...planAs });
    await source.prefetch(plan);
    const ioDoneAt = performance.now();
    const rows = await decode(source, plan);
    return { rows, client: backend.metrics.snapshot(), ioDoneAt, layout: layout() };
  } finally {
    await source.close();
  }
}

export const OURS_PARQUET_WASM: ReaderDef = {
  id: 'ours+parquet-wasm',
  label: 'ours: openParquet + readTable (parquet-wasm)',
  ours: true,
  decodes: true,
  kind: 'parquet',
  // Prefetches what readTable plans, so the decode reads only the buffer.
  run: (t, s) => runOurs(t, s, { pages: false, pageIndex: true, leadingMagic: true }, async (source) => (await source.readTable(planSelection(s))).numRows),
};

export const OURS_HYPARQUET: ReaderDef = {
  id: 'ours+hyparquet',
  label: 'ours: openParquet + hyparquet on toAsyncBuffer',
  ours: true,
  decodes: true,
  kind: 'parquet',
  run: (t, s) =>
    runOurs(t, s, {}, async (source, plan) => {
      let rows = 0;
      // One hyparquet read per run of consecutive planned row groups (a filter pruned the rest);
      // hyparquet filters rows inside them.
      for (const run of consecutiveRuns(plan.rowGroups)) {
        const got = await parquetReadObjects({
          file: source.toAsyncBuffer(),
          metadata: source.metadata,
          ...(s.columns ? { columns: s.columns } : {}),
          ...(rowRange(source.metadata, run) as { rowStart: number; rowEnd: number }),
          ...(s.hyparquetFilter ? { filter: s.hyparquetFilter } : {}),
        });
        rows += got.length;
      }
      return rows;
    }),
};

/**
 * `ours-dropin`: hyparquet's own read — the hyparquet peer's code, line for line — over our
 * `openAsyncBuffer` instead of `asyncBufferFromUrl`: what a user with existing hyparquet code gets by
 * swapping the file object (issue 12). Cold (no footer cache); counted by our backend's metrics.
 * Not in the repository's matrix: its "drop-in" section (bench/dropin.ts) races each decoder's own
 * loader against our drop-in objects there.
 */
export const OURS_DROPIN: ReaderDef = {
  id: 'ours-dropin',
  label: 'ours-dropin: hyparquet parquetReadObjects over openAsyncBuffer',
  ours: true,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    const backend = withMetrics(t.backend());
    const file = await openAsyncBuffer(backend, t.key, { metadataCache: false });
    try {
      const rows = await hyparquetReads(file, s);
      return { rows, client: backend.metrics.snapshot() };
    } finally {
      await file.close();
    }
  },
};

/** Every Parquet reader of the matrix, baselines and peers first. */
export const PARQUET_READERS: readonly ReaderDef[] = [NAIVE, BUFREADER, HYPARQUET_PEER, PARQUET_WASM_PEER, OURS_PARQUET_WASM, OURS_HYPARQUET];
