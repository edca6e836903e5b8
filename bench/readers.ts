/**
 * The readers the benchmark races, each reading one scenario of one file from the object server.
 * Ours go through a counted backend (`withMetrics`) so their client-side counts can be checked
 * against the server's; the peers (hyparquet's and parquet-wasm's own URL readers) use fetch and are
 * counted by the server only.
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { asyncBufferFromUrl, parquetMetadataAsync, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { ParquetFile } from 'parquet-wasm';
import { arrowFileHandle } from '../src/adapters/arrow-ipc.js';
import { httpBackend } from '../src/backends/http/backend.js';
import type { Backend } from '../src/types.js';
import { BufferReader } from '../src/buffer-reader/buffer-reader.js';
import { withMetrics, type MetricsSnapshot } from '../src/layers/metrics.js';
import { createMetadataCache, type MetadataCache } from '../src/parquet/cache.js';
import type { RowGroupFilter } from '../src/parquet/filter.js';
import { columnChunkRanges } from '../src/parquet/metadata.js';
import { planRead, type PlanSelection } from '../src/parquet/planner.js';
import { openParquet } from '../src/parquet/source.js';
import { RangeReader } from '../src/range-reader/range-reader.js';
import { ClearingBufReader, readChunksBySeeks, readFooterBySeeks, type SeekRead } from './baselines.js';

export interface Scenario {
  id: 'full' | 'projection' | 'rowgroup' | 'filter' | 'metadata' | 'many-files';
  label: string;
  columns?: string[];
  rowGroups?: number[];
  filter?: RowGroupFilter;
  /** The same filter in hyparquet's syntax. */
  hyparquetFilter?: Record<string, Record<string, unknown>>;
}

export interface ReadTarget {
  /** A fresh backend for our readers and the baselines (wrapped in withMetrics by each reader). */
  backend(): Backend;
  /** The object's path on that backend. */
  key: string;
  /** A plain http(s) URL of the object for the peers' own URL readers, when there is one. */
  httpUrl?: string;
  size: number;
  /** The file's metadata, parsed locally once, for row ranges and chunk lists. */
  metadata: FileMetaData;
  metadataLength: number;
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
}

export interface ReaderDef {
  id: string;
  label: string;
  ours: boolean;
  /** Decodes rows (false: moves the chunk bytes only). */
  decodes: boolean;
  kind: 'parquet' | 'ipc';
  run(t: ReadTarget, s: Scenario): Promise<ReaderOutcome>;
}

/** The rows a selection covers, as [rowStart, rowEnd) ranges of whole row groups. */
function rowRange(meta: FileMetaData, rowGroups: number[]): { rowStart: number; rowEnd: number } | undefined {
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

function selection(s: Scenario): PlanSelection {
  return { ...(s.columns ? { columns: s.columns } : {}), ...(s.rowGroups ? { rowGroups: s.rowGroups } : {}), ...(s.filter ? { filter: s.filter } : {}) };
}

/** The chunk list a plain column-chunk reader would read for a scenario (file order). */
function chunksFor(t: ReadTarget, s: Scenario): { offset: number; length: number }[] {
  if (s.id === 'metadata') return [];
  const chunks = columnChunkRanges(t.metadata, t.size, t.metadataLength, {});
  const columns = (chunks[0] ?? []).map((c) => c.column);
  return planRead({ metadata: t.metadata, size: t.size, chunks, columns }, selection(s)).chunks;
}

function url(t: ReadTarget): string {
  if (!t.httpUrl) throw new Error('no plain http URL for this object: the peers cannot read it');
  return t.httpUrl;
}

/** The byte-only baselines: footer by seeks, then one seek + read per chunk, over a RangeReader that drops its body on every seek. */
async function chunksBySeeks(t: ReadTarget, s: Scenario, wrap: (r: RangeReader) => SeekRead): Promise<ReaderOutcome> {
  const backend = withMetrics(t.backend());
  const inner = new RangeReader(backend, t.key, { dropOnSeek: true });
  const reader = wrap(inner);
  await readFooterBySeeks(reader);
  const bytes = await readChunksBySeeks(reader, chunksFor(t, s));
  await inner.close();
  return { rows: 0, bytes, client: backend.metrics.snapshot() };
}

const naive: ReaderDef = {
  id: 'naive',
  label: 'naive: RangeReader, one seek + read per chunk (old OpenDAL)',
  ours: false,
  decodes: false,
  kind: 'parquet',
  run: (t, s) => chunksBySeeks(t, s, (r) => r),
};

const bufreader: ReaderDef = {
  id: 'bufreader',
  label: 'BufReader that clears on seek (std::io::BufReader)',
  ours: false,
  decodes: false,
  kind: 'parquet',
  run: (t, s) => chunksBySeeks(t, s, (r) => new ClearingBufReader(r)),
};

const hyparquetPeer: ReaderDef = {
  id: 'hyparquet',
  label: "hyparquet's asyncBufferFromUrl",
  ours: false,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    const file = await asyncBufferFromUrl({ url: url(t) });
    const metadata = await parquetMetadataAsync(file);
    if (s.id === 'metadata') return { rows: 0 };
    const range = s.rowGroups ? rowRange(metadata, s.rowGroups) : undefined;
    const rows = await parquetReadObjects({
      file,
      metadata,
      ...(s.columns ? { columns: s.columns } : {}),
      ...(range ?? {}),
      ...(s.hyparquetFilter ? { filter: s.hyparquetFilter } : {}),
    });
    return { rows: rows.length };
  },
};

const parquetWasmPeer: ReaderDef = {
  id: 'parquet-wasm',
  label: "parquet-wasm's ParquetFile.fromUrl",
  ours: false,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    const file = await ParquetFile.fromUrl(url(t));
    try {
      if (s.id === 'metadata') {
        file.metadata().free();
        return { rows: 0 };
      }
      // parquet-wasm has no predicate: a filter means reading every row group and filtering after.
      const table = await file.read({ ...(s.columns ? { columns: s.columns } : {}), ...(s.rowGroups ? { rowGroups: s.rowGroups } : {}) });
      return { rows: tableFromIPC(table.intoIPCStream()).numRows };
    } finally {
      file.free();
    }
  },
};

const oursParquetWasm: ReaderDef = {
  id: 'ours+parquet-wasm',
  label: 'ours: openParquet + readTable (parquet-wasm)',
  ours: true,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    const backend = withMetrics(t.backend());
    const source = await openParquet(backend, t.key, { metadataCache: false });
    if (s.id === 'metadata') {
      await source.close();
      return { rows: 0, client: backend.metrics.snapshot(), ioDoneAt: performance.now() };
    }
    const plan = source.plan({ ...selection(s), pages: false, pageIndex: true, leadingMagic: true }); // what readTable plans
    await source.prefetch(plan);
    const ioDoneAt = performance.now();
    const table = await source.readTable(selection(s));
    await source.close();
    return { rows: table.numRows, client: backend.metrics.snapshot(), ioDoneAt };
  },
};

const oursHyparquet: ReaderDef = {
  id: 'ours+hyparquet',
  label: 'ours: openParquet + hyparquet on toAsyncBuffer',
  ours: true,
  decodes: true,
  kind: 'parquet',
  async run(t, s) {
    const backend = withMetrics(t.backend());
    const source = await openParquet(backend, t.key, { metadataCache: false });
    if (s.id === 'metadata') {
      await source.close();
      return { rows: 0, client: backend.metrics.snapshot(), ioDoneAt: performance.now() };
    }
    const plan = source.plan(selection(s));
    await source.prefetch(plan);
    const ioDoneAt = performance.now();
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
    await source.close();
    return { rows, client: backend.metrics.snapshot(), ioDoneAt };
  },
};

export const PARQUET_READERS: readonly ReaderDef[] = [naive, bufreader, hyparquetPeer, parquetWasmPeer, oursParquetWasm, oursHyparquet];

/** Arrow IPC: ours (BufferReader with read-ahead) vs apache-arrow over a plain handle (one GET per read). */
export const IPC_READERS: readonly ReaderDef[] = [
  {
    id: 'arrow-plain',
    label: 'apache-arrow over a plain file handle (a GET per read)',
    ours: false,
    decodes: true,
    kind: 'ipc',
    async run(t) {
      const backend = withMetrics(t.backend());
      const reader = new RangeReader(backend, t.key, { dropOnSeek: true, size: t.size });
      const rows = await readIpc(arrowFileHandle(reader));
      return { rows, client: backend.metrics.snapshot() };
    },
  },
  {
    id: 'ours+arrow',
    label: 'ours: apache-arrow over arrowFileHandle(BufferReader)',
    ours: true,
    decodes: true,
    kind: 'ipc',
    async run(t) {
      const backend = withMetrics(t.backend());
      const reader = new BufferReader(backend, t.key, { size: t.size });
      const rows = await readIpc(arrowFileHandle(reader));
      return { rows, client: backend.metrics.snapshot() };
    },
  },
];

async function readIpc(handle: ReturnType<typeof arrowFileHandle>): Promise<number> {
  // apache-arrow's types name Node's FileHandle; it only uses fd, stat, read and close.
  const batches = await RecordBatchReader.from(handle as unknown as FileHandle);
  let rows = 0;
  for await (const b of batches) rows += b.numRows;
  await handle.close();
  return rows;
}

/** Opening the metadata of many files concurrently (at most `concurrency` at once). */
export interface ManyFilesReader {
  id: string;
  label: string;
  ours: boolean;
  open(baseUrl: string, keys: string[], concurrency: number): Promise<{ client?: MetricsSnapshot }>;
}

async function pool<T>(items: readonly T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await fn(items[next++] as T);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

/** Ours, cold then warm: one backend and one metadata cache for both passes (the second should cost nothing). */
export function oursManyFiles(cache: MetadataCache = createMetadataCache()): ManyFilesReader {
  let backend: ReturnType<typeof withMetrics> | undefined;
  return {
    id: 'ours',
    label: 'ours: openParquet',
    ours: true,
    async open(baseUrl, keys, concurrency) {
      backend ??= withMetrics(httpBackend({ baseUrl }));
      const b = backend;
      b.metrics.reset();
      await pool(keys, concurrency, async (k) => {
        const s = await openParquet(b, k, { metadataCache: cache });
        await s.close();
      });
      return { client: b.metrics.snapshot() };
    },
  };
}

export const MANY_FILES_PEERS: readonly ManyFilesReader[] = [
  {
    id: 'naive',
    label: 'naive: RangeReader footer by seeks',
    ours: false,
    async open(baseUrl, keys, concurrency) {
      const backend = withMetrics(httpBackend({ baseUrl }));
      await pool(keys, concurrency, async (k) => {
        const r = new RangeReader(backend, k, { dropOnSeek: true });
        await readFooterBySeeks(r);
        await r.close();
      });
      return { client: backend.metrics.snapshot() };
    },
  },
  {
    id: 'hyparquet',
    label: "hyparquet's asyncBufferFromUrl + parquetMetadataAsync",
    ours: false,
    async open(baseUrl, keys, concurrency) {
      await pool(keys, concurrency, async (k) => {
        await parquetMetadataAsync(await asyncBufferFromUrl({ url: `${baseUrl}/${k}` }));
      });
      return {};
    },
  },
  {
    id: 'parquet-wasm',
    label: "parquet-wasm's ParquetFile.fromUrl",
    ours: false,
    async open(baseUrl, keys, concurrency) {
      await pool(keys, concurrency, async (k) => {
        const f = await ParquetFile.fromUrl(`${baseUrl}/${k}`);
        f.free();
      });
      return {};
    },
  },
];
