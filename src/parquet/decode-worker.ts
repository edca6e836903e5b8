/**
 * parquet-wasm in a worker thread. On corrupt input parquet-wasm panics, and the panic escapes as an
 * uncaught `RuntimeError: unreachable` that would take the user's process down, while its read never
 * settles. In a worker, a panic only ends the worker: the read rejects with `InvalidData` and the next
 * read gets a fresh worker. The main thread ships the prefetched bytes with the job; any other range
 * the worker asks for is served from the source's buffer (so the request counts stay in one place).
 */
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { toArrayBuffer } from '../adapters/random-access.js';
import { ReaderError, isReaderError } from '../errors.js';

/** The worker's code (plain CommonJS, run with `eval: true`: no separate file to ship or resolve). */
const WORKER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const pw = require(workerData.parquetWasm);
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
parentPort.on('message', async (msg) => {
  if (msg.type === 'slice') {
    const resolve = pendingSlices.get(msg.id);
    pendingSlices.delete(msg.id);
    if (resolve) resolve(msg.buffer);
    return;
  }
  if (msg.type !== 'read') return;
  try {
    const chunks = msg.chunks.map((c) => ({ offset: c.offset, bytes: new Uint8Array(c.buffer) }));
    const whole = msg.syncOk && chunks.find((c) => c.offset === 0 && c.bytes.byteLength === msg.size);
    let table;
    if (whole) {
      // The whole object is here: the synchronous reader is several times faster than the async one.
      // (It ignores the columns option in parquet-wasm 0.8; the main thread selects them. It also trusts
      // the footer's num_rows, so the main thread allows it only where that agrees with the row groups.)
      table = pw.readParquet(whole.bytes, { rowGroups: msg.options.rowGroups, batchSize: msg.options.batchSize });
    } else {
      const file = await pw.ParquetFile.fromFile(blob(msg.job, chunks, 0, msg.size));
      table = await file.read(msg.options);
      file.free();
    }
    const ipc = table.intoIPCStream();
    const out = ipc.buffer.slice(ipc.byteOffset, ipc.byteOffset + ipc.byteLength);
    parentPort.postMessage({ type: 'done', job: msg.job, ipc: out }, [out]);
  } catch (err) {
    parentPort.postMessage({ type: 'error', job: msg.job, message: String(err && err.message || err) });
  }
});
`;

export interface WorkerReadOptions {
  rowGroups?: number[];
  columns?: string[];
  batchSize?: number;
}

export interface WorkerRead {
  promise: Promise<Uint8Array>;
  /** Fails the read now (abort, timeout); a decode still computing finishes in the background. */
  cancel(err: ReaderError): void;
}

/** Idle workers kept warm for the next read (starting one and compiling the wasm takes tens of ms). */
export const DECODER_IDLE_WORKERS = 2;

type Message = { type: string; job: number; id?: number; start?: number; end?: number; ipc?: ArrayBuffer; message?: string };

/**
 * Each read runs alone on its own worker, so a panic fails exactly the read that caused it. Healthy
 * workers go back to a small idle pool; crashed ones are gone.
 */
class DecoderPool {
  private readonly idle: Worker[] = [];
  private nextJob = 1;

  private spawn(): Worker {
    const parquetWasm = createRequire(import.meta.url).resolve('parquet-wasm');
    const worker = new Worker(WORKER_SOURCE, { eval: true, workerData: { parquetWasm } });
    // Always listened to (an 'error' event without a listener would throw in the main thread); an
    // idle worker that dies just leaves the pool.
    worker.on('error', () => this.drop(worker));
    worker.on('exit', () => this.drop(worker));
    return worker;
  }

  /** Starts a worker now if none is idle, so its start-up (tens of ms) overlaps the caller's I/O. */
  prewarm(): void {
    if (this.idle.length > 0) return;
    const worker = this.spawn();
    worker.unref();
    this.idle.push(worker);
  }

  private drop(worker: Worker): void {
    const i = this.idle.indexOf(worker);
    if (i >= 0) this.idle.splice(i, 1);
  }

  /** Decodes with parquet-wasm in a worker; resolves with the Arrow IPC stream bytes. */
  read(
    size: number,
    options: WorkerReadOptions,
    readAt: (offset: number, length: number) => Promise<Uint8Array>,
    context: { backend: string; path: string },
    shipped: readonly { offset: number; bytes: Uint8Array }[] = [],
    /** The synchronous whole-object reader gives the same rows as the async one (num_rows is consistent). */
    syncOk = false,
  ): WorkerRead {
    const worker = this.idle.pop() ?? this.spawn();
    worker.ref();
    const job = this.nextJob++;
    let settled = false;
    let resolveP!: (ipc: Uint8Array) => void;
    let rejectP!: (err: ReaderError) => void;
    const promise = new Promise<Uint8Array>((resolve, reject) => {
      resolveP = resolve;
      rejectP = reject;
    });
    const cleanup = (reusable: boolean) => {
      worker.off('message', onMessage);
      worker.off('error', onError);
      worker.off('exit', onExit);
      if (reusable && this.idle.length < DECODER_IDLE_WORKERS) {
        worker.unref(); // an idle decoder never keeps the process alive
        this.idle.push(worker);
      } else void worker.terminate();
    };
    const fail = (err: ReaderError, reusable: boolean) => {
      if (settled) return;
      settled = true;
      cleanup(reusable);
      rejectP(err);
    };
    const crashed = (why: string, cause?: unknown) =>
      fail(new ReaderError('InvalidData', `parquet-wasm crashed decoding the file (${why}); the file is probably corrupt`, { ...context, op: 'decode' }, { code: 'DECODER_PANIC', cause }), false);
    const onError = (err: Error) => crashed(String(err), err);
    const onExit = (code: number) => crashed(`worker exited with code ${code}`);
    const onMessage = (msg: Message) => {
      if (msg.job !== job || settled) return;
      if (msg.type === 'slice') {
        const { id, start = 0, end = 0 } = msg;
        readAt(start, end - start)
          .then((bytes) => {
            if (bytes.byteLength !== end - start) {
              throw new ReaderError('Unexpected', `short read: ${bytes.byteLength} of ${end - start} bytes at ${start}`, context, { code: 'SHORT_BODY' });
            }
            if (settled) return;
            // An exact copy: `bytes` may be a Node Buffer (from the HTTP body) whose `.slice()` is a view
            // and whose `.buffer` is a shared pool; transferring that would send the wrong bytes and
            // detach memory the reader still holds.
            const buffer = toArrayBuffer(bytes);
            worker.postMessage({ type: 'slice', id, buffer }, [buffer]);
          })
          .catch((err: unknown) => {
            // The decode now waits forever on this slice: fail the read and retire the worker.
            fail(isReaderError(err) ? err : new ReaderError('Unexpected', String(err), context, { code: 'INTERNAL', cause: err }), false);
          });
      } else if (msg.type === 'done') {
        settled = true;
        cleanup(true);
        resolveP(new Uint8Array(msg.ipc as ArrayBuffer));
      } else if (msg.type === 'error') {
        fail(new ReaderError('InvalidData', `parquet-wasm could not decode the file: ${msg.message}`, { ...context, op: 'decode' }, { code: 'DECODE_FAILED' }), false);
      }
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
    worker.on('exit', onExit);
    const chunks = shipped.map((c) => ({ offset: c.offset, buffer: toArrayBuffer(c.bytes) }));
    worker.postMessage({ type: 'read', job, size, options, chunks, syncOk }, chunks.map((c) => c.buffer));
    return { promise, cancel: (err) => fail(err, false) };
  }
}

let shared: DecoderPool | undefined;

/** The process-wide decoder pool. */
export function decoderPool(): DecoderPool {
  shared ??= new DecoderPool();
  return shared;
}
