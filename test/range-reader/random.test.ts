/** A seeded random seek/read sequence matches a reference buffer byte for byte, on every backend. */
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { randomBytes } from '../support/data.js';

const SIZE = 200_003;
const data = randomBytes(SIZE, 11);
const SEED = 20261122;

type Op =
  | { t: 'read'; n: number }
  | { t: 'start'; n: number }
  | { t: 'current'; n: number }
  | { t: 'end'; n: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ t: fc.constant('read' as const), n: fc.integer({ min: 1, max: 70_000 }) }),
  fc.record({ t: fc.constant('start' as const), n: fc.integer({ min: 0, max: SIZE + 100 }) }),
  fc.record({ t: fc.constant('current' as const), n: fc.integer({ min: -20_000, max: 20_000 }) }),
  fc.record({ t: fc.constant('end' as const), n: fc.integer({ min: -SIZE, max: 50 }) }),
);

async function runSequence(backend: Backend, path: string, ops: Op[], size?: number): Promise<void> {
  const reader = new RangeReader(backend, path, size === undefined ? {} : { size });
  let pos = 0;
  try {
    for (const op of ops) {
      if (op.t === 'read') {
        const buf = new Uint8Array(op.n);
        const got = await reader.read(buf);
        const want = data.subarray(Math.min(pos, SIZE), Math.min(pos + op.n, SIZE));
        if (want.byteLength === 0) expect(got).toBe(0);
        else {
          expect(got).toBeGreaterThan(0); // 0 only at the end
          expect(got).toBeLessThanOrEqual(want.byteLength);
          expect(Buffer.from(buf.subarray(0, got)).equals(Buffer.from(want.subarray(0, got)))).toBe(true);
        }
        pos += got;
        continue;
      }
      const target = op.t === 'start' ? op.n : op.t === 'current' ? pos + op.n : SIZE + op.n;
      const seek = op.t === 'start' ? SeekFrom.start(op.n) : op.t === 'current' ? SeekFrom.current(op.n) : SeekFrom.end(op.n);
      if (target < 0) {
        await expect(reader.seek(seek)).rejects.toMatchObject({ kind: 'InvalidInput' });
      } else {
        expect(await reader.seek(seek)).toBe(target);
        pos = target;
      }
      expect(reader.position).toBe(pos);
    }
  } finally {
    await reader.close();
  }
}

const backends: [string, () => Promise<{ backend: Backend; path: string; done: () => Promise<void> }>][] = [
  ['memory', async () => ({ backend: memoryBackend({ o: data }, { chunkSize: 3000 }), path: 'o', done: async () => {} })],
  [
    'fs',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'brr-rand-'));
      await writeFile(join(root, 'o'), data);
      return { backend: fsBackend({ root }), path: 'o', done: () => rm(root, { recursive: true, force: true }) };
    },
  ],
  [
    'http',
    async () => {
      const server = await new ObjectServer().start();
      server.put('o', data);
      return { backend: httpBackend({ baseUrl: server.url }), path: 'o', done: () => server.stop() };
    },
  ],
];

describe.each(backends)('RangeReader random sequences on %s', (_name, make) => {
  let fx: Awaited<ReturnType<typeof make>>;
  beforeAll(async () => {
    fx = await make();
  });
  afterAll(async () => fx?.done());

  it('matches the reference byte for byte (seeded)', async () => {
    const metered = withMetrics(fx.backend);
    await fc.assert(
      fc.asyncProperty(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.boolean(), async (ops, knowSize) => {
        await runSequence(metered, fx.path, ops, knowSize ? SIZE : undefined);
      }),
      { seed: SEED, numRuns: 60, endOnFailure: true },
    );
    // Every request the reader made was a single, valid range.
    for (const r of metered.metrics.snapshot().requests) expect(['GET', 'HEAD']).toContain(r.op);
  });
});
