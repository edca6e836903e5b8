/**
 * readTable's decode path (src/parquet/decode.ts): the guard (a Deadline from src/layers/timeouts.ts,
 * so a read whose input never arrives ends with DECODER_TIMEOUT, or ABORTED for the caller's signal,
 * never a hang), the stage timings, and the whole read of a file the open holds, which plans nothing.
 */
import { describe, expect, it, vi } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { BoundFile } from '../../src/parquet/bound-file.js';
import { openParquet } from '../../src/parquet/source.js';
import { runtime, type DecodeJob, type Decoder } from '../../src/runtime.js';
import type { Backend } from '../../src/types.js';
import type { DecodeTimings } from '../../src/parquet/decode.js';
import { testParquet } from '../support/parquet-files.js';
import { testingFile } from '../support/parquet-testing.js';

const file = testingFile('data/alltypes_plain.parquet');
const footer = new DataView(file.buffer, file.byteOffset).getUint32(file.byteLength - 8, true) + 8;

/** The footer reads answer; every data read waits forever (until its signal fires). */
function stuckData(): Backend {
  const inner = memoryBackend({ 'f.parquet': file });
  return {
    kind: 'stuck',
    capabilities: inner.capabilities,
    stat: (p, o) => inner.stat(p, o),
    read: (p, range, opts) =>
      'suffix' in range
        ? inner.read(p, range, opts)
        : new Promise((_, reject) => opts?.signal?.addEventListener('abort', () => reject(new ReaderError('Aborted', 'aborted', {}, { code: 'ABORTED' })), { once: true })),
  };
}

const failure = (p: Promise<unknown>) => p.then(() => new Error('expected a failure'), (e: unknown) => e as ReaderError);

describe('the decode guard', () => {
  it('readTable and readBatches end with DECODER_TIMEOUT after timeoutMs when the data never comes', async () => {
    const source = await openParquet(stuckData(), 'f.parquet', { metadataCache: false, footerSizeHint: footer });
    const table = await failure(source.readTable({ timeoutMs: 100 }));
    expect(table).toMatchObject({ kind: 'Timeout', code: 'DECODER_TIMEOUT', retryable: true, context: { op: 'decode', path: 'f.parquet', backend: 'stuck' } });
    const batches = await failure((async () => {
      for await (const _ of source.readBatches({ timeoutMs: 100 })) break;
    })());
    expect(batches).toMatchObject({ kind: 'Timeout', code: 'DECODER_TIMEOUT' });
    await source.close();
  });

  it("the caller's signal ends it with ABORTED first", async () => {
    const source = await openParquet(stuckData(), 'f.parquet', { metadataCache: false, footerSizeHint: footer });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 20);
    const err = await failure(source.readTable({ signal: ac.signal, timeoutMs: 10_000 }));
    expect(err).toMatchObject({ kind: 'Aborted', code: 'ABORTED', name: 'AbortError' });
    await source.close();
  });
});

describe('onTimings: where a decode\'s time went', () => {
  const bytes = testParquet({ rows: 3_000, rowGroupSize: 1_000 });
  const stages = ['ioMs', 'shipMs', 'decodeMs', 'ipcMs', 'arrowMs', 'otherMs'] as const;

  it('readTable reports once: every stage ≥ 0, and they add up to the total', async () => {
    const source = await openParquet(memoryBackend({ 'f.parquet': bytes }), 'f.parquet', { metadataCache: false });
    const seen: DecodeTimings[] = [];
    const table = await source.readTable({ onTimings: (t) => seen.push(t) });
    expect(table.numRows).toBe(3_000);
    expect(seen).toHaveLength(1);
    const t = seen[0] as DecodeTimings;
    for (const k of stages) expect(t[k]).toBeGreaterThanOrEqual(0);
    expect(t.decodeMs).toBeGreaterThan(0);
    expect(stages.reduce((n, k) => n + t[k], 0)).toBeCloseTo(t.totalMs, 6);
    expect(['warm-worker', 'cold-worker']).toContain(t.ranOn);
    await source.close();
  });

  it('readBatches reports once per row group', async () => {
    const source = await openParquet(memoryBackend({ 'f.parquet': bytes }), 'f.parquet', { metadataCache: false });
    const seen: DecodeTimings[] = [];
    let rows = 0;
    for await (const batch of source.readBatches({ onTimings: (t) => seen.push(t) })) rows += batch.numRows;
    expect(rows).toBe(3_000);
    expect(seen).toHaveLength(3);
    await source.close();
  });
});

describe('a whole read of a file the open holds', () => {
  const bytes = testParquet({ rows: 3_000, rowGroupSize: 1_000 });

  it('plans nothing and fetches nothing: the rows of every row group, from the open\'s one GET', async () => {
    const backend = withMetrics(memoryBackend({ 'f.parquet': bytes }));
    const source = await openParquet(backend, 'f.parquet', { metadataCache: false, expect: 'whole' });
    expect(source.held).toEqual({ offset: 0, length: bytes.byteLength });
    const plan = vi.spyOn(BoundFile.prototype, 'plan');
    try {
      const seen: DecodeTimings[] = [];
      const table = await source.readTable({ onTimings: (t) => seen.push(t) });
      expect(plan).not.toHaveBeenCalled();
      expect(table.numRows).toBe(3_000);
      expect(table.getChild('id')?.toArray()).toEqual(Int32Array.from({ length: 3_000 }, (_, i) => i));
      expect(seen[0]?.ioMs).toBe(0);
      expect(backend.metrics.snapshot().requests.map((r) => r.range)).toEqual([{ suffix: expect.any(Number) }]);
    } finally {
      plan.mockRestore();
      await source.close();
    }
  });

  it('a selection, or a file the open holds only part of, is planned as before', async () => {
    const backend = withMetrics(memoryBackend({ 'f.parquet': bytes }));
    const whole = await openParquet(backend, 'f.parquet', { metadataCache: false, expect: 'whole' });
    const part = await openParquet(backend, 'f.parquet', { metadataCache: false, footerSizeHint: 1024 });
    const plan = vi.spyOn(BoundFile.prototype, 'plan');
    try {
      expect((await whole.readTable({ columns: ['word'] })).numCols).toBe(1);
      expect((await whole.readTable({ rowGroups: [1] })).numRows).toBe(1_000);
      expect(plan).toHaveBeenCalledTimes(2);
      expect((await part.readTable()).numRows).toBe(3_000);
      expect(plan).toHaveBeenCalledTimes(3);
    } finally {
      plan.mockRestore();
      await whole.close();
      await part.close();
    }
  });
});

describe('what readTable ships to the decoder', () => {
  const bytes = testParquet({ rows: 20_000, rowGroupSize: 2_000 });

  type Shipped = { offset: number; length: number; owned: boolean }[];
  /** What each job shipped, as it was handed over (an owned buffer is detached once the worker has it). */
  const shape = (job: DecodeJob): Shipped => (job.shipped ?? []).map((c) => ({ offset: c.offset, length: c.bytes.byteLength, owned: c.owned === true }));

  /** Runs `fn` with the runtime's decoder wrapped to record each job (the real decoder still decodes). */
  async function recordingJobs(fn: () => Promise<void>): Promise<Shipped[]> {
    const real = runtime.decoder as () => Decoder;
    const jobs: Shipped[] = [];
    runtime.decoder = () => ({ prewarm: () => real().prewarm(), read: (job) => (jobs.push(shape(job)), real().read(job)) });
    try {
      await fn();
    } finally {
      runtime.decoder = real;
    }
    return jobs;
  }

  it('a whole file after a plain open (window + one wave): one buffer of every byte, packed once, to be transferred as is', async () => {
    const backend = withMetrics(memoryBackend({ 'f.parquet': bytes }));
    const source = await openParquet(backend, 'f.parquet', { metadataCache: false, footerSizeHint: 4_096 });
    expect(source.held.offset).toBeGreaterThan(0);
    const jobs = await recordingJobs(async () => {
      expect((await source.readTable()).numRows).toBe(20_000);
    });
    expect(jobs).toHaveLength(1);
    expect(jobs[0]).toEqual([{ offset: 0, length: bytes.byteLength, owned: true }]);
    // The reader's own buffers are untouched: read back unchanged, no request.
    const gets = backend.metrics.snapshot().gets;
    expect(await source.readAt(0, bytes.byteLength)).toEqual(bytes);
    expect(backend.metrics.snapshot().gets).toBe(gets);
    await source.close();
  });

  it("a whole file the open holds: the reader's one buffer as a view, not owned (the decoder copies it)", async () => {
    const source = await openParquet(memoryBackend({ 'f.parquet': bytes }), 'f.parquet', { metadataCache: false, expect: 'whole' });
    const jobs = await recordingJobs(async () => {
      expect((await source.readTable()).numRows).toBe(20_000);
    });
    expect(jobs[0]).toEqual([{ offset: 0, length: bytes.byteLength, owned: false }]);
    expect(await source.readAt(0, bytes.byteLength)).toEqual(bytes);
    await source.close();
  });
});
