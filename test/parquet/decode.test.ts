/**
 * The decode guard (src/parquet/decode.ts): a Deadline from src/layers/timeouts.ts, so a read whose
 * input never arrives ends with DECODER_TIMEOUT (or ABORTED for the caller's signal), never a hang.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { openParquet } from '../../src/parquet/source.js';
import type { Backend } from '../../src/types.js';
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
