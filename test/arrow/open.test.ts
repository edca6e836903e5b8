/**
 * openArrowFileHandle over a real local HTTP server: the footer from the tail window, the batches as
 * planned waves; request lists from the server's log, asserted exactly. Bad files are typed errors.
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader, tableFromIPC, tableToIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, mixedTable } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { openArrowFileHandle } from '../../src/arrow/open.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { countRoundTrips } from '../../src/layers/metrics.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';

let server: ObjectServer;
let ipc: Uint8Array;
beforeAll(async () => {
  ipc = await fixture(FIXTURES.ipc);
  server = await new ObjectServer({ ttfbMs: 10 }).start();
  server.put('batches.arrow', ipc);
});
afterAll(() => server.stop());

async function readAll(handle: unknown): Promise<number> {
  // apache-arrow's types name Node's FileHandle; it only uses fd, stat, read and close.
  const reader = await RecordBatchReader.from(handle as FileHandle);
  let rows = 0;
  for await (const b of reader) rows += b.numRows;
  return rows;
}

describe('openArrowFileHandle', () => {
  it('RecordBatchReader.from(await openArrowFileHandle(url)) on 48 batches: 2 GETs, 0 HEADs — the tail, then one wave', async () => {
    server.resetLog();
    const handle = await openArrowFileHandle(`${server.url}/batches.arrow`, { url: { retry: false } });
    expect(handle.footer.recordBatches).toBe(48);
    expect(handle.size).toBe(ipc.byteLength);
    const reader = await RecordBatchReader.from(handle as unknown as FileHandle);
    const got = [];
    for await (const b of reader) got.push(b);
    const ref = tableFromIPC(ipc);
    expect(got.reduce((n, b) => n + b.numRows, 0)).toBe(ref.numRows);
    expect([...(got[17]?.getChild('label') ?? [])]).toEqual([...(ref.batches[17]?.getChild('label') ?? [])]);
    const log = [...server.requests];
    const tailStart = ipc.byteLength - DEFAULT_FOOTER_WINDOW;
    // apache-arrow first reads the leading magic (bytes 0–7): that read plans the wave, which holds
    // it and every block up to the tail window, merged into one request.
    expect(log.map((r) => `${r.method} ${r.range ?? ''}`)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`, `GET bytes=0-${tailStart - 1}`]);
    expect(countRoundTrips(log)).toBe(2);
    await handle.close();
  });

  it('a file that fits the window costs its one GET; (backend, path) works too', async () => {
    const small = tableToIPC(mixedTable(4, 5, 50, 9), 'file');
    const handle = await openArrowFileHandle(memoryBackend({ f: small }), 'f', { reader: { metrics: true } });
    expect(await readAll(handle)).toBe(250);
    expect(handle.reader.stats().requests).toBe(0); // the open's suffix GET held everything
    await handle.close();
  });

  it('a small window: the footer in exactly one more GET, then the waves as arrow asks, within half the budget each', async () => {
    const backend = memoryBackend({ f: ipc });
    const { withMetrics } = await import('../../src/layers/metrics.js');
    const counted = withMetrics(backend);
    const maxMemory = 1024 * 1024;
    const handle = await openArrowFileHandle(counted, 'f', { footerSizeHint: 64, reader: { maxMemory } });
    expect(await readAll(handle)).toBe(48 * 500);
    const reqs = counted.metrics.snapshot().requests;
    expect(reqs[0]?.range).toEqual({ suffix: 64 });
    const footerLength = handle.footer.length;
    expect(reqs[1]?.range).toEqual({ offset: ipc.byteLength - footerLength, length: footerLength - 64 });
    // Then waves of at most half the budget (512 KiB) each, front to back.
    const waves = reqs.slice(2);
    expect(waves.length).toBeGreaterThanOrEqual(Math.ceil((ipc.byteLength - footerLength) / maxMemory) * 2 - 1);
    for (const w of waves) expect((w.range as { length: number }).length).toBeLessThanOrEqual(maxMemory / 2 + 8);
    await handle.close();
  });

  it('not an Arrow IPC file, a truncated one, a corrupt footer: InvalidData before any data read', async () => {
    const parquet = await fixture(FIXTURES.seed);
    await expect(openArrowFileHandle(memoryBackend({ f: parquet }), 'f')).rejects.toMatchObject({ kind: 'InvalidData', code: 'BAD_MAGIC' });
    await expect(openArrowFileHandle(memoryBackend({ f: new Uint8Array(5) }), 'f')).rejects.toMatchObject({ kind: 'InvalidData', code: 'FOOTER_TOO_SHORT' });
    const bad = new Uint8Array(ipc);
    new DataView(bad.buffer).setInt32(bad.byteLength - 10, 0x7fffffff, true);
    await expect(openArrowFileHandle(memoryBackend({ f: bad }), 'f')).rejects.toMatchObject({ kind: 'InvalidData', code: 'METADATA_TOO_LONG' });
    const scrambled = new Uint8Array(ipc);
    const len = new DataView(ipc.buffer, ipc.byteOffset).getInt32(ipc.byteLength - 10, true);
    scrambled.fill(0xff, ipc.byteLength - 10 - len, ipc.byteLength - 10);
    await expect(openArrowFileHandle(memoryBackend({ f: scrambled }), 'f')).rejects.toMatchObject({ kind: 'InvalidData' });
  });
});
