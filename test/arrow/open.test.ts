/**
 * openArrowFileHandle over a real local HTTP server: the footer from the tail window, the batches as
 * planned waves; request lists from the server's log, asserted exactly. Bad files are typed errors.
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader, tableFromArrays, tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, mixedTable } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { openArrowFileHandle } from '../../src/arrow/open.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { countRoundTrips } from '../../src/layers/metrics.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openWindow } from '../../src/parquet/open.js';

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

  it("expect: 'whole': a file within the whole-read window in its one GET; a larger one in two round trips", async () => {
    const window = openWindow({ expect: 'whole' });
    // 1.2 MB: over the tail window, within the whole-read window.
    const mid = tableToIPC(mixedTable(12, 24, 500, 5), 'file');
    expect(mid.byteLength).toBeGreaterThan(DEFAULT_FOOTER_WINDOW);
    expect(mid.byteLength).toBeLessThan(window);
    server.put('mid.arrow', mid);
    for (const [name, bytes, expected] of [
      ['mid.arrow', mid, [`GET bytes=-${window}`]],
      ['batches.arrow', ipc, [`GET bytes=-${window}`, `GET bytes=0-${ipc.byteLength - window - 1}`]],
    ] as const) {
      server.resetLog();
      const handle = await openArrowFileHandle(`${server.url}/${name}`, { expect: 'whole', url: { retry: false } });
      expect(await readAll(handle)).toBe(tableFromIPC(bytes).numRows);
      const log = [...server.requests];
      expect(log.map((r) => `${r.method} ${r.range ?? ''}`)).toEqual(expected);
      expect(countRoundTrips(log)).toBe(expected.length);
      await handle.close();
    }
    // Without the hint the 1.2 MB file costs the tail, then one wave.
    server.resetLog();
    const plain = await openArrowFileHandle(`${server.url}/mid.arrow`, { url: { retry: false } });
    expect(await readAll(plain)).toBe(24 * 500);
    expect(server.requests.map((r) => r.range)).toEqual([`bytes=-${DEFAULT_FOOTER_WINDOW}`, `bytes=0-${mid.byteLength - DEFAULT_FOOTER_WINDOW - 1}`]);
    await plain.close();
    await expect(openArrowFileHandle(memoryBackend({ f: mid }), 'f', { expect: 'all' as never })).rejects.toMatchObject({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' });
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

describe('openArrowFileHandle: the object replaced between reads (catalogue case 4, and 5 without ETags)', () => {
  const BATCHES = 16;
  const ROWS = 1000;
  /** One version: 16 record batches of 1,000 float64s (8 KB each); both versions have the same size. */
  const version = (sign: 1 | -1): Uint8Array => {
    const batches = Array.from({ length: BATCHES }, (_, b) => tableFromArrays({ x: Float64Array.from({ length: ROWS }, (_, i) => sign * (b * ROWS + i + 1)) }));
    return tableToIPC((batches[0] as Table).concat(...batches.slice(1)), 'file');
  };
  const v1 = version(1);
  const v2 = version(-1);
  /** Whole seconds apart: Last-Modified is an HTTP date. */
  const T1 = new Date(Date.UTC(2026, 0, 1, 0, 0, 0));
  const T2 = new Date(Date.UTC(2026, 0, 1, 0, 0, 1));

  const cases = [false, true].flatMap((etags) => [0, 2].map((after) => ({ etags, after })));
  for (const { etags, after } of cases) {
    const when = after === 0 ? 'right after the open (the pin is the open\'s)' : `after ${after} batches`;
    it(`${etags ? 'with ETags (If-Match → 412)' : 'no ETag (Last-Modified pinned)'}, replaced ${when}: ConditionNotMatch ETAG_CHANGED on the next wave; every batch before it is v1's`, async () => {
      expect(v1.byteLength).toBe(v2.byteLength); // size alone cannot tell the versions apart
      const plain = await new ObjectServer({ etags }).start();
      try {
        const etag = plain.put('x.arrow', v1, T1);
        // A 4 KiB window holds the footer, not the data; a 64 KiB budget makes waves of ≤ 32 KiB (4 batches).
        const handle = await openArrowFileHandle(`${plain.url}/x.arrow`, { footerSizeHint: 4096, reader: { maxMemory: 64 * 1024 }, url: { retry: false } });
        expect(plain.requests.map((r) => `${r.method} ${r.range ?? ''} ${r.status}`)).toEqual(['GET bytes=-4096 206']);
        const seen: number[][] = [];
        const err = await (async () => {
          if (after === 0) plain.put('x.arrow', v2, T2);
          const reader = await RecordBatchReader.from(handle as unknown as FileHandle);
          for await (const b of reader) {
            seen.push([...(b.getChild('x') ?? [])] as number[]);
            if (seen.length === after) plain.put('x.arrow', v2, T2);
          }
        })().then(
          () => undefined,
          (e: unknown) => e,
        );
        expect(err).toBeInstanceOf(ReaderError);
        expect([(err as ReaderError).kind, (err as ReaderError).code]).toEqual(['ConditionNotMatch', 'ETAG_CHANGED']);
        // What was delivered is v1's, batch for batch, nothing of v2 (its values are negative): after a
        // change mid-read, the batches already buffered (fetched before it) and no more.
        if (after === 0) expect(seen).toEqual([]);
        else expect(seen.length).toBeGreaterThanOrEqual(after);
        expect(seen.length).toBeLessThan(BATCHES);
        const ref = tableFromIPC(v1);
        seen.forEach((values, i) => expect(values).toEqual([...(ref.batches[i]?.getChild('x') ?? [])]));
        // The server side: an If-Match precondition only when there is an ETag to send; the last GET met v2.
        const gets = plain.requests.slice(1);
        expect(gets.length).toBe(after === 0 ? 1 : 2);
        expect(gets.map((r) => r.ifMatch)).toEqual(gets.map(() => (etags ? etag : undefined)));
        expect(gets.at(-1)?.status).toBe(etags ? 412 : 206);
        await handle.close();
      } finally {
        await plain.stop();
      }
    });
  }
});
