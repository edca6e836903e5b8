import type { FileMetaData, RowGroup } from 'hyparquet';
import { beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { readTail } from '../../src/parquet/footer.js';
import { rowGroupMayMatch, type RowGroupFilter } from '../../src/parquet/filter.js';
import { columnChunkRanges, pageIndexRange, parseMetadata } from '../../src/parquet/metadata.js';
import { DEFAULT_PLAN_CONCURRENCY, planRead, type ParquetLayout } from '../../src/parquet/planner.js';

async function layoutOf(bytes: Uint8Array, held: 'all' | number): Promise<ParquetLayout> {
  const tail = await readTail(memoryBackend({ f: bytes }), 'f', { footerSizeHint: held === 'all' ? bytes.byteLength : held });
  const metadata = parseMetadata(tail, {});
  const chunks = columnChunkRanges(metadata, bytes.byteLength, tail.metadataLength, {});
  return {
    metadata,
    size: bytes.byteLength,
    chunks,
    columns: (chunks[0] ?? []).map((c) => c.column),
    held: { offset: tail.offset, length: bytes.byteLength - tail.offset },
  };
}

function covered(plan: ReturnType<typeof planRead>, held?: { offset: number; length: number }): boolean {
  const inAny = (pos: number) =>
    plan.requests.some((r) => pos >= r.offset && pos < r.offset + r.length) || (held !== undefined && pos >= held.offset && pos < held.offset + held.length);
  return plan.chunks.every((c) => inAny(c.offset) && inAny(c.offset + c.length - 1));
}

describe('planRead on the seed file (50 row groups × 12 columns)', () => {
  let whole: ParquetLayout;
  let tailOnly: ParquetLayout;
  beforeAll(async () => {
    const seed = await fixture(FIXTURES.seed);
    whole = await layoutOf(seed, 'all');
    tailOnly = await layoutOf(seed, 70 * 1024);
  });

  it('needs no request when the open already holds the whole file', () => {
    const plan = planRead(whole);
    expect(plan.chunks).toHaveLength(600);
    expect(plan.requests).toEqual([]);
    expect(plan).toMatchObject({ requestCount: 0, roundTrips: 0, bytesToFetch: 0, s3CostUsd: 0 });
    expect(plan.bytesHeld).toBe(plan.bytesNeeded);
  });

  it('merges all 600 chunks into one request when only the footer is held', () => {
    const plan = planRead(tailOnly);
    expect(plan.requestCount).toBe(1);
    expect(plan.roundTrips).toBe(1);
    expect(covered(plan, tailOnly.held)).toBe(true);
    expect(plan.bytesToFetch).toBeLessThanOrEqual(tailOnly.size);
    expect(plan.s3CostUsd).toBeCloseTo(0.0000004, 10);
  });

  it('a 2-column projection reads 100 chunks; with no merge gap each is its own request', () => {
    const merged = planRead(tailOnly, { columns: ['id', 'price'] });
    expect(merged.chunks).toHaveLength(100);
    expect(merged.columns).toEqual(['id', 'price']);
    expect(merged.requestCount).toBe(1);
    const strict = planRead(tailOnly, { columns: ['id', 'price'] }, { gap: 0 });
    expect(strict.requestCount).toBe(100);
    expect(strict.bytesToFetch).toBe(strict.bytesNeeded - strict.bytesHeld);
    expect(covered(strict, tailOnly.held)).toBe(true);
    const waves = planRead(tailOnly, { columns: ['id', 'price'] }, { gap: 0, concurrency: 8 });
    expect(waves.roundTrips).toBe(13);
  });

  it('one row group', () => {
    const plan = planRead(tailOnly, { rowGroups: [3] });
    expect(plan.rowGroups).toEqual([3]);
    expect(plan.chunks.every((c) => c.rowGroup === 3)).toBe(true);
    expect(plan.chunks).toHaveLength(12);
    expect(plan.requestCount).toBe(1);
  });

  it('a filter on min/max statistics prunes row groups', () => {
    // ids are 0..9999 in order, 200 per row group.
    const plan = planRead(tailOnly, { filter: { column: 'id', gte: 2000, lt: 4000 } });
    expect(plan.rowGroups).toEqual([10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);
    expect(plan.prunedRowGroups).toHaveLength(40);
    const or = planRead(tailOnly, { filter: { or: [{ column: 'id', lt: 200 }, { column: 'id', gte: 9_800 }] } });
    expect(or.rowGroups).toEqual([0, 49]);
    const and = planRead(tailOnly, { filter: { and: [{ column: 'id', gte: 200 }, { column: 'id', lte: 399 }] }, columns: ['word'] });
    expect(and.rowGroups).toEqual([1]);
    expect(and.chunks.map((c) => c.column)).toEqual(['word']);
    expect(planRead(tailOnly, { filter: { column: 'id', eq: 1_000_000 } }).rowGroups).toEqual([]);
  });

  it('rejects unknown columns, missing row groups and bad filters', () => {
    expect(() => planRead(tailOnly, { columns: ['nope'] })).toThrow(ReaderError);
    expect(() => planRead(tailOnly, { rowGroups: [50] })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'ROW_GROUP_NOT_FOUND' }));
    expect(() => planRead(tailOnly, { filter: { column: 'nope', eq: 1 } })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'COLUMN_NOT_FOUND' }));
    expect(() => planRead(tailOnly, { filter: { column: 'id' } })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'INVALID_ARGUMENT' }));
  });

  it('is pure: the same input gives the same plan', () => {
    expect(planRead(tailOnly, { columns: ['token'] })).toEqual(planRead(tailOnly, { columns: ['token'] }));
  });
});

describe('planRead on the big file (≥ 128 MiB, 16 row groups)', () => {
  it('splits into ≤ 16 MiB requests, spread over the connections: one wave', async () => {
    const big = await fixture(FIXTURES.big);
    const layout = await layoutOf(big, 64 * 1024);
    const plan = planRead(layout);
    expect(plan.requests.every((r) => r.length <= 16 * 1024 * 1024)).toBe(true);
    // More parts than 16 MiB alone would make (parallel transfer), never more than one wave.
    expect(plan.requestCount).toBeGreaterThan(Math.ceil(plan.bytesToFetch / (16 * 1024 * 1024)));
    expect(plan.requestCount).toBeLessThanOrEqual(DEFAULT_PLAN_CONCURRENCY);
    expect(plan.roundTrips).toBe(1);
    // With 4 connections the 16 MiB parts are already more than a wave: no spreading, 3 waves.
    const four = planRead(layout, {}, { concurrency: 4 });
    expect(four.requestCount).toBe(Math.ceil(plan.bytesToFetch / (16 * 1024 * 1024)));
    expect(four.roundTrips).toBe(Math.ceil(four.requestCount / 4));
  });
});

describe('column chunk ranges are checked against the file (catalogue 22)', () => {
  it('a chunk outside the data region is InvalidData before any fetch', async () => {
    const seed = await fixture(FIXTURES.seed);
    const layout = await layoutOf(seed, 'all');
    const md = structuredClone(layout.metadata) as FileMetaData;
    const chunk = md.row_groups[2]?.columns[5]?.meta_data;
    if (!chunk) throw new Error('fixture lacks metadata');
    chunk.total_compressed_size = BigInt(seed.byteLength);
    expect(() => columnChunkRanges(md, seed.byteLength, 1000, { path: 'f' })).toThrow(expect.objectContaining({ kind: 'InvalidData', code: 'CHUNK_OUT_OF_FILE', context: expect.objectContaining({ rowGroup: 2 }) }));
  });
});

describe('rowGroupMayMatch', () => {
  const group = (min: unknown, max: unknown, column = 'x'): RowGroup =>
    ({
      num_rows: 10n,
      total_byte_size: 0n,
      columns: [
        {
          file_offset: 0n,
          meta_data: { path_in_schema: column.split('.'), statistics: min === undefined ? undefined : { min_value: min, max_value: max } },
        },
      ],
    }) as unknown as RowGroup;
  const may = (f: RowGroupFilter, g: RowGroup) => rowGroupMayMatch(f, g);

  it('compares numbers, bigints, strings and dates', () => {
    expect(may({ column: 'x', gt: 5 }, group(1n, 5n))).toBe(false);
    expect(may({ column: 'x', gte: 5 }, group(1n, 5n))).toBe(true);
    expect(may({ column: 'x', lt: 1 }, group(1, 5))).toBe(false);
    expect(may({ column: 'x', lte: 1.5 }, group(1n, 5n))).toBe(true);
    expect(may({ column: 'x', eq: 'm' }, group('a', 'k'))).toBe(false);
    expect(may({ column: 'x', in: ['b', 'z'] }, group('a', 'k'))).toBe(true);
    expect(may({ column: 'x', in: [] }, group('a', 'k'))).toBe(false);
    expect(may({ column: 'x', gt: new Date(2000) }, group(new Date(0), new Date(1000)))).toBe(false);
  });

  it('keeps a group when statistics are missing or incomparable', () => {
    expect(may({ column: 'x', eq: 3 }, group(undefined, undefined))).toBe(true);
    expect(may({ column: 'x', eq: 3 }, group(new Uint8Array([1]), new Uint8Array([2])))).toBe(true);
    expect(may({ column: 'x', eq: 3 }, group('a', 'b'))).toBe(true);
    expect(may({ column: 'x', eq: NaN }, group(1, 2))).toBe(true);
  });

  it('combines with and/or', () => {
    const g = group(10, 20);
    expect(may({ and: [{ column: 'x', gte: 15 }, { column: 'x', lt: 12 }] }, g)).toBe(true); // each may match separately
    expect(may({ and: [{ column: 'x', gte: 25 }, { column: 'x', lt: 30 }] }, g)).toBe(false);
    expect(may({ or: [{ column: 'x', gte: 25 }, { column: 'x', lt: 11 }] }, g)).toBe(true);
    expect(may({ or: [{ column: 'x', gte: 25 }, { column: 'x', lt: 10 }] }, g)).toBe(false);
  });
});

describe('planRead accounting', () => {
  it('bytesHeld is between 0 and bytesNeeded, and what is not held is fetched', async () => {
    const wide = await fixture(FIXTURES.wide);
    const layout = await layoutOf(wide, 'all');
    const tail = await layoutOf(wide, 64 * 1024);
    for (const l of [layout, tail]) {
      for (let g = 0; g < 4; g++) {
        const plan = planRead(l, { columns: ['c013_qty'], rowGroups: [g] });
        expect(plan.bytesHeld).toBeGreaterThanOrEqual(0);
        expect(plan.bytesHeld).toBeLessThanOrEqual(plan.bytesNeeded);
        expect(plan.bytesToFetch).toBeGreaterThanOrEqual(plan.bytesNeeded - plan.bytesHeld);
      }
    }
  });
});

describe('planRead: the leading magic', () => {
  it('is never planned unless asked; asked (readTable), it rides along only when the plan then covers the whole file', async () => {
    const seed = await fixture(FIXTURES.seed);
    const base = await layoutOf(seed, 64 * 1024);
    const tail = await readTail(memoryBackend({ f: seed }), 'f');
    const region = pageIndexRange(base.metadata, seed.byteLength, tail.metadataLength, {});
    const layout = { ...base, ...(region ? { pageIndexRange: region } : {}) };
    const full = planRead(layout, { pageIndex: true });
    expect(full.requests[0]?.offset).toBeGreaterThan(0); // the first chunk starts at 4
    expect(region).toBeDefined();
    // Without the page index in the plan, the plan does not cover the file: no magic.
    expect(planRead(layout, { leadingMagic: true }).ranges.some((r) => r.offset === 0)).toBe(false);
    const whole = planRead(layout, { pageIndex: true, leadingMagic: true });
    expect(whole.ranges[0]).toEqual({ offset: 0, length: 4 });
    expect(whole.requests[0]?.offset).toBe(0);
    expect(whole.requestCount).toBe(full.requestCount); // merged into the first request, not its own
    const one = planRead(layout, { rowGroups: [7], pageIndex: true, leadingMagic: true });
    expect(one.ranges.some((r) => r.offset === 0)).toBe(false);
  });

  it('a window that already holds all but the first 1–4 bytes asks for just those (a whole read just over the open window)', async () => {
    const seed = await fixture(FIXTURES.seed);
    for (const missing of [1, 2, 4]) {
      const layout = await layoutOf(seed, seed.byteLength - missing);
      expect(layout.held).toEqual({ offset: missing, length: seed.byteLength - missing });
      const plan = planRead(layout, { pageIndex: true, leadingMagic: true });
      expect(plan.ranges).toEqual([{ offset: 0, length: missing }]);
      expect(plan.requests.map((r) => [r.offset, r.length])).toEqual([[0, missing]]);
      expect(planRead(layout, { pageIndex: true }).requestCount).toBe(0); // not asked: no magic
    }
    // Held from offset 0: nothing to add.
    expect(planRead(await layoutOf(seed, 'all'), { pageIndex: true, leadingMagic: true }).requestCount).toBe(0);
  });
});
