/**
 * Load: 1,000 concurrent readers (800 BufferReaders sharing one BufferPool budget, 200 RangeReaders)
 * in one process against the local ObjectServer over the default HTTP pool. Every byte is checked
 * (SHA-256 per reader against the reference); sockets are counted on the server side and must stay
 * within the pool's bound (HTTP_CONNECTIONS_PER_ORIGIN); the shared budget must hold: buffered +
 * in-flight bytes never over it, and blocks still being read after eviction (pinned) at most one per
 * reader over it. The figures (peak sockets, peak pool memory, process memory, bytes fetched without
 * buffering because the budget had no room, runtime) are printed.
 */
import { createHash } from 'node:crypto';
import type { Server, Socket } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { HTTP_CONNECTIONS_PER_ORIGIN } from '../../src/backends/http/pool.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { BufferPool } from '../../src/buffer-reader/pool.js';
import { withRetry } from '../../src/layers/retry.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { randomBytes } from '../support/data.js';
import { within } from './helpers.js';

const READERS = 1_000;
const RANGE_READERS = 200;
const OBJECTS = 16;
const OBJECT_SIZE = 256 * 1024;
/** The shared budget of the 800 BufferReaders: far less than what they read (800 × 256 KiB = 200 MiB). */
const BUDGET = 16 * 1024 * 1024;
/** Largest request of a BufferReader here, so a reader's blocks (and what one pins) are bounded. */
const MAX_RANGE = 64 * 1024;

const objects = Array.from({ length: OBJECTS }, (_, i) => randomBytes(OBJECT_SIZE, 500 + i));
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
const digests = objects.map(sha);

describe('load: 1,000 concurrent readers in one process', () => {
  let server: ObjectServer;
  let open = 0;
  let peakSockets = 0;
  let connections = 0;

  beforeAll(async () => {
    server = await new ObjectServer().start();
    objects.forEach((o, i) => server.put(`obj-${i}.bin`, o));
    // Count sockets where the server sees them.
    const http = (server as unknown as { server: Server }).server;
    http.on('connection', (s: Socket) => {
      connections++;
      open++;
      peakSockets = Math.max(peakSockets, open);
      s.once('close', () => open--);
    });
  });
  afterAll(() => server.stop());

  it('reads every byte right, within the socket bound and the memory budget', async () => {
    const started = performance.now();
    const pool = new BufferPool({ maxMemory: BUDGET });
    const backend = withRetry(httpBackend({ baseUrl: server.url }));
    let peakRss = 0;
    let peakArrayBuffers = 0;
    let peakInFlightPlusBuffered = 0;
    let bytesStreamed = 0;
    let bytesFetched = 0;
    const sample = setInterval(() => {
      const m = process.memoryUsage();
      peakRss = Math.max(peakRss, m.rss);
      peakArrayBuffers = Math.max(peakArrayBuffers, m.arrayBuffers);
      const p = pool.memory();
      peakInFlightPlusBuffered = Math.max(peakInFlightPlusBuffered, p.buffered + p.inFlight);
    }, 5);

    const bufferReader = async (i: number): Promise<boolean> => {
      const key = i % OBJECTS;
      const data = objects[key] as Uint8Array;
      const reader = new BufferReader(backend, `obj-${key}.bin`, { pool, maxRangeSize: MAX_RANGE, readahead: { initial: 16 * 1024, max: MAX_RANGE }, adaptive: false });
      try {
        // a footer-like tail read, a few random column-chunk-like ranges, then a sequential scan
        const tail = await reader.readAt(OBJECT_SIZE - 1000, 1000);
        const parts = await reader.readRanges([0, 1, 2, 3].map((j) => ({ offset: ((i * 7919 + j * 65_537) % (OBJECT_SIZE - 5000)) | 0, length: 5000 })));
        // the scan hashes as it goes: the test holds 32 KiB per reader, not the object
        const buf = new Uint8Array(32 * 1024);
        const hash = createHash('sha256');
        await reader.seek(SeekFrom.start(0));
        let at = 0;
        for (;;) {
          const n = await reader.read(buf);
          if (n === 0) break;
          hash.update(buf.subarray(0, n));
          at += n;
        }
        const rangesOk = parts.every((p, j) => {
          const o = ((i * 7919 + j * 65_537) % (OBJECT_SIZE - 5000)) | 0;
          return sha(p) === sha(data.subarray(o, o + 5000));
        });
        const st = reader.stats();
        bytesStreamed += st.bytesStreamed;
        bytesFetched += st.bytesFetched;
        return at === OBJECT_SIZE && hash.digest('hex') === digests[key] && sha(tail) === sha(data.subarray(-1000)) && rangesOk;
      } finally {
        await reader.close();
      }
    };

    const rangeReader = async (i: number): Promise<boolean> => {
      const key = i % OBJECTS;
      const reader = new RangeReader(backend, `obj-${key}.bin`);
      try {
        const hash = createHash('sha256');
        let total = 0;
        for await (const chunk of reader) {
          hash.update(chunk);
          total += chunk.byteLength;
        }
        return total === OBJECT_SIZE && hash.digest('hex') === digests[key];
      } finally {
        await reader.close();
      }
    };

    let results: boolean[];
    try {
      results = await within(
        Promise.all(Array.from({ length: READERS }, (_, i) => (i % (READERS / RANGE_READERS) === 0 ? rangeReader(i) : bufferReader(i)))),
        120_000,
        'the load run',
      );
    } finally {
      clearInterval(sample);
    }
    const mem = pool.memory();
    const figures = {
      readers: READERS,
      bufferReaders: READERS - RANGE_READERS,
      rangeReaders: RANGE_READERS,
      bytesRead: READERS * OBJECT_SIZE,
      requests: server.requests.length,
      retries: backend.retryCounters().retries,
      serverConnections: connections,
      peakSockets,
      socketBound: HTTP_CONNECTIONS_PER_ORIGIN,
      poolBudget: BUDGET,
      poolPeakHeld: mem.peak,
      peakBufferedPlusInFlight: peakInFlightPlusBuffered,
      poolEvictions: mem.evictions,
      bufferReaderBytesFetched: bytesFetched,
      bufferReaderBytesStreamedUnbuffered: bytesStreamed,
      peakRssMiB: Math.round(peakRss / 2 ** 20),
      peakArrayBuffersMiB: Math.round(peakArrayBuffers / 2 ** 20),
      runtimeMs: Math.round(performance.now() - started),
    };
    console.log(`load figures ${JSON.stringify(figures)}`);

    expect(results.filter((ok) => !ok)).toHaveLength(0);
    expect(peakSockets).toBeGreaterThan(1);
    expect(peakSockets).toBeLessThanOrEqual(HTTP_CONNECTIONS_PER_ORIGIN);
    expect(connections).toBeLessThanOrEqual(HTTP_CONNECTIONS_PER_ORIGIN * 2); // reused, not reopened per request
    // The budget: buffered + in flight never over it; with blocks still being read (pinned) at most one block per reader over.
    expect(peakInFlightPlusBuffered).toBeLessThanOrEqual(BUDGET);
    expect(mem.peak).toBeLessThanOrEqual(BUDGET + (READERS - RANGE_READERS) * MAX_RANGE);
    expect(mem.held).toBe(0); // every reader closed: nothing held
  }, 150_000);
});
