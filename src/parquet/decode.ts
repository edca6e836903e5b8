/**
 * Decoding through parquet-wasm into apache-arrow: plan → prefetch → parquet-wasm (in a worker thread
 * on Node, in the page elsewhere: src/parquet/decode-page.ts) reads from the buffer → `tableFromIPC`.
 * apache-arrow is loaded on first use and parquet-wasm only by the decoder, so hyparquet-only users
 * never load the wasm.
 */
import type { RecordBatch, Table } from 'apache-arrow';
import { ReaderError } from '../errors.js';
import { Deadline } from '../layers/timeouts.js';
import type { WorkerReadOptions } from './decode-worker.js';
import { onlyMatching, prepareRowFilter, withFilterFields, type FilterSource, type RowFilter } from './filtered-read.js';
import { pageDecoder } from './decode-page.js';
import { runtime, type DecodedIpc, type Decoder } from '../runtime.js';
import { unionRanges, type Span } from '../buffer-reader/coalesce.js';
import type { ResolvedRange } from '../types.js';
import type { PlanSelection, ReadPlan } from './planner.js';
import { cutAt, runsOf, type ShippedBytes } from './shipped.js';
import { isWholeRead } from './whole.js';

/**
 * What decoding needs of one version of an open file (a `BoundFile` is one, and so is a
 * `ParquetSource`): its plans, their prefetch and positional reads. Narrow on purpose: the decoders depend on this, not on the source.
 */
export interface DecodeSource {
  readonly backend: { readonly kind: string };
  readonly path: string;
  readonly size: number;
  readonly numRows: number;
  readonly rowGroups: readonly { readonly numRows: number }[];
  /** Bytes the open already holds (the tail window). */
  readonly held: ResolvedRange;
  /** Where the page index lives, if the file has one. */
  readonly pageIndex: ResolvedRange | undefined;
  /**
   * Bytes of the footer's Thrift metadata (the footer is these, its length and the magic, at the
   * end). Without it a partial decode ships the whole held window, as it did before this existed.
   */
  readonly metadataLength?: number;
  /**
   * Every column chunk's byte range, by row group, checked (a `BoundFile` reads a chunk's
   * ColumnMetaData when a plan first takes it, or here): read before a whole read that plans
   * nothing, so a corrupt chunk is its own typed error before the decoder meets it.
   */
  readonly columnChunks?: readonly (readonly ResolvedRange[])[];
  /**
   * Throws a typed error when a row group of `rowGroups` lists a chunk of `columns` (every leaf when
   * absent) away from its column's position in the schema: parquet-wasm reads chunks by position.
   * Run with every decode (alongside it, as `check` is).
   */
  checkChunkOrder?(rowGroups: readonly number[], columns?: readonly string[]): void;
  plan(selection: PlanSelection): ReadPlan;
  prefetch(plan: ReadPlan): Promise<unknown>;
  readAt(offset: number, length: number): Promise<Uint8Array>;
  readRanges(ranges: readonly ResolvedRange[]): Promise<Uint8Array[]>;
}

/** What a filtered decode needs too: the schema to convert values by, and the indexes it may load for free. */
export type DecodeFilterSource = DecodeSource & FilterSource;

/**
 * A decode that has not finished after this long is abandoned with a `Timeout` error. parquet-wasm
 * can wait forever on a failed read (it cannot take an error from its input), so every decode is
 * guarded; two minutes is far beyond a healthy read of a file this library is meant for.
 */
export const DEFAULT_DECODE_TIMEOUT_MS = 120_000;

export interface ReadTableOptions extends PlanSelection {
  signal?: AbortSignal;
  /** Give up (reject with `Timeout`) after this many ms. Default DEFAULT_DECODE_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Rows per record batch (parquet-wasm's default is 1024; with a filter, FILTERED_BATCH_ROWS). */
  batchSize?: number;
  /**
   * Hears where a decode's time went, once per decode: `readTable` calls it once, `readBatches`
   * once per row group. For profiling; the benchmark prints these as its stage breakdown.
   */
  onTimings?: (timings: DecodeTimings) => void;
}

/**
 * Where one decode's time went, in ms. The stages run one after the other, so they add up to
 * `totalMs` but for `otherMs` (planning, the filter's work).
 */
export interface DecodeTimings {
  /** Fetching the plan (0 when the bytes are buffered already: a prefetch, the open's tail window). */
  ioMs: number;
  /**
   * Getting the bytes to the decoder and its output back: collecting them from the buffer, the one
   * copy into transferable memory, the messages, a worker's wake-up (and its start when none was ready).
   */
  shipMs: number;
  /** parquet-wasm's read of the Parquet bytes. */
  decodeMs: number;
  /** parquet-wasm's Arrow IPC serialisation. */
  ipcMs: number;
  /** apache-arrow's `tableFromIPC` (and the column selection). */
  arrowMs: number;
  /** Everything else: planning, preparing and applying a filter. */
  otherMs: number;
  totalMs: number;
  /** Where the decode ran: a worker that was ready, one that had to start first, or the calling thread. */
  ranOn: DecodedIpc['ranOn'];
}

/**
 * The decode guard: a Deadline (src/layers/timeouts.ts) that stops when the input fails for good
 * (`fail`), the signal fires, or time runs out (`Timeout`, code `DECODER_TIMEOUT`).
 */
function decodeGuard(signal: AbortSignal | undefined, timeoutMs: number, context: { path: string; backend: string }): Deadline {
  const ctx = { ...context, op: 'decode' };
  return new Deadline(ctx, {
    ...(signal ? { signal } : {}),
    timeoutMs,
    timeoutError: (ms) => new ReaderError('Timeout', `decoding did not finish within ${ms} ms`, ctx, { code: 'DECODER_TIMEOUT' }),
  });
}

/** The Node entry's worker-thread pool, or parquet-wasm's web build in the calling thread. */
function decoder(): Decoder {
  return runtime.decoder?.() ?? pageDecoder;
}

/** Top-level field names for parquet-wasm's `columns` option (it selects by field name). */
function fieldNames(columns: readonly string[] | undefined): string[] | undefined {
  if (!columns) return undefined;
  return [...new Set(columns.map((c) => c.split('.')[0] as string))];
}

/**
 * The columns a parquet-wasm decode plans: the caller's (each still checked to exist) and every leaf
 * of their top-level fields. parquet-wasm selects by field and decodes all of a selected field's
 * leaves (`roll_num.min` brings the whole `roll_num` struct), so a plan of the named leaf alone left
 * the siblings to be fetched from inside the decode, a round trip later.
 */
function plannedColumns(columns: readonly string[] | undefined): string[] | undefined {
  return columns ? [...columns, ...(fieldNames(columns) as string[])] : undefined;
}

/**
 * What one decode reads: its row groups, the byte ranges to fetch first, and the requests that
 * fetch them (each lands as one buffer of the reader's: the pieces `shippable` reads as views).
 * `check`, when set, runs on the calling thread once the decode is under way (see heldWholeRead),
 * and so does the source's `checkChunkOrder` for its row groups and `columns` (every leaf when absent).
 */
type DecodeRead = Pick<ReadPlan, 'rowGroups' | 'ranges' | 'requests' | 'chunks'> & { check?: () => void; columns?: readonly string[] };

/**
 * A whole read of a file whose every byte the open holds (`expect: 'whole'` on a file within its
 * window, the seed-like files' case) needs no plan: every row group, nothing to fetch. The planner
 * would visit every column chunk to find that out: 0.3–0.45 ms for the seed files' 600–900 chunks
 * (measured on the shared machine), 4–6 % of their decode. The chunks are still checked, as the plan
 * this skips would have (`columnChunks`: each chunk's ColumnMetaData read, its range and path
 * checked, once per open; 0.3–0.4 ms on the seed files, measured with `npm run bench:decode`), but
 * while the decode runs on the worker: a bad chunk still fails the call with its own code
 * (CHUNK_OUT_OF_FILE, METADATA_CORRUPT) and the decode is cancelled; nothing is fetched for it (every
 * byte is held). Undefined otherwise.
 */
function heldWholeRead(source: DecodeSource, selection: PlanSelection): DecodeRead | undefined {
  const { held, size } = source;
  if (!isWholeRead(selection) || held.offset !== 0 || held.length !== size) return undefined;
  return { rowGroups: source.rowGroups.map((_, i) => i), ranges: [], requests: [], chunks: [], check: () => void source.columnChunks };
}

/** The footer's last 8 bytes: the 4-byte metadata length and the magic. */
const FOOTER_TRAILER = 8;

/**
 * Holes between two column chunks of a row group that a decode ships with them when the open's
 * window holds both: up to 64 KiB. parquet-wasm reads a row group's chunks as one slice across small
 * holes (alltypes_plain and other Impala and old Rust files leave 32–64 bytes between chunks; seen
 * not to across 6.6 KiB), and a slice outside what was shipped goes back to the main thread — a
 * round trip, and a GET when the budget has let the window go. Held bytes cost a copy to ship; a hole
 * this size costs well under a first-byte wait to fetch with its neighbours.
 */
export const SHIP_HOLE_MAX = 64 * 1024;

/**
 * What a decode needs of the bytes the open holds, as spans (sorted, disjoint). A read whose fetched
 * ranges and the held window make up the whole file (a whole read: every byte is needed) takes the
 * window whole, so the file ships as one run. Any other read takes only its own column chunks (with
 * the holes of at most SHIP_HOLE_MAX between chunks of one row group the window holds), the footer
 * (parquet-wasm reads it at its real offset from the end) and the page index: under a budget smaller
 * than the window, the window is not buffered any more, and shipping it whole would fetch it again
 * with every decode (readBatches: once per row group).
 */
function neededSpans(source: DecodeSource, read: DecodeRead): Span[] {
  const { held, size, metadataLength } = source;
  const pageIndex = source.pageIndex ? [source.pageIndex] : [];
  const withHeld = unionRanges([...read.ranges, held]);
  const only = withHeld[0];
  const whole = withHeld.length === 1 && only !== undefined && only.offset === 0 && only.length === size;
  if (whole || metadataLength === undefined) return unionRanges([...read.ranges, held, ...pageIndex]);
  const footerLength = metadataLength + FOOTER_TRAILER;
  const footer = { offset: size - footerLength, length: footerLength };
  return unionRanges([...read.ranges, ...chunkSpans(read.chunks, held), footer, ...pageIndex]);
}

/** The chunks' spans, each joined to the next chunk of its row group across a small hole the window holds. */
function chunkSpans(chunks: DecodeRead['chunks'], held: ResolvedRange): Span[] {
  const heldEnd = held.offset + held.length;
  const out: (Span & { rowGroup: number })[] = [];
  for (const c of [...chunks].filter((x) => x.length > 0).sort((a, b) => a.offset - b.offset)) {
    const last = out[out.length - 1];
    const lastEnd = last ? last.offset + last.length : 0;
    const hole = c.offset - lastEnd;
    if (last && last.rowGroup === c.rowGroup && hole >= 0 && hole <= SHIP_HOLE_MAX && lastEnd >= held.offset && c.offset <= heldEnd) {
      last.length = Math.max(lastEnd, c.offset + c.length) - last.offset;
    } else out.push({ offset: c.offset, length: c.length, rowGroup: c.rowGroup });
  }
  return out.map(({ offset, length }) => ({ offset, length }));
}

/**
 * The bytes to ship with a decode (`neededSpans`), read piece by piece inside the buffers that hold
 * them (the window, each request's) and packed once per contiguous run (src/parquet/shipped.ts). A
 * whole file read after a plain open (window + one wave) ships as one buffer copied once, not
 * assembled and then copied again to transfer.
 */
async function shippable(source: DecodeSource, read: DecodeRead): Promise<ShippedBytes[]> {
  const { held } = source;
  const pieces = cutAt(neededSpans(source, read), [held.offset, held.offset + held.length, ...read.requests.flatMap((r) => [r.offset, r.offset + r.length])]);
  const bytes = await source.readRanges(pieces);
  return runsOf(pieces.map((p, i) => ({ offset: p.offset, bytes: bytes[i] as Uint8Array })));
}

/** A decode's stage times, filled in as it goes (`finish` completes them). */
class StageClock {
  private readonly started = performance.now();
  readonly t: Omit<DecodeTimings, 'otherMs' | 'totalMs'> = { ioMs: 0, shipMs: 0, decodeMs: 0, ipcMs: 0, arrowMs: 0, ranOn: 'warm-worker' };

  /** Runs `fn`, adding its time to `stage`. */
  async time<T>(stage: 'ioMs' | 'shipMs' | 'arrowMs', fn: () => Promise<T> | T): Promise<T> {
    const t0 = performance.now();
    try {
      return await fn();
    } finally {
      this.t[stage] += performance.now() - t0;
    }
  }

  finish(): DecodeTimings {
    const totalMs = performance.now() - this.started;
    const t = this.t;
    return { ...t, otherMs: Math.max(0, totalMs - t.ioMs - t.shipMs - t.decodeMs - t.ipcMs - t.arrowMs), totalMs };
  }
}

let arrow: Promise<typeof import('apache-arrow')> | undefined;

/** apache-arrow, imported once: a dynamic import of a loaded module still costs ~1 ms a call (the loader's resolve). */
function apacheArrow(): Promise<typeof import('apache-arrow')> {
  arrow ??= import('apache-arrow');
  return arrow;
}

/** One parquet-wasm decode in a worker, tied to the guard (abort, timeout, failed input). */
async function decode(source: DecodeSource, guard: Deadline, plan: DecodeRead, options: WorkerReadOptions, clock: StageClock): Promise<Table> {
  const { tableFromIPC } = await apacheArrow();
  const shipped = await clock.time('shipMs', () => guard.race(shippable(source, plan)));
  const rows = source.rowGroups.reduce((n, g) => n + g.numRows, 0);
  const read = decoder().read({
    size: source.size,
    options,
    readAt: (o, l) => source.readAt(o, l),
    context: { backend: source.backend.kind, path: source.path },
    shipped,
    syncOk: rows === source.numRows,
  });
  guard.failed.catch((err: unknown) => read.cancel(err as ReaderError));
  try {
    plan.check?.();
    source.checkChunkOrder?.(plan.rowGroups, plan.columns);
  } catch (err) {
    read.cancel(err as ReaderError);
    read.promise.catch(() => undefined); // its rejection is this error's, already thrown
    throw err;
  }
  const out = await guard.race(read.promise);
  Object.assign(clock.t, { shipMs: clock.t.shipMs + out.shipMs, decodeMs: out.decodeMs, ipcMs: out.ipcMs, ranOn: out.ranOn });
  return clock.time('arrowMs', () => {
    const table = tableFromIPC(out.ipc);
    // The whole-object fast path decodes every column: keep the ones asked for.
    const names = options.columns;
    return names && table.schema.fields.length !== names.length ? table.select(names) : table;
  });
}

/**
 * Rows per record batch parquet-wasm decodes for a filtered read when the caller names no
 * `batchSize` (its own default is 1,024): the filter then keeps rows batch by batch, and each kept
 * batch costs Arrow objects per column whatever its rows. Measured (`bench:filter`'s file, 520,000
 * rows, `word = 'delta'` keeping 8 % scattered): `readTable({ filter })` 249 ms in 508 batches,
 * 162 ms in 8; the unfiltered read of the same row groups 176 ms. A row group is decoded whole
 * either way, so larger batches hold no more memory.
 */
export const FILTERED_BATCH_ROWS = 65_536;

function wasmOptions(opts: ReadTableOptions, rowGroups: number[]): WorkerReadOptions {
  const columns = fieldNames(opts.columns);
  const batchSize = opts.batchSize ?? (opts.filter ? FILTERED_BATCH_ROWS : undefined);
  return { rowGroups, ...(columns ? { columns } : {}), ...(batchSize ? { batchSize } : {}) };
}

/**
 * Reads a selection into one apache-arrow Table: plan, prefetch (one parallel wave), then parquet-wasm
 * decodes in a worker thread from the buffer. A corrupt file is a `ReaderError` (`InvalidData`), never
 * a crash or a hang.
 */
export async function readTable(source: DecodeFilterSource, opts: ReadTableOptions = {}): Promise<Table> {
  const clock = new StageClock();
  const filter = opts.filter ? await prepareRowFilter(source, opts.filter) : undefined;
  const columns = plannedColumns(withFilterFields(opts.columns, filter)); // the filter's columns are decoded to test rows
  // parquet-wasm reads whole column chunks and the page index; with every byte, its fast reader needs the magic too.
  const held = heldWholeRead(source, opts);
  const plan = held ? undefined : source.plan({ ...opts, ...(columns ? { columns } : {}), pages: false, pageIndex: true, leadingMagic: true });
  const read = held ?? (plan as ReadPlan);
  decoder().prewarm(); // the worker starts while the data arrives
  const guard = decodeGuard(opts.signal, opts.timeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS, { path: source.path, backend: source.backend.kind });
  try {
    // Nothing to fetch: no prefetch, whose promise chain costs ~0.1 ms before the bytes ship (measured).
    if (plan && plan.ranges.length > 0) await clock.time('ioMs', () => guard.race(source.prefetch(plan)));
    const table = await decode(source, guard, read, wasmOptions({ ...opts, ...(columns ? { columns } : {}) }, read.rowGroups), clock);
    const out = filter ? await onlyMatching(table, source.schema, filter, fieldNames(opts.columns), { backend: source.backend.kind, path: source.path }) : table;
    opts.onTimings?.(clock.finish());
    return out;
  } finally {
    guard.dispose();
  }
}

/**
 * What `readBatches` reads: the prepared row filter (if any), the columns it decodes (the caller's
 * plus the filter's) and the row groups left after pruning (statistics, page index, bloom filters
 * the open holds). Prepared once: `batchesOf` (whole.ts) plans its one wave from it and hands it on.
 */
export interface BatchSelection {
  filter: RowFilter | undefined;
  columns: string[] | undefined;
  rowGroups: number[];
}

export async function batchSelection(source: DecodeFilterSource, opts: ReadTableOptions): Promise<BatchSelection> {
  const filter = opts.filter ? await prepareRowFilter(source, opts.filter) : undefined;
  const columns = plannedColumns(withFilterFields(opts.columns, filter));
  const { rowGroups } = source.plan({ ...opts, ...(columns ? { columns } : {}), pages: false });
  return { filter, columns, rowGroups };
}

/**
 * Streams record batches row group by row group: each row group's chunks are prefetched just before
 * it is decoded, so memory holds about one row group at a time (the reader's budget evicts the rest).
 */
export async function* readBatches(source: DecodeFilterSource, opts: ReadTableOptions = {}, selection?: BatchSelection): AsyncGenerator<RecordBatch> {
  const { filter, columns, rowGroups } = selection ?? (await batchSelection(source, opts));
  for (const g of rowGroups) {
    const guard = decodeGuard(opts.signal, opts.timeoutMs ?? DEFAULT_DECODE_TIMEOUT_MS, { path: source.path, backend: source.backend.kind });
    const clock = new StageClock();
    let table: Table;
    try {
      const plan = source.plan({ ...(columns ? { columns } : {}), rowGroups: [g], pageIndex: true });
      await clock.time('ioMs', () => guard.race(source.prefetch(plan)));
      table = await decode(source, guard, plan, wasmOptions({ ...opts, ...(columns ? { columns } : {}) }, [g]), clock);
    } finally {
      guard.dispose();
    }
    if (filter) table = await onlyMatching(table, source.schema, filter, fieldNames(opts.columns), { backend: source.backend.kind, path: source.path });
    opts.onTimings?.(clock.finish());
    yield* table.batches;
  }
}
