import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { arrowFileHandle } from '../../src/adapters/arrow-ipc.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { withMetrics } from '../../src/layers/metrics.js';

let server: ObjectServer;
let ipc: Uint8Array;
beforeAll(async () => {
  ipc = await fixture(FIXTURES.ipc);
  server = await new ObjectServer().start();
  server.put('batches.arrow', ipc);
});
afterAll(() => server.stop());

describe('arrowFileHandle: Arrow IPC files through a BufferReader', () => {
  it('apache-arrow reads it as a random-access file, every batch equal, in a few GETs', async () => {
    const backend = withMetrics(httpBackend({ baseUrl: server.url }));
    const reader = new BufferReader(backend, 'batches.arrow');
    // apache-arrow's types name Node's FileHandle; it only uses fd, stat, read and close.
    const batches = await RecordBatchReader.from(arrowFileHandle(reader) as unknown as FileHandle);
    await batches.open();
    expect(batches.isFile()).toBe(true);
    const got = [];
    for await (const b of batches) got.push(b);
    const ref = tableFromIPC(ipc);
    expect(got).toHaveLength(ref.batches.length);
    expect(got.length).toBeGreaterThanOrEqual(40);
    expect(got.reduce((n, b) => n + b.numRows, 0)).toBe(ref.numRows);
    expect([...(got[17]?.getChild('label') ?? [])]).toEqual([...(ref.batches[17]?.getChild('label') ?? [])]);
    const m = backend.metrics.snapshot();
    // ~4 small reads per batch (≈ 200 reads) are served by read-ahead growing 1 → 2 MiB: one HEAD for
    // the size, the footer, then the batches front to back.
    const size = ipc.byteLength;
    const MiB = 1024 * 1024;
    const footerStart = size - 10 - new DataView(ipc.buffer, ipc.byteOffset).getInt32(size - 10, true);
    expect(m.requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim())).toEqual([
      'HEAD',
      `GET bytes=0-${MiB - 1}`, // the leading magic starts a 1 MiB read-ahead window
      `GET bytes=${size - 10}-${size - 1}`, // footer length + magic
      `GET bytes=${footerStart}-${size - 11}`, // the footer
      `GET bytes=${MiB}-${2 * MiB - 1}`, // batches, front to back, read-ahead doubling
      `GET bytes=${2 * MiB}-${footerStart - 1}`,
    ]);
    expect(m.bytesReceived).toBeLessThanOrEqual(ipc.byteLength * 1.5);
    await reader.close();
  });
});
