/**
 * The decode guard (src/parquet/decode.ts): a Deadline from src/layers/timeouts.ts, so a read whose
 * input never arrives ends with DECODER_TIMEOUT (or ABORTED for the caller's signal), never a hang.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { openParquet } from '../../src/parquet/source.js';
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
