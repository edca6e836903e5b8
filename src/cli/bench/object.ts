/**
 * `brr bench <url>`'s measurement: every reader against the user's own object and store, each from
 * cold, `runs` times; every request counted on our side (our backends' metrics for ours and the
 * baselines, a counting fetch for the peers' own URL readers).
 *
 * `ours` runs first: its open tells the file's layout (size, footer), which the naive reader needs
 * to know its column chunks and every row needs for the bytes it had to move. So the benchmark makes
 * no request that no reader is charged for: the readers' counts add up to what the store received.
 */
import { tableFromArrays, tableToIPC } from 'apache-arrow';
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';
import { memoryBackend } from '../../backends/memory/backend.js';
import { ReaderError, isReaderError } from '../../errors.js';
import type { MetricsSnapshot, RequestRecord } from '../../layers/metrics.js';
import { S3_GET_PRICE_USD } from '../../parquet/planner.js';
import type { Backend } from '../../types.js';
import type { Condition } from '../filter.js';
import { countingFetch } from './counting-fetch.js';
import { expectation } from './expect.js';
import { HYPARQUET_PEER, NAIVE, OURS_DROPIN, OURS_PARQUET_WASM, PARQUET_WASM_PEER, type FileLayout, type ReadSpec, type ReadTarget, type ReaderDef } from './readers.js';

/**
 * Column chunks the naive reader reads by default: it pays one sequential GET each, so at 20–50 ms a
 * GET, 1,000 chunks are 20–50 s — enough to show the pattern (the seed file's 600 fit) without
 * spending an hour on a file with 100,000 chunks. `--naive-limit` changes it; the output says when it cut.
 */
export const DEFAULT_NAIVE_LIMIT = 1000;

/**
 * The readers of `brr bench <url>`, in the order they are listed; `ours` is `openParquet` + `readTable`,
 * `ours-dropin` hyparquet's own read over `openAsyncBuffer`.
 */
export const OBJECT_READERS: readonly ReaderDef[] = [
  NAIVE,
  HYPARQUET_PEER,
  PARQUET_WASM_PEER,
  { ...OURS_PARQUET_WASM, id: 'ours', label: 'ours: openParquet + readTable' },
  OURS_DROPIN,
];

export interface PeerAccess {
  url: string;
  /** Default: the global fetch. The benchmark counts its requests either way. */
  fetch?: typeof globalThis.fetch;
}

export interface ObjectTarget {
  /** A fresh backend (no retries) for one run of one of our readers. */
  backend(): Backend;
  key: string;
  /**
   * The URL the peers read and the fetch to read it with (S3: a signing fetch, or none with a
   * presigned URL); undefined for a local file (they read a plain file object). Called once.
   */
  peerAccess(): Promise<PeerAccess | undefined>;
}

export interface ObjectBenchOptions {
  target: ObjectTarget;
  spec: ReadSpec;
  /** The `--filter` conditions, for the hyparquet readers' own filter (the peer's, ours-dropin's). */
  conditions?: readonly Condition[];
  runs: number;
  naiveLimit: number;
  /** Called before each run of each reader. */
  onRun?(reader: string, run: number, runs: number): void;
  signal?: AbortSignal;
}

export interface ReaderResult {
  reader: string;
  label: string;
  /** `backend` (our metrics layer) or `fetch` (the counting fetch the peer was given). */
  countedBy: 'backend' | 'fetch';
  gets: number;
  heads: number;
  roundTrips: number;
  /** Body bytes received. */
  bytes: number;
  /** Bytes the requests asked for (ranges' lengths). */
  bytesRequested: number;
  bytesNeeded: number;
  /** Median wall time of the runs, decode included. */
  wallMs: number;
  runWallMs: number[];
  rows: number;
  /** S3 price of this reader's requests (GET and HEAD are both $0.0004 per 1,000), per million reads. */
  s3CostPerMillionUsd: number;
  /** Column chunks the naive reader left out (`--naive-limit`). */
  chunksSkipped?: number;
  error?: { kind: string; code: string; message: string };
  /** The last run's requests (for the waterfall). */
  requests: RequestRecord[];
}

export interface ObjectBenchResult {
  size: number;
  rowGroups: number;
  columns: number;
  bytesNeeded: number;
  readers: ReaderResult[];
}

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** The `--filter` conditions in hyparquet's syntax; integers compare with 64-bit columns as bigint, as hyparquet decodes them. */
export function hyparquetFilterFor(conditions: readonly Condition[], metadata: FileMetaData): Record<string, Record<string, unknown>> | undefined {
  if (conditions.length === 0) return undefined;
  const int64 = new Set(metadata.schema.filter((e) => e.type === 'INT64').map((e) => e.name));
  const out: Record<string, Record<string, unknown>> = {};
  for (const c of conditions) {
    const leaf = c.column.split('.').at(-1) as string;
    const value = int64.has(leaf) && typeof c.value === 'number' && Number.isInteger(c.value) ? BigInt(c.value) : c.value;
    (out[c.column] ??= {})[`$${c.op}`] = value;
  }
  return out;
}

function describe(err: unknown): NonNullable<ReaderResult['error']> {
  if (isReaderError(err)) return { kind: err.kind, code: err.code, message: err.message };
  return { kind: 'Unexpected', code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new ReaderError('Aborted', 'the benchmark was interrupted', { op: 'bench' }, { code: 'ABORTED' });
}

/** Rows and row groups of the warm-up file: two row groups, so every reader takes its multi-group path. */
const WARM_UP_ROWS = 64;
const WARM_UP_ROWS_PER_GROUP = 32;

/**
 * One read by every reader of a tiny Parquet file made here, in memory: the process's start-up costs
 * (JIT, WebAssembly compiles, our decoder thread) are paid before the clock runs, for every reader
 * alike, and the store sees no request. Each measured run is still cold: a fresh backend, no caches.
 */
export async function warmUp(readers: readonly ReaderDef[] = OBJECT_READERS): Promise<void> {
  const ids = BigInt64Array.from({ length: WARM_UP_ROWS }, (_, i) => BigInt(i));
  const arrow = tableFromArrays({ id: ids, word: Array.from({ length: WARM_UP_ROWS }, (_, i) => `w${i % 7}`) });
  const bytes = writeParquet(WasmTable.fromIPCStream(tableToIPC(arrow, 'stream')), new WriterPropertiesBuilder().setMaxRowGroupSize(WARM_UP_ROWS_PER_GROUP).build());
  const metadataLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
  const t: ReadTarget = { backend: () => memoryBackend({ 'warm-up.parquet': bytes }), key: 'warm-up.parquet', size: bytes.byteLength, metadata: parquetMetadata(bytes), metadataLength };
  for (const r of readers) await r.run(t, {});
}

/** Runs every reader; a failure of `ours` (the first, which opens the file) fails the benchmark, any other is its row's `error`. */
export async function benchObject(opts: ObjectBenchOptions): Promise<ObjectBenchResult> {
  const { target, runs } = opts;
  const ours = OBJECT_READERS.find((r) => r.id === 'ours') as ReaderDef;
  const order = [ours, ...OBJECT_READERS.filter((r) => r !== ours)];
  let layout: FileLayout | undefined;
  let access: PeerAccess | undefined | null = null; // null: not asked yet
  const results = new Map<string, ReaderResult>();
  for (const reader of order) {
    const walls: number[] = [];
    let last: { counts: MetricsSnapshot; countedBy: ReaderResult['countedBy']; rows: number; chunksSkipped?: number } | undefined;
    let error: ReaderResult['error'];
    const peer = !reader.ours && reader !== NAIVE;
    if (peer && access === null) access = await target.peerAccess();
    // Every hyparquet read (the peer's, ours-dropin's) takes the filter in hyparquet's syntax; `ours` (first) needs none.
    const spec: ReadSpec = layout && opts.conditions ? { ...opts.spec, ...optional('hyparquetFilter', hyparquetFilterFor(opts.conditions, layout.metadata)) } : opts.spec;
    for (let run = 1; run <= runs; run++) {
      throwIfAborted(opts.signal);
      opts.onRun?.(reader.id, run, runs);
      const counter = countingFetch(access?.fetch);
      const t: ReadTarget = { backend: target.backend, key: target.key, ...layout, ...(peer && access ? { httpUrl: access.url, fetch: counter.fetch } : {}) };
      const t0 = performance.now();
      try {
        const out = await reader.run(t, spec, { chunkLimit: opts.naiveLimit });
        walls.push(performance.now() - t0);
        layout ??= out.layout;
        last = {
          counts: out.client ?? counter.snapshot(),
          countedBy: out.client ? 'backend' : 'fetch',
          rows: out.rows,
          ...optional('chunksSkipped', out.chunksSkipped),
        };
      } catch (err) {
        if (reader === ours) throw err;
        error = describe(err);
        // What it sent before failing still reached the store.
        last = { counts: counter.snapshot(), countedBy: t.httpUrl ? 'fetch' : 'backend', rows: 0 };
        break;
      }
    }
    const c = (last as NonNullable<typeof last>).counts;
    results.set(reader.id, {
      reader: reader.id,
      label: reader.label,
      countedBy: (last as NonNullable<typeof last>).countedBy,
      gets: c.gets,
      heads: c.heads,
      roundTrips: c.roundTrips,
      bytes: c.bytesReceived,
      bytesRequested: c.bytesRequested,
      bytesNeeded: 0,
      wallMs: walls.length ? median(walls) : NaN,
      runWallMs: walls,
      rows: last?.rows ?? 0,
      s3CostPerMillionUsd: (c.gets + c.heads) * S3_GET_PRICE_USD * 1e6,
      ...optional('chunksSkipped', last?.chunksSkipped),
      ...optional('error', error),
      requests: c.requests,
    });
  }
  const l = layout as FileLayout;
  const bytesNeeded = expectation(l, opts.spec).bytesNeeded;
  const readers = OBJECT_READERS.map((r) => ({ ...(results.get(r.id) as ReaderResult), bytesNeeded }));
  return { size: l.size, rowGroups: l.metadata.row_groups.length, columns: l.metadata.row_groups[0]?.columns.length ?? 0, bytesNeeded, readers };
}

function optional<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [key]: value }) as { [P in K]?: V };
}
