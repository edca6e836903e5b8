/**
 * A seeded fuzz run: more than 100,000 random read / seek / readAt / readRanges operations through
 * BufferReader and RangeReader over memory, fs, HTTP (ObjectServer), S3 (moto), and HTTP and S3
 * behind the fault proxy injecting random faults (truncations, resets, dropped connections, stalls,
 * 5xx/429/408, ignored and widened ranges) under withRetry. Every byte is
 * checked against the reference, per operation and as a SHA-256 of everything read vs the same
 * slices of the reference. The seed is printed with the figures, and with any failure;
 * `FUZZ_SEED=<n>` replays one.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent } from 'undici';
import { ObjectServer } from '../../bench/object-server.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { s3Backend } from '../../src/backends/s3/backend.js';
import { BufferReader, type BufferReaderOptions } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { withRetry, type RetryCounters, type RetryingBackend } from '../../src/layers/retry.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import type { Backend } from '../../src/types.js';
import { FaultProxy, type FaultStep, type ProxyRequest } from '../support/fault-proxy.js';
import { randomBytes } from '../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { prng } from '../support/data.js';

const SEED = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const motoOk = requireMotoInCi('test/reliability/fuzz.test.ts');

/** Small objects (every edge, many buffer hits), including an empty one. */
const OBJECTS: Record<string, Uint8Array> = {
  'a.bin': randomBytes(200_000, 101),
  'b.bin': randomBytes(37_001, 102),
  'c.bin': randomBytes(1, 103),
  'e.bin': new Uint8Array(0),
};
const KEYS = Object.keys(OBJECTS);
const WEIGHTS = [6, 3, 1, 1];

/** Operations per target; their sum is the run's total (≥ 100,000). */
const OPS = { memory: 55_000, fs: 18_000, http: 12_000, 'http+faults': 10_000, s3: 4_000, 's3+faults': 2_500 } as const;
type Target = keyof typeof OPS;

/** The retry settings under faults: quick backoff and stall detection, a budget no random streak exhausts. */
const FUZZ_RETRY = { baseMs: 1, capMs: 5, maxAttempts: 30, stallMs: 100, totalMs: 60_000 };


/** A random fault for a request (most requests pass). Only retryable faults: final ones are tested case by case. */
function faultPolicy(rnd: () => number): (req: ProxyRequest) => FaultStep | undefined {
  return () => {
    if (rnd() >= 0.15) return undefined;
    const r = rnd();
    const after = Math.floor(rnd() ** 3 * 20_000); // mostly early: most bodies are a few KB
    if (r < 0.2) return { action: 'truncate', after };
    if (r < 0.35) return { action: 'reset', after };
    if (r < 0.42) return { action: 'drop' };
    if (r < 0.43) return { action: 'stall', after: rnd() < 0.3 ? -1 : after }; // each costs a stall limit's wait (stallMs, doubled per stall in a row: stallLimit)
    if (r < 0.52) return { action: 'status', status: 503, body: '<Error><Code>SlowDown</Code><Message>Reduce your request rate.</Message></Error>' };
    if (r < 0.6) return { action: 'status', status: 500 };
    if (r < 0.65) return { action: 'status', status: 502 };
    if (r < 0.72) return { action: 'status', status: 429, headers: { 'retry-after': '0' } };
    if (r < 0.75) return { action: 'status', status: 408 };
    if (r < 0.88) return { action: 'ignore-range' };
    return { action: 'widen-range', from: 0 };
  };
}

interface Tally {
  ops: number;
  bytes: number;
  errorsExpected: number;
  readers: number;
  ms: number;
  got: ReturnType<typeof createHash>;
  want: ReturnType<typeof createHash>;
}

class FuzzFailure extends Error {}

/** Runs `n` random operations on fresh readers of random kinds and settings over `backend`. */
async function fuzzTarget(target: Target, backend: (rnd: () => number) => Backend, n: number, rnd: () => number): Promise<Tally> {
  const started = performance.now();
  const tally: Tally = { ops: 0, bytes: 0, errorsExpected: 0, readers: 0, ms: 0, got: createHash('sha256'), want: createHash('sha256') };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)] as T;
  const int = (max: number) => Math.floor(rnd() * max);
  let step = '';
  const fail = (why: string): never => {
    throw new FuzzFailure(`fuzz failure (seed ${SEED}, target ${target}, op ${tally.ops}: ${step}): ${why}`);
  };
  const check = (got: Uint8Array, want: Uint8Array): void => {
    if (got.byteLength !== want.byteLength || !Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(want.buffer, want.byteOffset, want.byteLength))) {
      fail(`wrong bytes: got ${got.byteLength}, want ${want.byteLength}`);
    }
    tally.got.update(got);
    tally.want.update(want);
    tally.bytes += got.byteLength;
  };
  const expectKind = async (p: Promise<unknown>, kind: ReaderError['kind']): Promise<void> => {
    const err = await p.then(
      () => fail(`expected ${kind}, got success`),
      (e: unknown) => e,
    );
    if (!(err instanceof ReaderError) || err.kind !== kind) fail(`expected ${kind}, got ${err instanceof Error ? err.message : String(err)}`);
    tally.errorsExpected++;
  };

  while (tally.ops < n) {
    let r = rnd() * WEIGHTS.reduce((a, b) => a + b, 0);
    let key = KEYS[0] as string;
    for (let i = 0; i < KEYS.length; i++) if ((r -= WEIGHTS[i] as number) < 0) { key = KEYS[i] as string; break; }
    const data = OBJECTS[key] as Uint8Array;
    const size = data.byteLength;
    const knownSize = rnd() < 0.5;
    const buffered = rnd() < 0.7;
    const opts: BufferReaderOptions = {
      // Tiny budgets and request caps make many requests per read: cheap on memory, not on moto.
      maxMemory: pick(target === 'memory' ? [3_000, 20_000, 1 << 20] : [8_000, 64_000, 1 << 20]),
      gap: pick([0, 500, 16_384]),
      maxRangeSize: pick(target === 'memory' ? [1_000, 16_384, 1 << 20] : [4_096, 16_384, 1 << 20]),
      readahead: pick([true, false, { initial: 2048, max: 32_768 }] as const),
      concurrency: pick([1, 4, 32]),
      adaptive: rnd() < 0.5,
      ...(knownSize ? { size } : {}),
    };
    const reader = buffered ? new BufferReader(backend(rnd), key, opts) : new RangeReader(backend(rnd), key, { skipLimit: pick([0, 1000, 8192]), ...(knownSize ? { size } : {}) });
    tally.readers++;
    const life = 200 + int(600);
    let pos = 0;
    const near = () => Math.max(0, pos + int(8000) - 3000);
    const offset = () => (rnd() < 0.6 ? near() : int(size + 50));
    try {
      for (let i = 0; i < life && tally.ops < n; i++, tally.ops++) {
        const k = rnd();
        if (k < 0.35) {
          const len = rnd() < 0.9 ? 1 + int(3000) : 1 + int(40_000);
          step = `read(${len}) at ${pos}`;
          const buf = new Uint8Array(len);
          const got = await reader.read(buf);
          if (pos >= size) {
            if (got !== 0) fail(`read past the end returned ${got}`);
          } else {
            if (got < 1 || got > len) fail(`read returned ${got} before the end`);
            check(buf.subarray(0, got), data.subarray(pos, pos + got));
            pos += got;
          }
          if (reader.position !== pos) fail(`position ${reader.position}, expected ${pos}`);
        } else if (k < 0.55) {
          const w = int(3);
          const d = w === 0 ? int(size + 100) : w === 1 ? int(20_000) - 10_000 : -int(size + 20) + int(30);
          const target = w === 0 ? d : w === 1 ? pos + d : size + d;
          const to = w === 0 ? SeekFrom.start(d) : w === 1 ? SeekFrom.current(d) : SeekFrom.end(d);
          step = `seek(${to.whence} ${d}) from ${pos}`;
          if (target < 0) await expectKind(reader.seek(to), 'InvalidInput');
          else {
            const at = await reader.seek(to);
            if (at !== target) fail(`seek gave ${at}, expected ${target}`);
            pos = target;
          }
        } else if (reader instanceof BufferReader && k < 0.8) {
          const o = offset();
          const len = rnd() < 0.1 ? 0 : rnd() < 0.95 ? 1 + int(4000) : 1 + int(60_000);
          step = `readAt(${o}, ${len})`;
          if (len > 0 && o >= size) await expectKind(reader.readAt(o, len), 'RangeNotSatisfied');
          else check(await reader.readAt(o, len), data.subarray(o, Math.min(size, o + len)));
        } else if (reader instanceof BufferReader) {
          const ranges = Array.from({ length: 1 + int(12) }, () => ({ offset: rnd() < 0.97 ? Math.min(offset(), Math.max(0, size - 1)) : offset(), length: int(5000) }));
          step = `readRanges(${JSON.stringify(ranges)})`;
          if (ranges.some((x) => x.length > 0 && x.offset >= size)) await expectKind(reader.readRanges(ranges), 'RangeNotSatisfied');
          else {
            const parts = await reader.readRanges(ranges);
            parts.forEach((p, j) => check(p, data.subarray(ranges[j]?.offset ?? 0, Math.min(size, (ranges[j]?.offset ?? 0) + (ranges[j]?.length ?? 0)))));
          }
        } else {
          // RangeReader has no readAt: a seek and a read
          const o = offset();
          const len = 1 + int(4000);
          step = `seek(${o}) + read(${len})`;
          await reader.seek(SeekFrom.start(o));
          pos = o;
          const buf = new Uint8Array(len);
          const got = await reader.read(buf);
          if (pos >= size) {
            if (got !== 0) fail(`read past the end returned ${got}`);
          } else {
            if (got < 1) fail(`read returned ${got} before the end`);
            check(buf.subarray(0, got), data.subarray(pos, pos + got));
            pos += got;
          }
        }
      }
    } catch (err) {
      if (err instanceof FuzzFailure) throw err;
      fail(`unexpected error ${err instanceof Error ? `${err.name}: ${err.message}` : String(err)}`);
    } finally {
      await reader.close();
    }
  }
  tally.ms = Math.round(performance.now() - started);
  return tally;
}

describe('fuzz: random operations on every backend, every byte checked', () => {
  let server: ObjectServer;
  let httpProxy: FaultProxy;
  let moto: MotoServer | undefined;
  let s3Proxy: FaultProxy | undefined;
  let root: string;
  let agent: Agent;

  beforeAll(async () => {
    console.log(`fuzz seed ${SEED} (replay with FUZZ_SEED=${SEED})`);
    server = await new ObjectServer().start();
    root = await mkdtemp(join(tmpdir(), 'brr-fuzz-'));
    for (const [k, v] of Object.entries(OBJECTS)) {
      server.put(k, v);
      await writeFile(join(root, k), v);
    }
    httpProxy = await FaultProxy.start(server.url);
    agent = new Agent({ connections: 32 });
    if (motoOk) {
      moto = await startMoto();
      await moto.createBucket('fuzz');
      for (const [k, v] of Object.entries(OBJECTS)) await moto.put('fuzz', k, v);
      s3Proxy = await FaultProxy.start(moto.endpoint);
    }
  }, 60_000);
  afterAll(async () => {
    await agent?.close();
    await httpProxy?.stop();
    await s3Proxy?.stop();
    await moto?.stop();
    await server?.stop();
    await rm(root, { recursive: true, force: true });
  });

  it(`≥ 100,000 operations match the reference (seed ${SEED})`, async () => {
    const started = performance.now();
    httpProxy.policy = faultPolicy(prng(SEED ^ 0x5eed));
    if (s3Proxy) s3Proxy.policy = faultPolicy(prng(SEED ^ 0xface));
    const retrying: RetryingBackend[] = [];
    const retry = (b: Backend): Backend => {
      const r = withRetry(b, FUZZ_RETRY);
      retrying.push(r);
      return r;
    };
    const memory = memoryBackend(OBJECTS, { chunkSize: 4096 });
    const fs = fsBackend({ root });
    const s3 = (endpoint: string) => s3Backend({ bucket: 'fuzz', endpoint, region: 'us-east-1', credentials: { accessKeyId: 'fuzz', secretAccessKey: 'fuzz-secret' }, dispatcher: agent, env: {} });
    const targets: [Target, (rnd: () => number) => Backend][] = [
      ['memory', (rnd) => (rnd() < 0.5 ? memory : retry(memory))],
      ['fs', (rnd) => (rnd() < 0.5 ? fs : retry(fs))],
      ['http', () => httpBackend({ baseUrl: server.url, dispatcher: agent })],
      ['http+faults', () => retry(httpBackend({ baseUrl: httpProxy.url, dispatcher: agent }))],
    ];
    if (moto && s3Proxy) {
      targets.push(['s3', () => s3(moto?.endpoint as string)], ['s3+faults', () => retry(s3((s3Proxy as FaultProxy).url))]);
    }
    // Each target gets its own generator (derived from the seed), and all run at once.
    const tallies = await Promise.all(targets.map(([name, make], i) => fuzzTarget(name, make, OPS[name], prng(SEED + i + 1)).then((t) => [name, t] as const)));

    const counters: RetryCounters = { operations: 0, attempts: 0, retries: 0, resumes: 0, stalls: 0, deadlines: 0, exhausted: 0 };
    for (const r of retrying) for (const [k, v] of Object.entries(r.retryCounters())) counters[k as keyof RetryCounters] += v;
    const faults = [httpProxy, s3Proxy].flatMap((p) => p?.log ?? []).filter((e) => e.action !== 'pass');
    const byAction: Record<string, number> = {};
    for (const f of faults) byAction[f.action] = (byAction[f.action] ?? 0) + 1;
    const ops = tallies.reduce((n, [, t]) => n + t.ops, 0);
    const figures = {
      seed: SEED,
      ops,
      opsByTarget: Object.fromEntries(tallies.map(([name, t]) => [name, t.ops])),
      msByTarget: Object.fromEntries(tallies.map(([name, t]) => [name, t.ms])),
      readers: tallies.reduce((n, [, t]) => n + t.readers, 0),
      bytesChecked: tallies.reduce((n, [, t]) => n + t.bytes, 0),
      expectedErrors: tallies.reduce((n, [, t]) => n + t.errorsExpected, 0),
      requestsThroughProxies: (httpProxy.log.length + (s3Proxy?.log.length ?? 0)),
      faultsInjected: faults.length,
      faultsByAction: byAction,
      retry: counters,
      runtimeMs: Math.round(performance.now() - started),
    };
    console.log(`fuzz figures ${JSON.stringify(figures)}`);

    for (const [name, t] of tallies) expect(t.got.digest('hex'), `${name}: SHA-256 of what was read vs the reference (seed ${SEED})`).toBe(t.want.digest('hex'));
    expect(ops).toBeGreaterThanOrEqual(motoOk ? 100_000 : 87_000);
    expect(faults.length).toBeGreaterThan(100);
    expect(counters.retries).toBeGreaterThan(100);
    expect(counters.resumes).toBeGreaterThan(10);
    expect(counters.exhausted).toBe(0);
  }, 150_000);
});
