/**
 * A seeded random sequence of seek/read/readAt/readRanges (and concurrent readAts) against a
 * reference, byte for byte, on memory and on real HTTP, with roomy and tiny budgets. The tiny budget
 * evicts on nearly every step; the reader must still never return a wrong byte, and its own
 * accounting must stay within budget + one block.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader, type BufferReaderOptions } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { randomBytes } from '../support/data.js';
import { KiB, same } from './helpers.js';

const SIZE = 150_000;
const data = randomBytes(SIZE, 11);

type Op =
  | { kind: 'seekStart'; n: number }
  | { kind: 'seekCurrent'; n: number }
  | { kind: 'seekEnd'; n: number }
  | { kind: 'read'; n: number }
  | { kind: 'readAt'; offset: number; length: number }
  | { kind: 'readRanges'; ranges: { offset: number; length: number }[] }
  | { kind: 'parallel'; ranges: { offset: number; length: number }[] };

const range = (maxLength: number) => fc.record({ offset: fc.nat(SIZE + 20), length: fc.nat(maxLength) });
const op: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ kind: fc.constant('seekStart' as const), n: fc.nat(SIZE + 50) }),
  fc.record({ kind: fc.constant('seekCurrent' as const), n: fc.integer({ min: -40_000, max: 40_000 }) }),
  fc.record({ kind: fc.constant('seekEnd' as const), n: fc.integer({ min: -SIZE - 10, max: 20 }) }),
  { arbitrary: fc.record({ kind: fc.constant('read' as const), n: fc.integer({ min: 1, max: 40_000 }) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('readAt' as const), offset: fc.nat(SIZE + 20), length: fc.nat(60_000) }), weight: 2 },
  fc.record({ kind: fc.constant('readRanges' as const), ranges: fc.array(range(12_000), { maxLength: 25 }) }),
  fc.record({ kind: fc.constant('parallel' as const), ranges: fc.array(range(20_000), { minLength: 2, maxLength: 5 }) }),
);

const configs = fc.record({
  knownSize: fc.boolean(),
  adaptive: fc.boolean(),
  gap: fc.constantFrom(0, 500, 8 * KiB, undefined),
  maxRangeSize: fc.constantFrom(1_000, 16 * KiB, undefined),
  readahead: fc.constantFrom<BufferReaderOptions['readahead']>(true, false, { initial: 2 * KiB, max: 32 * KiB }),
});

async function expectError(p: Promise<unknown>, kind: ReaderError['kind']): Promise<void> {
  const err = await p.then(
    () => new Error(`expected ${kind}`),
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  expect((err as ReaderError).kind).toBe(kind);
}

/** What a read of `[offset, offset + length)` must give: clamped at EOF, an error at or past it. */
function expected(r: { offset: number; length: number }): Uint8Array | 'RangeNotSatisfied' {
  if (r.length === 0) return new Uint8Array(0);
  if (r.offset >= SIZE) return 'RangeNotSatisfied';
  return data.subarray(r.offset, Math.min(SIZE, r.offset + r.length));
}

async function runSequence(backend: Backend, path: string, ops: Op[], options: BufferReaderOptions): Promise<void> {
  const reader = new BufferReader(backend, path, { adaptive: false, ...options });
  const blockCap = Math.min(reader.maxRangeSize, options.maxMemory ?? Infinity);
  let pos = 0;
  try {
    for (const o of ops) {
      switch (o.kind) {
        case 'seekStart':
          expect(await reader.seek(SeekFrom.start(o.n))).toBe((pos = o.n));
          break;
        case 'seekCurrent':
          if (pos + o.n < 0) await expectError(reader.seek(SeekFrom.current(o.n)), 'InvalidInput');
          else expect(await reader.seek(SeekFrom.current(o.n))).toBe((pos += o.n));
          break;
        case 'seekEnd':
          if (SIZE + o.n < 0) await expectError(reader.seek(SeekFrom.end(o.n)), 'InvalidInput');
          else expect(await reader.seek(SeekFrom.end(o.n))).toBe((pos = SIZE + o.n));
          break;
        case 'read': {
          const buf = new Uint8Array(o.n);
          const got = await reader.read(buf);
          if (pos >= SIZE) expect(got).toBe(0);
          else {
            expect(got).toBeGreaterThan(0); // 0 only at the end
            expect(got).toBeLessThanOrEqual(o.n);
            expect(same(buf.subarray(0, got), data.subarray(pos, pos + got))).toBe(true);
            pos += got;
          }
          expect(reader.position).toBe(pos);
          break;
        }
        case 'readAt': {
          const want = expected(o);
          if (want === 'RangeNotSatisfied') await expectError(reader.readAt(o.offset, o.length), want);
          else expect(same(await reader.readAt(o.offset, o.length), want)).toBe(true);
          break;
        }
        case 'readRanges': {
          const wants = o.ranges.map(expected);
          if (wants.includes('RangeNotSatisfied')) await expectError(reader.readRanges(o.ranges), 'RangeNotSatisfied');
          else {
            const got = await reader.readRanges(o.ranges);
            expect(got).toHaveLength(o.ranges.length);
            got.forEach((g, i) => expect(same(g, wants[i] as Uint8Array)).toBe(true));
          }
          break;
        }
        case 'parallel': {
          const results = await Promise.allSettled(o.ranges.map((r) => reader.readAt(r.offset, r.length)));
          results.forEach((res, i) => {
            const want = expected(o.ranges[i] as { offset: number; length: number });
            if (want === 'RangeNotSatisfied') expect(res.status === 'rejected' && (res.reason as ReaderError).kind).toBe(want);
            else expect(res.status === 'fulfilled' && same(res.value, want)).toBe(true);
          });
          break;
        }
      }
      const mem = reader.stats().memory;
      expect(mem.buffered + mem.inFlight).toBeLessThanOrEqual(mem.budget);
      expect(mem.held).toBeLessThanOrEqual(mem.budget + blockCap);
    }
  } finally {
    await reader.close();
  }
  expect(reader.stats().memory).toMatchObject({ buffered: 0, inFlight: 0, pinned: 0 });
}

function property(backend: () => Backend, path: () => string, budget: number | undefined, seed: number, numRuns: number) {
  return fc.assert(
    fc.asyncProperty(fc.array(op, { minLength: 1, maxLength: 30 }), configs, async (ops, cfg) => {
      const options: BufferReaderOptions = {
        readahead: cfg.readahead,
        adaptive: cfg.adaptive,
        ...(cfg.knownSize ? { size: SIZE } : {}),
        ...(cfg.gap === undefined ? {} : { gap: cfg.gap }),
        ...(cfg.maxRangeSize === undefined ? {} : { maxRangeSize: cfg.maxRangeSize }),
        ...(budget === undefined ? {} : { maxMemory: budget }),
      };
      await runSequence(backend(), path(), ops, options);
    }),
    { seed, numRuns },
  );
}

describe('BufferReader: random sequences match the reference (memory)', () => {
  const backend = memoryBackend({ obj: data });
  it('with a roomy budget', () => property(() => backend, () => 'obj', undefined, 20260401, 200));
  it('with a tiny budget (evictions on every step)', () => property(() => backend, () => 'obj', 3_000, 20260402, 200));
});

describe('BufferReader: random sequences match the reference (HTTP)', () => {
  let server: ObjectServer;
  let backend: Backend;
  beforeAll(async () => {
    server = await new ObjectServer().start();
    server.put('bucket/obj.bin', data);
    backend = httpBackend({ baseUrl: `${server.url}/bucket` });
  });
  afterAll(() => server?.stop());
  it('with a roomy budget', () => property(() => backend, () => 'obj.bin', undefined, 20260403, 60));
  it('with a tiny budget (evictions on every step)', () => property(() => backend, () => 'obj.bin', 3_000, 20260404, 60));
});
