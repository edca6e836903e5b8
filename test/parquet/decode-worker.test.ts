/**
 * The worker-thread decoder (src/parquet/decode-worker.ts): one warm worker reused across calls,
 * idle workers that end after their timeout and never keep the process alive, panics and aborts
 * that end only their worker, and shipped bytes that are copied (never detached) while the IPC
 * result comes back as a buffer of its own.
 */
import { spawn } from 'node:child_process';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { tableFromIPC } from 'apache-arrow';
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import type { DecodeTimings } from '../../src/parquet/decode.js';
import { DECODER_IDLE_TIMEOUT_MS, DECODER_IDLE_WORKERS, DECODER_MAX_WORKERS, DecoderPool, decoderPool } from '../../src/parquet/decode-worker.js';
import { openParquet } from '../../src/parquet/source.js';
import type { DecodeJob } from '../../src/runtime.js';
import { testParquet } from '../support/parquet-files.js';
import { testingFile } from '../support/parquet-testing.js';
import { watchUncaught } from '../support/uncaught.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const uncaught = watchUncaught();

const GOOD = testParquet({ rows: 5_000, rowGroupSize: 1_000 });
/**
 * alltypes_plain.parquet with bit 7 of byte 789 (column data) flipped: the footer parses, and
 * parquet-wasm's synchronous reader traps on the page (`RuntimeError: unreachable`, a Rust panic).
 */
function panicking(): Uint8Array {
  const bytes = testingFile('data/alltypes_plain.parquet').slice();
  bytes[789] = (bytes[789] as number) ^ 0x80;
  return bytes;
}

/** A whole-object job for the pool: every byte shipped, the synchronous reader allowed. */
function wholeJob(bytes: Uint8Array, readAt: DecodeJob['readAt'] = () => Promise.reject(new Error('no slice expected'))): DecodeJob {
  return { size: bytes.byteLength, options: {}, readAt, context: { backend: 'memory', path: 'f.parquet' }, shipped: [{ offset: 0, bytes }], syncOk: true };
}

async function until(cond: () => boolean, ms = 5_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached');
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function open(bytes: Uint8Array, path = 'f.parquet') {
  const backend = withMetrics(memoryBackend({ [path]: bytes }));
  return { backend, source: await openParquet(backend, path, { metadataCache: false }) };
}

describe('warm reuse', () => {
  it('successive readTable calls reuse one warm worker (the idle pool stays at one)', async () => {
    const { source } = await open(GOOD);
    const ranOn: string[] = [];
    for (let i = 0; i < 4; i++) {
      const table = await source.readTable({ onTimings: (t) => ranOn.push(t.ranOn) });
      expect(table.numRows).toBe(5_000);
      expect(decoderPool().idleCount).toBe(1);
    }
    // The first may have had to wait for its worker to start; every later one found it ready.
    expect(ranOn.slice(1)).toEqual(['warm-worker', 'warm-worker', 'warm-worker']);
    await source.close();
  });

  it('a plain decode error (not a panic) keeps the worker: the next read finds it warm', async () => {
    const bad = await open(testingFile('bad_data/ARROW-GH-45185.parquet'));
    const err = await bad.source.readTable().then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ kind: 'InvalidData', code: 'DECODE_FAILED' });
    expect(decoderPool().idleCount).toBe(1);
    const good = await open(GOOD);
    let t: DecodeTimings | undefined;
    await good.source.readTable({ onTimings: (x) => (t = x) });
    expect(t?.ranOn).toBe('warm-worker');
    await bad.source.close();
    await good.source.close();
  });

  it('concurrent reads each get a worker; at most DECODER_IDLE_WORKERS stay warm', async () => {
    const pool = new DecoderPool({ idleWorkers: 2 });
    const outs = await Promise.all([0, 1, 2, 3].map(() => pool.read(wholeJob(GOOD)).promise));
    expect(outs.map((o) => o.ipc.byteLength > 0)).toEqual([true, true, true, true]);
    expect(pool.idleCount).toBe(2);
  });
});

describe('at most maxWorkers decode at once; the others wait in order', () => {
  /** A job whose bytes all come through readAt (nothing shipped), logging when its decode asks first. */
  function sliced(n: number, started: number[], load?: () => void): DecodeJob {
    let first = true;
    return {
      ...wholeJob(GOOD),
      shipped: [],
      syncOk: false,
      readAt: async (offset, length) => {
        if (first) (first = false), started.push(n), load?.();
        return GOOD.subarray(offset, offset + length);
      },
    };
  }

  it('five reads on a pool of two: two run, three wait, each starts in the order it came, all decode', async () => {
    const pool = new DecoderPool({ maxWorkers: 2 });
    const started: number[] = [];
    const seen: { running: number; waiting: number }[] = [];
    const reads = [0, 1, 2, 3, 4].map((n) => pool.read(sliced(n, started, () => seen.push(pool.load))));
    expect(pool.load).toEqual({ running: 2, waiting: 3 });
    const outs = await Promise.all(reads.map((r) => r.promise));
    for (const out of outs) {
      const table = tableFromIPC(out.ipc);
      expect(table.numRows).toBe(5_000);
      expect(Array.from(table.getChild('id')?.toArray() ?? []).slice(0, 3)).toEqual([0, 1, 2]);
    }
    expect(Math.max(...seen.map((l) => l.running))).toBeLessThanOrEqual(2);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    // With one worker, each read can only start after the one before it ended: the order is the line's.
    const one = new DecoderPool({ maxWorkers: 1 });
    const order: number[] = [];
    await Promise.all([0, 1, 2, 3].map((n) => one.read(sliced(n, order)).promise));
    expect(order).toEqual([0, 1, 2, 3]);
  });

  it('cancel while waiting rejects at once and leaves the line; cancel of the running read lets the next one run', async () => {
    const pool = new DecoderPool({ maxWorkers: 1 });
    let asked!: () => void;
    const stuck = new Promise<void>((r) => (asked = r));
    const blocked = pool.read({ ...wholeJob(GOOD), shipped: [], syncOk: false, readAt: () => (asked(), new Promise<Uint8Array>(() => {})) });
    const waiting = pool.read(wholeJob(GOOD));
    const third = pool.read(wholeJob(GOOD));
    expect(pool.load).toEqual({ running: 1, waiting: 2 });
    const gone = new ReaderError('Aborted', 'the caller aborted', {}, { code: 'ABORTED' });
    waiting.cancel(gone);
    await expect(waiting.promise).rejects.toBe(gone);
    expect(pool.load).toEqual({ running: 1, waiting: 1 });
    await stuck;
    blocked.cancel(new Error('stop'));
    await expect(blocked.promise).rejects.toMatchObject({ kind: 'Aborted', code: 'ABORTED' });
    expect((await third.promise).ipc.byteLength).toBeGreaterThan(0);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    waiting.cancel(gone); // a second cancel, or one after the end, changes nothing
    third.cancel(gone);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a panic in a running read hands its slot to the next waiting read', async () => {
    const pool = new DecoderPool({ maxWorkers: 1 });
    const bad = pool.read(wholeJob(panicking()));
    const good = pool.read(wholeJob(GOOD));
    await expect(bad.promise).rejects.toMatchObject({ code: 'DECODER_PANIC' });
    expect((await good.promise).ipc.byteLength).toBeGreaterThan(0);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
  });

  it('a job that cannot be handed to a worker fails alone (DECODER_START_FAILED) and gives its slot to the next read', async () => {
    const pool = new DecoderPool({ maxWorkers: 1 });
    // A function cannot be cloned to a worker (DataCloneError from postMessage).
    const bad = pool.read({ ...wholeJob(GOOD), options: { columns: [(() => 'id') as unknown as string] } });
    const good = pool.read(wholeJob(GOOD));
    await expect(bad.promise).rejects.toMatchObject({ kind: 'Unavailable', code: 'DECODER_START_FAILED', retryable: true });
    expect((await good.promise).ipc.byteLength).toBeGreaterThan(0);
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
    bad.cancel(new Error('late')); // after the end: changes nothing, takes no other read out of the line
    expect(pool.load).toEqual({ running: 0, waiting: 0 });
  });

  it('the default cap is one worker per core, and never fewer than the idle workers kept warm', () => {
    expect(DECODER_MAX_WORKERS).toBe(Math.max(DECODER_IDLE_WORKERS, availableParallelism()));
  });
});

describe('idle workers', () => {
  it('end after the idle timeout', async () => {
    const pool = new DecoderPool({ idleTimeoutMs: 50 });
    const first = await pool.read(wholeJob(GOOD)).promise;
    expect(first.ranOn).toBe('cold-worker');
    expect(pool.idleCount).toBe(1);
    await until(() => pool.idleCount === 0);
    // The next read starts a new one.
    expect((await pool.read(wholeJob(GOOD)).promise).ranOn).toBe('cold-worker');
  });

  it('do not keep the process alive: a script that read a table exits at once, long before the idle timeout', async () => {
    const script = `
      import './src/runtime-node.ts';
      import { memoryBackend } from './src/backends/memory/backend.ts';
      import { openParquet } from './src/parquet/source.ts';
      import { testParquet } from './test/support/parquet-files.ts';
      const source = await openParquet(memoryBackend({ 'f.parquet': testParquet({ rows: 100 }) }), 'f.parquet');
      const table = await source.readTable();
      await source.close();
      console.log('rows', table.numRows);
    `;
    const started = Date.now();
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let errText = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    // Killed only if it is still alive well past what a script needs, and before the idle timeout would end the worker.
    const killer = setTimeout(() => child.kill('SIGKILL'), DECODER_IDLE_TIMEOUT_MS - 5_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.on('exit', (c, s) => resolve([c, s])));
    clearTimeout(killer);
    expect({ code, signal, out: out.trim(), errText }).toEqual({ code: 0, signal: null, out: 'rows 100', errText: '' });
    expect(Date.now() - started).toBeLessThan(DECODER_IDLE_TIMEOUT_MS - 5_000);
  }, DECODER_IDLE_TIMEOUT_MS + 10_000);
});

describe('panics and aborts end only their worker', () => {
  it('a parquet-wasm panic is InvalidData (DECODER_PANIC), nothing escapes, and the next read works', async () => {
    const { source } = await open(panicking());
    const err = await source.readTable().then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ReaderError);
    expect(err).toMatchObject({ kind: 'InvalidData', code: 'DECODER_PANIC', context: { op: 'decode', path: 'f.parquet', backend: 'memory' } });
    expect((err as ReaderError).message).toMatch(/unreachable/);
    await source.close();
    const good = await open(GOOD);
    expect((await good.source.readTable()).numRows).toBe(5_000);
    await good.source.close();
    expect(uncaught).toEqual([]);
  });

  it('the pool retires a panicked worker', async () => {
    const pool = new DecoderPool();
    const err = await pool.read(wholeJob(panicking())).promise.then(() => undefined, (e: unknown) => e);
    expect(err).toMatchObject({ code: 'DECODER_PANIC' });
    expect(pool.idleCount).toBe(0);
  });

  it('cancel during a decode rejects with the given error at once and ends that worker', async () => {
    const pool = new DecoderPool();
    pool.prewarm();
    expect(pool.idleCount).toBe(1);
    let asked!: () => void;
    const slices = new Promise<void>((r) => (asked = r));
    // Nothing shipped: the worker's decoder asks for slices, and they never come.
    const job: DecodeJob = { ...wholeJob(GOOD), shipped: [], syncOk: false, readAt: () => (asked(), new Promise<Uint8Array>(() => {})) };
    const read = pool.read(job);
    expect(pool.idleCount).toBe(0);
    await slices; // the decode is under way, waiting on its input
    const abort = new ReaderError('Aborted', 'the caller aborted', {}, { code: 'ABORTED' });
    read.cancel(abort);
    await expect(read.promise).rejects.toBe(abort);
    expect(pool.idleCount).toBe(0);
    // A fresh worker serves the next read.
    expect((await pool.read(wholeJob(GOOD)).promise).ipc.byteLength).toBeGreaterThan(0);
  });
});

describe('transfers', () => {
  it("the shipped bytes are not detached, and the IPC bytes come back as a buffer of their own", async () => {
    const pool = new DecoderPool();
    const bytes = GOOD.slice();
    const out = await pool.read(wholeJob(bytes)).promise;
    expect(bytes.byteLength).toBe(GOOD.byteLength);
    expect(bytes).toEqual(GOOD);
    expect(out.ipc.byteOffset).toBe(0);
    expect(out.ipc.byteLength).toBe(out.ipc.buffer.byteLength);
  });

  it('an owned shipped buffer is transferred as it is (detached after the post), and decodes the same', async () => {
    const pool = new DecoderPool();
    const bytes = GOOD.slice();
    const read = pool.read({ ...wholeJob(bytes), shipped: [{ offset: 0, bytes, owned: true }] });
    expect(bytes.byteLength).toBe(0); // moved, not copied
    const out = await read.promise;
    const copied = await pool.read(wholeJob(GOOD)).promise;
    expect(out.ipc).toEqual(copied.ipc);
  });

  it("readTable leaves the reader's buffers intact: the bytes read back unchanged, a second readTable costs no request", async () => {
    const { backend, source } = await open(GOOD);
    const first = await source.readTable();
    const gets = backend.metrics.snapshot().gets;
    expect(await source.readAt(0, GOOD.byteLength)).toEqual(GOOD);
    const second = await source.readTable();
    expect(backend.metrics.snapshot().gets).toBe(gets);
    expect(second.getChild('id')?.toArray()).toEqual(first.getChild('id')?.toArray());
    await source.close();
  });
});
