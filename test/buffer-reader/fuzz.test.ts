/**
 * Seeded fuzz: over 10,000 random read / seek / readAt / readRanges / prefetch / insert / iterate
 * operations (alone and several at once) against a reference buffer, on memory, fs (a temp dir) and
 * real HTTP (ObjectServer + httpBackend), mostly under budgets smaller than one merged request, some
 * behind withThrottle (1 ms first byte). Every byte must match; reads return 0 only at the end; the
 * budget is never exceeded by more than one block; close leaves nothing held.
 *
 * Fixed seeds: a failure names the test's seed, the run, its seed and configuration, and the last
 * operations. Replay with `FUZZ_SEED=<seed> npx vitest run test/buffer-reader/fuzz.test.ts`
 * (the same seed for every test; the default is each test's own).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { BufferReader, type BufferReaderOptions } from '../../src/buffer-reader/buffer-reader.js';
import { BufferPool } from '../../src/buffer-reader/pool.js';
import { ReaderError } from '../../src/errors.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { randomBytes } from '../support/data.js';
import { KiB } from './helpers.js';
import { prng } from '../support/data.js';

const SIZE = 150_001;
const data = randomBytes(SIZE, 2026);
const PATH = 'fuzz.bin';

/** Per-op guard: a hang becomes a failure that names the seed, not a bare test timeout. */
const OP_TIMEOUT_MS = 10_000;


type Rng = () => number;
const int = (rnd: Rng, lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
const pick = <T>(rnd: Rng, xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;

interface Range {
  offset: number;
  length: number;
}

type Op =
  | { kind: 'seekStart' | 'seekCurrent' | 'seekEnd'; n: number }
  | { kind: 'read'; n: number }
  | { kind: 'readAt'; offset: number; length: number }
  | { kind: 'readRanges'; ranges: Range[] }
  | { kind: 'parallelAt'; ranges: Range[] }
  | { kind: 'readWithAt'; n: number; ranges: Range[] }
  | { kind: 'prefetch'; ranges: Range[] }
  | { kind: 'insert'; offset: number; length: number }
  | { kind: 'iterate'; pieces: number };

/** An offset: mostly inside, sometimes at the edges or past the end. */
function offset(rnd: Rng): number {
  const r = rnd();
  if (r < 0.8) return int(rnd, 0, SIZE - 1);
  if (r < 0.9) return int(rnd, SIZE - 300, SIZE - 1);
  if (r < 0.95) return int(rnd, 0, 300);
  return int(rnd, SIZE, SIZE + 500);
}

function length(rnd: Rng, max: number): number {
  const r = rnd();
  if (r < 0.05) return 0;
  if (r < 0.5) return int(rnd, 1, 200);
  return int(rnd, 1, max);
}

const inside = (rnd: Rng, max: number): Range => {
  const o = int(rnd, 0, SIZE - 1);
  return { offset: o, length: Math.min(int(rnd, 1, max), SIZE - o) };
};

/** The next operation; `lastAt` is where the previous readAt ended, to make runs of sequential readAts. */
function nextOp(rnd: Rng, lastAt: number): Op {
  const r = rnd();
  if (r < 0.06) return { kind: 'seekStart', n: int(rnd, 0, SIZE + 100) };
  if (r < 0.12) return { kind: 'seekCurrent', n: int(rnd, -30_000, 30_000) };
  if (r < 0.15) return { kind: 'seekEnd', n: int(rnd, -SIZE - 10, 20) };
  if (r < 0.35) return { kind: 'read', n: pick(rnd, [1, 7, 100, 4096, int(rnd, 1, 40_000)]) };
  if (r < 0.47) return { kind: 'readAt', offset: offset(rnd), length: length(rnd, 40_000) };
  if (r < 0.62) {
    // Sequential (or nearly) after the previous readAt: drives the positional read-ahead.
    const o = rnd() < 0.6 ? lastAt : lastAt + int(rnd, 1, 10 * KiB);
    return { kind: 'readAt', offset: o >= SIZE ? int(rnd, 0, 1000) : o, length: pick(rnd, [8, 100, 4096, int(rnd, 1, 20_000)]) };
  }
  if (r < 0.72) return { kind: 'readRanges', ranges: Array.from({ length: int(rnd, 0, 20) }, () => ({ offset: offset(rnd), length: length(rnd, 12_000) })) };
  if (r < 0.8) {
    // Several readAts at once; half the time a contiguous run, as a decoder fires its slices.
    const n = int(rnd, 2, 8);
    if (rnd() < 0.5) {
      let o = int(rnd, 0, SIZE - 1);
      const ranges: Range[] = [];
      for (let i = 0; i < n && o < SIZE; i++) {
        const len = Math.min(int(rnd, 1, 9000), SIZE - o);
        ranges.push({ offset: o, length: len });
        o += len + (rnd() < 0.3 ? int(rnd, 1, 2000) : 0);
      }
      return { kind: 'parallelAt', ranges };
    }
    return { kind: 'parallelAt', ranges: Array.from({ length: n }, () => ({ offset: offset(rnd), length: length(rnd, 20_000) })) };
  }
  if (r < 0.86) return { kind: 'readWithAt', n: int(rnd, 1, 20_000), ranges: Array.from({ length: int(rnd, 1, 3) }, () => inside(rnd, 15_000)) };
  if (r < 0.91) return { kind: 'prefetch', ranges: Array.from({ length: int(rnd, 1, 6) }, () => inside(rnd, 30_000)) };
  if (r < 0.95) return { kind: 'insert', ...inside(rnd, 20_000) };
  return { kind: 'iterate', pieces: int(rnd, 1, 4) };
}

interface Config {
  budget?: number;
  gap: number;
  maxRangeSize: number;
  readahead: BufferReaderOptions['readahead'];
  knownSize: boolean;
  concurrency: number;
}

function nextConfig(rnd: Rng): Config {
  // Mostly budgets smaller than one merged request (gap and maxRangeSize are larger).
  const budget = pick(rnd, [1_000, 3_000, 6_000, 12 * KiB, 40 * KiB, undefined]);
  return {
    ...(budget === undefined ? {} : { budget }),
    gap: pick(rnd, [0, 500, 8 * KiB, 64 * KiB]),
    maxRangeSize: pick(rnd, [1_000, 16 * KiB, 64 * KiB, 1024 * KiB]),
    readahead: pick<BufferReaderOptions['readahead']>(rnd, [true, false, { initial: 2 * KiB, max: 16 * KiB }, { initial: 64 * KiB }]),
    knownSize: rnd() < 0.5,
    concurrency: pick(rnd, [1, 2, 32]),
  };
}

function expected(r: Range): Uint8Array | 'RangeNotSatisfied' {
  if (r.length === 0) return new Uint8Array(0);
  if (r.offset >= SIZE) return 'RangeNotSatisfied';
  return data.subarray(r.offset, Math.min(SIZE, r.offset + r.length));
}

function fail(what: string): never {
  throw new Error(what);
}

function checkBytes(got: Uint8Array, want: Uint8Array, what: string): void {
  if (got.byteLength !== want.byteLength) fail(`${what}: ${got.byteLength} bytes, expected ${want.byteLength}`);
  if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))) {
    let i = 0;
    while (got[i] === want[i]) i++;
    fail(`${what}: first wrong byte at +${i}`);
  }
}

async function settle<T>(p: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: unknown }> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

function checkRange(res: { ok: true; value: Uint8Array } | { ok: false; error: unknown }, r: Range, what: string): void {
  const want = expected(r);
  if (want === 'RangeNotSatisfied') {
    if (res.ok || !(res.error instanceof ReaderError) || res.error.kind !== want) fail(`${what}: expected RangeNotSatisfied, got ${res.ok ? 'bytes' : String(res.error)}`);
  } else if (!res.ok) fail(`${what}: ${String(res.error)}`);
  else checkBytes(res.value, want, what);
}

/** The reader under test and the model of its position. */
class Run {
  pos = 0;
  lastAt = 0;
  /** Largest block the reader may hold: a fetched block is at most blockCap, an inserted one its length. */
  maxBlock: number;
  constructor(
    readonly reader: BufferReader,
    readonly blockCap: number,
  ) {
    this.maxBlock = blockCap;
  }

  async readOnce(n: number, what: string): Promise<void> {
    const buf = new Uint8Array(n);
    const at = this.pos;
    const got = await this.reader.read(buf);
    if (at >= SIZE) {
      if (got !== 0) fail(`${what}: read past the end returned ${got}`);
    } else {
      if (got <= 0 || got > n) fail(`${what}: read returned ${got} at ${at} (size ${SIZE})`);
      checkBytes(buf.subarray(0, got), data.subarray(at, at + got), what);
      this.pos += got;
    }
    if (this.reader.position !== this.pos) fail(`${what}: position ${this.reader.position}, expected ${this.pos}`);
  }

  async step(o: Op): Promise<void> {
    const r = this.reader;
    const what = o.kind;
    switch (o.kind) {
      case 'seekStart':
      case 'seekCurrent':
      case 'seekEnd': {
        const target = o.kind === 'seekStart' ? o.n : o.kind === 'seekCurrent' ? this.pos + o.n : SIZE + o.n;
        const to = o.kind === 'seekStart' ? SeekFrom.start(o.n) : o.kind === 'seekCurrent' ? SeekFrom.current(o.n) : SeekFrom.end(o.n);
        const res = await settle(r.seek(to));
        if (target < 0) {
          if (res.ok || !(res.error instanceof ReaderError) || res.error.kind !== 'InvalidInput') fail(`${what}: expected InvalidInput before 0`);
        } else if (!res.ok || res.value !== target) fail(`${what}: got ${res.ok ? res.value : String(res.error)}, expected ${target}`);
        else this.pos = target;
        return;
      }
      case 'read':
        return this.readOnce(o.n, what);
      case 'readAt': {
        checkRange(await settle(r.readAt(o.offset, o.length)), o, what);
        if (o.length > 0 && o.offset < SIZE) this.lastAt = Math.min(SIZE, o.offset + o.length);
        return;
      }
      case 'readRanges': {
        const res = await settle(r.readRanges(o.ranges));
        const wants = o.ranges.map(expected);
        if (wants.includes('RangeNotSatisfied')) {
          if (res.ok || !(res.error instanceof ReaderError) || res.error.kind !== 'RangeNotSatisfied') fail(`${what}: expected RangeNotSatisfied`);
          return;
        }
        if (!res.ok) fail(`${what}: ${String(res.error)}`);
        if (res.value.length !== o.ranges.length) fail(`${what}: ${res.value.length} results for ${o.ranges.length} ranges`);
        res.value.forEach((got, i) => checkBytes(got, wants[i] as Uint8Array, `${what}[${i}]`));
        return;
      }
      case 'parallelAt': {
        const results = await Promise.all(o.ranges.map((x) => settle(r.readAt(x.offset, x.length))));
        results.forEach((res, i) => checkRange(res, o.ranges[i] as Range, `${what}[${i}]`));
        const last = o.ranges.at(-1) as Range;
        if (last.length > 0 && last.offset < SIZE) this.lastAt = Math.min(SIZE, last.offset + last.length);
        return;
      }
      case 'readWithAt': {
        // A sequential read and positional reads in flight together.
        const [ats] = await Promise.all([Promise.all(o.ranges.map((x) => settle(r.readAt(x.offset, x.length)))), this.readOnce(o.n, `${what}.read`)]);
        ats.forEach((res, i) => checkRange(res, o.ranges[i] as Range, `${what}.readAt[${i}]`));
        return;
      }
      case 'prefetch': {
        const res = await r.prefetch(o.ranges);
        if (res.requests < 0 || res.bytes < 0) fail(`${what}: ${JSON.stringify(res)}`);
        return;
      }
      case 'insert': {
        const added = r.insert(o.offset, data.slice(o.offset, o.offset + o.length));
        if (added < 0 || added > o.length) fail(`${what}: added ${added} of ${o.length}`);
        this.maxBlock = Math.max(this.maxBlock, Math.min(o.length, this.reader.stats().memory.budget));
        return;
      }
      case 'iterate': {
        const it = r[Symbol.asyncIterator]();
        try {
          for (let i = 0; i < o.pieces; i++) {
            const step = await it.next();
            if (step.done) {
              if (this.pos < SIZE) fail(`${what}: iteration ended at ${this.pos} before the end`);
              break;
            }
            if (step.value.byteLength === 0) fail(`${what}: empty piece`);
            checkBytes(step.value, data.subarray(this.pos, this.pos + step.value.byteLength), what);
            this.pos += step.value.byteLength;
          }
        } finally {
          await it.return?.();
        }
        if (r.position !== this.pos) fail(`${what}: position ${r.position}, expected ${this.pos}`);
        return;
      }
    }
  }

  checkMemory(): void {
    const m = this.reader.stats().memory;
    if (m.buffered + m.inFlight > m.budget) fail(`memory: buffered ${m.buffered} + in flight ${m.inFlight} over the budget ${m.budget}`);
    // Each reader pins at most one block outside the LRU (its current read block).
    if (m.held > m.budget + this.maxBlock) fail(`memory: held ${m.held} over budget ${m.budget} + one block ${this.maxBlock}`);
  }
}

async function withTimeout<T>(p: Promise<T>, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const guard = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer after ${OP_TIMEOUT_MS} ms (hang)`)), OP_TIMEOUT_MS);
  });
  try {
    return await Promise.race([p, guard]);
  } finally {
    clearTimeout(timer);
  }
}

/** One run: a fresh reader, a configuration and `ops` operations, all from `seed`. Returns the ops run. */
async function fuzzRun(backend: Backend, seed: number, ops: number, label: string): Promise<number> {
  const rnd = prng(seed);
  const cfg = nextConfig(rnd);
  const reader = new BufferReader(backend, PATH, {
    adaptive: false,
    gap: cfg.gap,
    maxRangeSize: cfg.maxRangeSize,
    readahead: cfg.readahead,
    concurrency: cfg.concurrency,
    ...(cfg.knownSize ? { size: SIZE } : {}),
    ...(cfg.budget === undefined ? {} : { maxMemory: cfg.budget }),
  });
  const run = new Run(reader, Math.min(reader.maxRangeSize, cfg.budget ?? Infinity));
  const history: Op[] = [];
  const context = () =>
    `${label}: run seed ${seed}, config ${JSON.stringify(cfg)}, op #${history.length - 1}; last ops:\n  ${history
      .slice(-8)
      .map((o) => JSON.stringify(o))
      .join('\n  ')}`;
  try {
    for (let i = 0; i < ops; i++) {
      const o = nextOp(rnd, run.lastAt);
      history.push(o);
      await withTimeout(run.step(o), o.kind);
      run.checkMemory();
    }
    await withTimeout(reader.close(), 'close');
    const m = reader.stats().memory;
    if (m.buffered + m.inFlight + m.pinned !== 0) fail(`close left ${JSON.stringify(m)}`);
  } catch (err) {
    await reader.close().catch(() => undefined);
    throw new Error(`${err instanceof Error ? err.message : String(err)}\n${context()}`, { cause: err });
  }
  return ops;
}

const baseSeed = (own: number) => (process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : own);
/** The seed of one run: from the base seed, the test and the run's index. */
const runSeed = (base: number, test: number, run: number) => (Math.imul(base, 0x9e3779b1) ^ Math.imul(test, 0x85ebca6b) ^ run) >>> 0;
let total = 0;

/**
 * `runs` runs of `ops` operations, `parallel` runs at a time (each its own reader), seeded from
 * `seed`. Asserts the operations were all run and returns their count.
 */
async function fuzz(name: string, backend: () => Backend, seed: number, runs: number, ops: number, parallel: number): Promise<number> {
  let count = 0;
  const base = baseSeed(seed);
  for (let start = 0; start < runs; start += parallel) {
    const batch = Array.from({ length: Math.min(parallel, runs - start) }, (_, k) => start + k);
    const done = await Promise.all(batch.map((run) => fuzzRun(backend(), runSeed(base, seed, run), ops, `${name} (FUZZ_SEED=${base}, run ${run})`)));
    count += done.reduce((a, b) => a + b, 0);
  }
  expect(count).toBe(runs * ops);
  total += count;
  return count;
}

const throttled = (b: Backend) => withThrottle(b, { ttfbMs: 1 });

describe('BufferReader fuzz: memory', () => {
  // Small body chunks, so responses arrive in many pieces.
  const memory = memoryBackend({ [PATH]: data }, { chunkSize: 3000 });
  it('3,000 ops', () => fuzz('memory', () => memory, 101, 50, 60, 5));
  it('1,000 ops behind a 1 ms first byte', () => fuzz('memory+throttle', () => throttled(memory), 102, 20, 50, 10));
  it('1,000 ops, 1 ms first byte and 64 MB/s bodies', () => fuzz('memory+throttle+bandwidth', () => withThrottle(memory, { ttfbMs: 1, bytesPerSecond: 64e6 }), 103, 20, 50, 10));

  it('two readers sharing one tiny pool, operations interleaved', async () => {
    const base = baseSeed(104);
    let count = 0;
    for (let run = 0; run < 10; run++) {
      const pool = new BufferPool({ maxMemory: 4_000 });
      const mk = () => new Run(new BufferReader(memory, PATH, { adaptive: false, pool, gap: 8 * KiB, maxRangeSize: 16 * KiB, size: SIZE }), 4_000);
      const runs = [mk(), mk()];
      const rnds = [prng(runSeed(base, 104, run * 2)), prng(runSeed(base, 104, run * 2 + 1))];
      try {
        for (let i = 0; i < 50; i++) {
          await Promise.all(runs.map((r, k) => withTimeout(r.step(nextOp(rnds[k] as Rng, r.lastAt)), 'shared')));
          const m = pool.memory();
          // Each reader pins at most one block outside the LRU.
          if (m.buffered + m.inFlight > m.budget || m.held > m.budget + 2 * 4_000) fail(`shared pool over budget: ${JSON.stringify(m)}`);
          count += 2;
        }
      } catch (err) {
        throw new Error(`shared pool (FUZZ_SEED=${base}, run ${run}): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      } finally {
        await Promise.all(runs.map((r) => r.reader.close()));
      }
      expect(pool.memory()).toMatchObject({ buffered: 0, inFlight: 0, pinned: 0 });
    }
    expect(count).toBe(1000);
    total += count;
  });
});

describe('BufferReader fuzz: fs (a temp dir)', () => {
  let root: string;
  let fs: Backend;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'brr-fuzz-'));
    await writeFile(join(root, PATH), data);
    fs = fsBackend({ root });
  });
  afterAll(async () => {
    if (root) await rm(root, { recursive: true, force: true });
  });
  it('2,000 ops', () => fuzz('fs', () => fs, 201, 40, 50, 4));
  it('600 ops behind a 1 ms first byte', () => fuzz('fs+throttle', () => throttled(fs), 202, 12, 50, 6));
});

describe('BufferReader fuzz: HTTP (ObjectServer + httpBackend)', () => {
  let server: ObjectServer;
  let http: Backend;
  beforeAll(async () => {
    server = await new ObjectServer().start();
    server.put(`bucket/${PATH}`, data);
    http = httpBackend({ baseUrl: `${server.url}/bucket` });
  });
  afterAll(() => server?.stop());
  it('1,500 ops', () => fuzz('http', () => http, 301, 30, 50, 3));
  it('600 ops behind a 1 ms first byte', () => fuzz('http+throttle', () => throttled(http), 302, 12, 50, 6));
});

describe('BufferReader fuzz: total', () => {
  it('ran at least 10,000 operations', () => {
    expect(total).toBeGreaterThanOrEqual(10_000);
  });
});
