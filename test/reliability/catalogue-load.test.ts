/**
 * Fault catalogue: budgets and many readers (cases 24, 25). ../shared/DESIGN.md, one `describe` per
 * case. Network faults go through the socket-level fault proxy in front of a real server (catalogue-
 * setup.ts). Where another file covers the case in more depth, the describe names it (`also:`).
 */
import { describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { httpBackend } from '../../src/backends/http/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { withRetry } from '../../src/layers/retry.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { same, within } from './helpers.js';
import { SIZE, data, drain, fast, http, rig, useCatalogue } from './catalogue-setup.js';

useCatalogue({ s3: false });

describe('24. budget smaller than one merged range → still correct (split), never over budget by more than one block', () => {
  // also: test/buffer-reader/memory.test.ts ("a budget smaller than one merged range")
  it('over HTTP: 40 ranges that merge into one 100 KB span, under a 10 KB budget', async () => {
    const reader = new BufferReader(http(), 'o.bin', { maxMemory: 10_000, gap: 64 * 1024, adaptive: false, readahead: false });
    const ranges = Array.from({ length: 40 }, (_, i) => ({ offset: i * 2500, length: 1000 }));
    const parts = await reader.readRanges(ranges);
    parts.forEach((p, i) => expect(same(p, data.subarray(i * 2500, i * 2500 + 1000))).toBe(true));
    const seq = await drain(reader, SIZE, 3000);
    expect(same(seq, data)).toBe(true);
    expect(reader.stats().memory.peak).toBeLessThanOrEqual(10_000 + 10_000);
    await reader.close();
  });
});

describe('25. many concurrent readers on one backend → bounded sockets, fair, no deadlock', () => {
  // also: test/reliability/load.test.ts (1,000 readers, the default 64-socket pool, a shared memory budget)
  it('200 readers over a 4-socket pool: every reader finishes with the right bytes, ≤ 4 sockets', async () => {
    const pool = new Agent({ connections: 4 });
    const counting = await FaultProxy.start(rig.server.url); // its own proxy: it sees this pool's connections only
    const b = withRetry(httpBackend({ baseUrl: counting.url, dispatcher: pool }), fast);
    try {
      const done = await within(
        Promise.all(
          Array.from({ length: 200 }, async (_, i) => {
            const reader = new BufferReader(b, 'o.bin', { maxMemory: 64 * 1024 });
            const offset = (i * 577) % (SIZE - 2000);
            const bytes = await reader.readAt(offset, 2000);
            await reader.close();
            return same(bytes, data.subarray(offset, offset + 2000));
          }),
        ),
        20_000,
      );
      expect(done.every(Boolean)).toBe(true);
      expect(counting.peakOpen).toBeLessThanOrEqual(4);
      expect(counting.log).toHaveLength(200);
    } finally {
      await pool.close();
      await counting.stop();
    }
  });
});
