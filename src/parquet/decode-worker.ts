/**
 * parquet-wasm in a worker thread. On corrupt input parquet-wasm panics, and the panic escapes as an
 * uncaught `RuntimeError: unreachable` that would take the user's process down, while its read never
 * settles. In a worker, a panic only ends the worker: the read rejects with `InvalidData`
 * (`DECODER_PANIC`) and the next read gets a fresh worker. The main thread ships the prefetched bytes
 * with the job; any other range the worker asks for is served from the source's buffer (so the
 * request counts stay in one place).
 *
 * Without detours (measured in bench/decode.ts):
 * - one warm worker per concurrent read, kept across calls (DECODER_IDLE_WORKERS, ended after
 *   DECODER_IDLE_TIMEOUT_MS idle; unref'd while idle, so it never keeps the process alive);
 * - the shipped bytes are copied once into fresh buffers that are transferred (the reader's own
 *   buffers stay intact for later reads: ~0.2 ms per MB) — by readTable when it packs several
 *   pieces into one (`owned`, transferred as is), else here; the worker hands them to parquet-wasm;
 * - the worker serialises to Arrow IPC once (`intoIPCStream`, which returns a buffer of its own)
 *   and transfers that buffer back: the main thread's `tableFromIPC` reads it without a copy.
 */
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { toArrayBuffer } from '../adapters/random-access.js';
import { ReaderError, isReaderError } from '../errors.js';
import type { DecodeJob, DecodedIpc, Decoder } from '../runtime.js';
import type { ShippedBytes } from './shipped.js';

/** The worker's code (plain CommonJS, run with `eval: true`: no separate file to ship or resolve). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { performance } = require('node:perf_hooks');
const { readFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
let pw;
const pendingSlices = new Map();
let nextSlice = 1;
// Bytes the main thread shipped with the job: slices inside them never cross threads.
function local(chunks, start, end) {
  for (const c of chunks) {
    if (c.offset <= start && end <= c.offset + c.bytes.byteLength) {
      return c.bytes.buffer.slice(c.bytes.byteOffset + start - c.offset, c.bytes.byteOffset + end - c.offset);
    }
  }
  return undefined;
}
function blob(job, chunks, start, end) {
  return {
    size: end - start,
    type: '',
    slice(a, b) {
      const n = end - start;
      const rel = (v, d) => (v === undefined ? d : v < 0 ? Math.max(n + v, 0) : Math.min(v, n));
      const lo = rel(a, 0);
      const hi = Math.max(lo, rel(b, n));
      return blob(job, chunks, start + lo, start + hi);
    },
    arrayBuffer() {
      if (end <= start) return Promise.resolve(new ArrayBuffer(0));
      const here = local(chunks, start, end);
      if (here) return Promise.resolve(here);
      const id = nextSlice++;
      // A failed slice never settles: rejecting would panic the decoder. The main thread fails the job.
      return new Promise((resolve) => {
        pendingSlices.set(id, resolve);
        parentPort.postMessage({ type: 'slice', job, id, start, end });
      });
    },
  };
}
const now = () => performance.timeOrigin + performance.now();
async function onMessage(msg) {
  if (msg.type === 'slice') {
    const resolve = pendingSlices.get(msg.id);
    pendingSlices.delete(msg.id);
    if (resolve) resolve(msg.buffer);
    return;
  }
  if (msg.type !== 'read') return;
  const received = now();
  let sync = false;
  try {
    const chunks = msg.chunks.map((c) => ({ offset: c.offset, bytes: new Uint8Array(c.buffer) }));
    const whole = msg.syncOk && chunks.find((c) => c.offset === 0 && c.bytes.byteLength === msg.size);
    let table;
    if (whole) {
      sync = true;
      // The whole object is here: the synchronous reader is several times faster than the async one.
      // (It ignores the columns option in parquet-wasm 0.8; the main thread selects them. It also trusts
      // the footer's num_rows, so the main thread allows it only where that agrees with the row groups.)
      table = pw.readParquet(whole.bytes, { rowGroups: msg.options.rowGroups, batchSize: msg.options.batchSize });
    } else {
      const file = await pw.ParquetFile.fromFile(blob(msg.job, chunks, 0, msg.size));
      table = await file.read(msg.options);
      file.free();
    }
    const decoded = now();
    // intoIPCStream copies out of wasm memory into a fresh buffer of exactly its length: transferred as is.
    const ipc = table.intoIPCStream();
    const out = ipc.byteOffset === 0 && ipc.byteLength === ipc.buffer.byteLength ? ipc.buffer : ipc.slice().buffer;
    const sent = now();
    parentPort.postMessage({ type: 'done', job: msg.job, ipc: out, times: { received, decodeMs: decoded - received, ipcMs: sent - decoded, sent } }, [out]);
  } catch (err) {
    // A trap (RuntimeError: unreachable, a Rust panic) leaves the wasm instance in an unknown state: this
    // worker must end. A plain error from the synchronous reader (Rust's Result) leaves it sound; one
    // from the async reader may leave its futures waiting on slices, so that worker ends too.
    const panic = err instanceof WebAssembly.RuntimeError;
    parentPort.postMessage({ type: 'error', job: msg.job, panic, reusable: sync && !panic, message: String(err && err.message || err) });
  }
}
(async () => {
  pw = await import(pathToFileURL(workerData.parquetWasm).href);
  // The process's one compiled module when the main thread holds it (no compile here, and code V8
  // has already optimised); the first worker compiles it and hands it over.
  const module = workerData.module || new WebAssembly.Module(readFileSync(workerData.wasmPath));
  pw.initSync({ module });
  parentPort.on('message', onMessage);
  parentPort.postMessage({ type: 'ready', module: workerData.module ? undefined : module });
})();
`;

export type WorkerReadOptions = DecodeJob['options'];

/**
 * Idle workers kept warm for the next read: starting one and compiling the wasm takes 50–150 ms here,
 * ten times a warm decode of a 1 MB file. Two: a caller reading files two at a time stays warm.
 */
export const DECODER_IDLE_WORKERS = 2;

/**
 * An idle worker ends after this long without a job. parquet-wasm's memory only grows (a wasm heap
 * never shrinks), so a worker that decoded a big file holds that much until it ends; 30 s keeps it
 * warm across the reads of one task (a loop over files, a UI's successive queries) and gives the
 * memory back after. Idle workers never keep the process alive (unref), so a script ends at once.
 */
export const DECODER_IDLE_TIMEOUT_MS = 30_000;

type Message = { type: string; module?: WebAssembly.Module; job?: number; id?: number; start?: number; end?: number; ipc?: ArrayBuffer; message?: string; times?: WorkerTimes; panic?: boolean; reusable?: boolean };
/** Stamps taken in the worker (`received`, `sent`: ms since the epoch, as `performance.timeOrigin + now()`). */
interface WorkerTimes {
  received: number;
  decodeMs: number;
  ipcMs: number;
  sent: number;
}

/**
 * parquet-wasm compiled once for the process (by the first worker, kept here, handed to every later
 * one). A new worker then starts without compiling (50–150 ms here), and runs code V8 has already
 * optimised: wasm starts on baseline code and is re-compiled optimised only once it runs hot, which
 * for parquet-wasm takes ~10 decodes at 2–10× the warm time each. The compiled code is shared by
 * every worker, so this holds no second copy; it stays when idle workers end (their memory goes).
 */
let compiledWasm: WebAssembly.Module | undefined;

/** ms since the epoch, sub-ms: comparable across threads (each thread's `performance.now()` has its own origin). */
const epochNow = (): number => performance.timeOrigin + performance.now();

/**
 * The process's Node flags for a worker, but `--input-type`: an eval'd worker inherits it, and under
 * `node --input-type=module -e …` its CommonJS source would be run as an ES module (and fail).
 */
function workerExecArgv(): string[] {
  const out: string[] = [];
  const args = process.execArgv;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--input-type') i++; // `--input-type module`: skip its value too
    else if (!a.startsWith('--input-type=')) out.push(a);
  }
  return out;
}

/** A worker and what the pool knows of it. */
interface Pooled {
  worker: Worker;
  /** It has loaded parquet-wasm (its 'ready' message came). */
  ready: boolean;
  idleTimer?: NodeJS.Timeout;
}

/**
 * Most workers decoding at once: one per core (at least DECODER_IDLE_WORKERS). A decode is CPU-bound
 * and each worker holds a wasm heap as large as the biggest file it decoded, so more workers than
 * cores only add memory (100 concurrent reads were 100 workers and 100 heaps): later reads wait, in
 * the order they came, for a worker to come free.
 */
export const DECODER_MAX_WORKERS = Math.max(DECODER_IDLE_WORKERS, availableParallelism());

/** A read handed to the pool: waiting for a worker, then running on one. */
interface Pending {
  job: DecodeJob;
  resolve: (out: DecodedIpc) => void;
  reject: (err: ReaderError) => void;
  settled: boolean;
  /** Set once it runs: fails it and ends its worker. */
  stop?: (err: ReaderError) => void;
}

/**
 * Each read runs alone on its own worker, so a panic fails exactly the read that caused it. At most
 * `maxWorkers` (DECODER_MAX_WORKERS) run at once; later reads wait in order. Healthy workers go back
 * to a small idle pool (unref'd, ended after DECODER_IDLE_TIMEOUT_MS); crashed, aborted and
 * timed-out ones are terminated.
 */
export class DecoderPool implements Decoder {
  private readonly idle: Pooled[] = [];
  private readonly waiting: Pending[] = [];
  private busy = 0;
  private nextJob = 1;

  constructor(private readonly limits: { idleWorkers?: number; idleTimeoutMs?: number; maxWorkers?: number } = {}) {}

  /** Workers idle now (for tests and diagnostics). */
  get idleCount(): number {
    return this.idle.length;
  }

  /** Reads decoding now, and reads waiting for a worker (for tests and diagnostics). */
  get load(): { running: number; waiting: number } {
    return { running: this.busy, waiting: this.waiting.length };
  }

  private get maxWorkers(): number {
    return Math.max(1, this.limits.maxWorkers ?? DECODER_MAX_WORKERS);
  }

  private spawn(): Pooled {
    const require = createRequire(import.meta.url);
    const workerData = {
      parquetWasm: require.resolve('parquet-wasm/esm'),
      wasmPath: require.resolve('parquet-wasm/esm/parquet_wasm_bg.wasm'),
      ...(compiledWasm ? { module: compiledWasm } : {}),
    };
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData, execArgv: workerExecArgv() });
    const pooled: Pooled = { worker, ready: false };
    worker.on('message', (msg: Message) => {
      if (msg.type !== 'ready') return;
      pooled.ready = true;
      compiledWasm ??= msg.module;
    });
    // Always listened to (an 'error' event without a listener would throw in the main thread); an
    // idle worker that dies just leaves the pool.
    worker.on('error', () => this.drop(pooled));
    worker.on('exit', () => this.drop(pooled));
    return pooled;
  }

  /** Starts a worker now if none is idle, so its start-up (tens of ms) overlaps the caller's I/O. */
  prewarm(): void {
    if (this.idle.length === 0 && this.busy < this.maxWorkers) this.park(this.spawn());
  }

  /** Puts a worker in the idle pool (or ends it when the pool is full), unref'd, with its idle timer. */
  private park(pooled: Pooled): void {
    if (this.idle.length >= (this.limits.idleWorkers ?? DECODER_IDLE_WORKERS)) {
      void pooled.worker.terminate();
      return;
    }
    pooled.worker.unref(); // an idle decoder never keeps the process alive
    pooled.idleTimer = setTimeout(() => {
      this.drop(pooled);
      void pooled.worker.terminate();
    }, this.limits.idleTimeoutMs ?? DECODER_IDLE_TIMEOUT_MS);
    pooled.idleTimer.unref();
    this.idle.push(pooled);
  }

  private drop(pooled: Pooled): void {
    clearTimeout(pooled.idleTimer);
    const i = this.idle.indexOf(pooled);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** The most recently parked worker (the warmest), or a new one. */
  private take(): Pooled {
    const pooled = this.idle.pop();
    if (!pooled) return this.spawn();
    clearTimeout(pooled.idleTimer);
    return pooled;
  }

  /**
   * Decodes with parquet-wasm in a worker; resolves with the Arrow IPC stream bytes (transferred
   * back, not copied) and the stage times. The shipped bytes are copied once into buffers that are
   * transferred: the caller's (the reader's buffered blocks, which later reads still use) are never
   * detached — but those marked `owned`, packed for this job, which are transferred as they are.
   * When `maxWorkers` reads are running, the read waits for one of them to end; `cancel` while it
   * waits takes it out of the line.
   */
  read(job: DecodeJob): WorkerRead {
    let pending!: Pending;
    const promise = new Promise<DecodedIpc>((resolve, reject) => {
      pending = { job, resolve, reject, settled: false };
    });
    if (this.busy < this.maxWorkers) this.run(pending);
    else this.waiting.push(pending);
    const cancel = (err: Error) => {
      const reason = isReaderError(err) ? err : new ReaderError('Aborted', String(err), job.context, { code: 'ABORTED', cause: err });
      if (pending.stop) return pending.stop(reason);
      if (pending.settled) return;
      pending.settled = true;
      const at = this.waiting.indexOf(pending);
      if (at >= 0) this.waiting.splice(at, 1);
      pending.reject(reason);
    };
    return { promise, cancel };
  }

  /** A worker came free (or a waiting read was cancelled while running): the next waiting read runs. */
  private next(): void {
    while (this.busy < this.maxWorkers && this.waiting.length > 0) this.run(this.waiting.shift() as Pending);
  }

  /** Runs a read on a worker (the pool's slot for it is taken here and given back when it settles). */
  private run(pending: Pending): void {
    const { size, options, readAt, context, shipped = [], syncOk = false } = pending.job;
    this.busy++;
    const started = epochNow();
    let pooled: Pooled;
    try {
      pooled = this.take();
    } catch (err) {
      // No worker could start (out of threads or memory): this read fails, the others go on.
      this.busy--;
      pending.settled = true;
      pending.reject(new ReaderError('Unavailable', `could not start a decoder worker: ${String(err)}`, { ...context, op: 'decode' }, { code: 'DECODER_START_FAILED', cause: err }));
      this.next();
      return;
    }
    const { worker } = pooled;
    const ranOn = pooled.ready ? 'warm-worker' : 'cold-worker';
    worker.ref();
    const id = this.nextJob++;
    const cleanup = (reusable: boolean) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      this.busy--;
      if (reusable) this.park(pooled);
      else void worker.terminate();
      this.next();
    };
    const fail = (err: ReaderError, reusable: boolean) => {
      if (pending.settled) return;
      pending.settled = true;
      cleanup(reusable);
      pending.reject(err);
    };
    pending.stop = (err) => fail(err, false);
    const unavailable = (why: string, cause?: unknown) =>
      fail(new ReaderError('Unavailable', `could not ${why}`, { ...context, op: 'decode' }, { code: 'DECODER_START_FAILED', cause }), false);
    // A worker that dies before it is ready (parquet-wasm failed to load, out of memory) never saw the file.
    const crashed = (why: string, cause?: unknown) =>
      pooled.ready
        ? fail(new ReaderError('InvalidData', `parquet-wasm crashed decoding the file (${why}); the file is probably corrupt`, { ...context, op: 'decode' }, { code: 'DECODER_PANIC', cause }), false)
        : unavailable(`start a decoder worker (${why})`, cause);
    const onError = (err: Error) => crashed(String(err), err);
    const onExit = (code: number) => crashed(`worker exited with code ${code}`);
    const onMessage = (msg: Message) => {
      if (msg.job !== id || pending.settled) return;
      if (msg.type === 'slice') {
        const { id: slice, start = 0, end = 0 } = msg;
        readAt(start, end - start)
          .then((bytes) => {
            if (bytes.byteLength !== end - start) {
              throw new ReaderError('Unexpected', `short read: ${bytes.byteLength} of ${end - start} bytes at ${start}`, context, { code: 'SHORT_BODY' });
            }
            if (pending.settled) return;
            // An exact copy: `bytes` may be a Node Buffer (from the HTTP body) whose `.slice()` is a view
            // and whose `.buffer` is a shared pool; transferring that would send the wrong bytes and
            // detach memory the reader still holds.
            const buffer = toArrayBuffer(bytes);
            worker.postMessage({ type: 'slice', id: slice, buffer }, [buffer]);
          })
          .catch((err: unknown) => {
            // The decode now waits forever on this slice: fail the read and retire the worker.
            fail(isReaderError(err) ? err : new ReaderError('Unexpected', String(err), context, { code: 'INTERNAL', cause: err }), false);
          });
      } else if (msg.type === 'done') {
        const got = epochNow();
        const t = msg.times as WorkerTimes;
        pending.settled = true;
        // Settled before the slot goes to the next read, whatever starting that one does.
        pending.resolve({ ipc: new Uint8Array(msg.ipc as ArrayBuffer), shipMs: t.received - started + (got - t.sent), decodeMs: t.decodeMs, ipcMs: t.ipcMs, ranOn });
        cleanup(true);
      } else if (msg.type === 'error') {
        if (msg.panic) crashed(`panic: ${msg.message}`);
        else fail(new ReaderError('InvalidData', `parquet-wasm could not decode the file: ${msg.message}`, { ...context, op: 'decode' }, { code: 'DECODE_FAILED' }), msg.reusable === true);
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    // The one copy on the way in (see above), or none for a buffer the caller packed for it (owned);
    // parquet-wasm then copies into its own memory, as it does in-process.
    try {
      const chunks = shipped.map((c) => ({ offset: c.offset, buffer: transferable(c) }));
      worker.postMessage({ type: 'read', job: id, size, options, chunks, syncOk }, chunks.map((c) => c.buffer));
    } catch (err) {
      // The copy could not be allocated, or the job could not be cloned: this read fails, its slot goes on.
      unavailable(`hand the job to a decoder worker: ${String(err)}`, err);
    }
  }
}

/** The buffer to transfer for shipped bytes: an owned buffer of exactly them as it is, else a copy (never a reader's buffer). */
function transferable(c: ShippedBytes): ArrayBuffer {
  const { bytes } = c;
  const exact = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer;
  return c.owned && exact ? (bytes.buffer as ArrayBuffer) : toArrayBuffer(bytes);
}

export interface WorkerRead {
  promise: Promise<DecodedIpc>;
  /** Fails the read now (abort, timeout) and ends its worker (a decode cannot be interrupted otherwise). */
  cancel(err: Error): void;
}

let shared: DecoderPool | undefined;

/** The process-wide decoder pool. */
export function decoderPool(): DecoderPool {
  shared ??= new DecoderPool();
  return shared;
}
