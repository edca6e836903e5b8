/**
 * The benchmark's readers. The Parquet readers live in src/cli/bench/readers.ts (shared with
 * `brr bench <url>`); here: the matrix's scenarios, the Arrow IPC readers and the many-files openers.
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader } from 'apache-arrow';
import { asyncBufferFromUrl, parquetMetadataAsync } from 'hyparquet';
import { ParquetFile } from 'parquet-wasm';
import { arrowFileHandle } from '../src/adapters/arrow-ipc.js';
import { httpBackend } from '../src/backends/http/backend.js';
import { BufferReader } from '../src/buffer-reader/buffer-reader.js';
import { readFooterBySeeks } from '../src/cli/bench/baselines.js';
import type { ReadSpec, ReaderDef } from '../src/cli/bench/readers.js';
import { withMetrics, type MetricsSnapshot } from '../src/layers/metrics.js';
import { createMetadataCache, type MetadataCache } from '../src/parquet/cache.js';
import { openParquet } from '../src/parquet/source.js';
import { RangeReader } from '../src/range-reader/range-reader.js';

export { PARQUET_READERS, type ReadTarget, type ReaderDef, type ReaderOutcome } from '../src/cli/bench/readers.js';

export interface Scenario extends Omit<ReadSpec, 'metadataOnly'> {
  id: 'full' | 'projection' | 'rowgroup' | 'filter' | 'metadata' | 'many-files';
  label: string;
}

/** What a scenario asks a reader to read (`metadata`: the footer only). */
export function readSpec(s: Scenario): ReadSpec {
  return s.id === 'metadata' ? { ...s, metadataOnly: true } : s;
}

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
      const reader = new RangeReader(backend, t.key, { dropOnSeek: true, ...(t.size === undefined ? {} : { size: t.size }) });
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
      const reader = new BufferReader(backend, t.key, t.size === undefined ? {} : { size: t.size });
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
