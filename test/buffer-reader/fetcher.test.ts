/**
 * The fetcher's requests and a caller's signal: 100 reads in flight on one signal wait on it through
 * one listener (src/abort.ts), never one per request — no MaxListenersExceededWarning, nothing left
 * on the signal once they settle. Real HTTP: the local object server and the undici backend.
 */
import { getEventListeners } from 'node:events';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import type { Backend } from '../../src/types.js';
import { randomBytes } from '../support/data.js';

const READS = 100;
const STRIDE = 4096;
const LENGTH = 100;
const data = randomBytes(READS * STRIDE, 5);
let server: ObjectServer;
let warnings: Error[];
const onWarning = (w: Error) => warnings.push(w);

beforeAll(async () => {
  server = await new ObjectServer({ ttfbMs: 5 }).start();
  server.put('spread.bin', data);
});
afterAll(() => server.stop());
beforeEach(() => {
  warnings = [];
  process.on('warning', onWarning);
});
afterEach(() => {
  process.off('warning', onWarning);
});

/** The http backend, noting how many abort listeners `signal` has each time a request starts. */
function watching(signal: AbortSignal, seen: number[], at = server): Backend {
  const inner = httpBackend({ baseUrl: at.url });
  return { ...inner, read: (path, range, opts) => (seen.push(getEventListeners(signal, 'abort').length), inner.read(path, range, opts)) };
}

/** 100 reads far apart: no merging (gap 0, no read-ahead), so 100 requests, 32 in flight and the rest queued at the limit. */
function reader(signal: AbortSignal, seen: number[], at = server): BufferReader {
  return new BufferReader(watching(signal, seen, at), 'spread.bin', { size: data.byteLength, gap: 0, readahead: false, adaptive: false, signal });
}

const settledTurn = () => new Promise((r) => setImmediate(r)); // process warnings are emitted on a later tick

describe('a caller signal shared by 100 concurrent reads', () => {
  it('one listener on it while they are in flight, none after; no MaxListenersExceededWarning; every read right', async () => {
    const c = new AbortController();
    const seen: number[] = [];
    const r = reader(c.signal, seen);
    const before = server.requests.length;
    const got = await Promise.all(Array.from({ length: READS }, (_, i) => r.readAt(i * STRIDE, LENGTH, { signal: c.signal })));
    got.forEach((bytes, i) => expect(bytes).toEqual(data.subarray(i * STRIDE, i * STRIDE + LENGTH)));
    expect(server.requests.length - before).toBe(READS);
    expect(seen).toHaveLength(READS);
    expect(Math.max(...seen)).toBe(1);
    expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
    await r.close();
    await settledTurn();
    expect(warnings.map((w) => w.name)).toEqual([]);
  });

  it('aborting it rejects all 100 with Aborted, and leaves no listener and no warning', async () => {
    // Slow first bytes: nothing has answered when the abort comes.
    const slow = await new ObjectServer({ ttfbMs: 2000 }).start();
    try {
      slow.put('spread.bin', data);
      const c = new AbortController();
      const seen: number[] = [];
      const r = reader(c.signal, seen, slow);
      const reads = Array.from({ length: READS }, (_, i) => r.readAt(i * STRIDE, LENGTH, { signal: c.signal }).catch((e: unknown) => e));
      await expect.poll(() => seen.length).toBeGreaterThan(0); // requests are in flight
      c.abort();
      const out = await Promise.all(reads);
      expect(new Set(out.map((e) => (e instanceof ReaderError ? e.kind : String(e))))).toEqual(new Set(['Aborted']));
      expect(getEventListeners(c.signal, 'abort')).toHaveLength(0);
      await r.close();
      await settledTurn();
      expect(warnings.map((w) => w.name)).toEqual([]);
    } finally {
      await slow.stop();
    }
  });
});
