/** src/buffer-reader/sequential.ts: `read()` calls issued together are served in call order. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { KiB, MiB, patternBytes, same } from './helpers.js';

const data = patternBytes(20 * MiB, 11);
let server: ObjectServer;
beforeAll(async () => {
  server = await new ObjectServer({ ttfbMs: 2 }).start();
  server.put('obj', data);
});
afterAll(() => server.stop());

describe('read() calls issued together', () => {
  it('get consecutive bytes, in call order, and the position moves past all of them (HTTP, a cold reader)', async () => {
    const reader = new BufferReader(httpBackend({ baseUrl: server.url }), 'obj', { adaptive: false, size: data.byteLength });
    const bufs = [MiB, 3 * KiB, 2 * MiB, 1].map((n) => new Uint8Array(n));
    const counts = await Promise.all(bufs.map((b) => reader.read(b)));
    let at = 0;
    bufs.forEach((b, i) => {
      const n = counts[i] as number;
      expect(n).toBeGreaterThan(0);
      expect(same(b.subarray(0, n), data.subarray(at, at + n)), `read ${i} at ${at}`).toBe(true);
      at += n;
    });
    expect(reader.position).toBe(at);
    // And a read after them goes on from there.
    const next = new Uint8Array(KiB);
    const n = await reader.read(next);
    expect(same(next.subarray(0, n), data.subarray(at, at + n))).toBe(true);
    await reader.close();
  });

  it('near the end: the queued reads get the last bytes, then 0; reads waiting or queued when the reader closes fail as Aborted, none hangs (memory backend)', async () => {
    const reader = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false });
    await reader.seek(SeekFrom.start(data.byteLength - 10));
    const a = new Uint8Array(8);
    const b = new Uint8Array(8);
    const c = new Uint8Array(8);
    const [na, nb, nc] = await Promise.all([reader.read(a), reader.read(b), reader.read(c)]);
    expect([na, nb, nc]).toEqual([8, 2, 0]);
    expect(same(a, data.subarray(data.byteLength - 10, data.byteLength - 2))).toBe(true);
    expect(same(b.subarray(0, 2), data.subarray(data.byteLength - 2))).toBe(true);
    const closed = new BufferReader(memoryBackend({ obj: data }), 'obj', { adaptive: false });
    const first = closed.read(new Uint8Array(KiB));
    const second = closed.read(new Uint8Array(KiB));
    await closed.close();
    await expect(first).rejects.toMatchObject({ kind: 'Aborted' });
    await expect(second).rejects.toMatchObject({ kind: 'Aborted' }); // queued behind it: it ran, and met the closed reader
  });
});
