/**
 * The "decode" section of the benchmark (issue 14, item 2): a whole-file `readTable` against the
 * simplest thing a user can do — one GET of the whole object, then `parquet-wasm.readParquet` +
 * `intoIPCStream` + apache-arrow's `tableFromIPC` in-process — on the seed-like files, against the
 * same object server, in the same run, iterations interleaved (baseline, ours, baseline, ...) so
 * the shared machine's load drifts over both alike.
 *
 * Each run is split into stages: I/O (time with a request in flight, from the client's own request
 * log), footer (ours: parsing the footer in `openParquet`), ship (to the decoder and back: our worker
 * thread; 0 in-process), decode (parquet-wasm's read), IPC (its Arrow IPC serialisation), arrow
 * (`tableFromIPC`) and other (ours: readTable's planning). Two ratios per file:
 * - `wallRatio`: whole call against whole call (the target; it also needs our read to take
 *   the baseline's one round trip);
 * - `decodeRatio`: `readTable` on bytes already fetched (its time minus its I/O) against the
 *   baseline's decode + IPC + arrow — the decode path alone.
 * Each is the median of the per-pair ratios. Beside it, the ratio of the best runs (the fastest of
 * each side): other processes only ever add time, so that is each path's own cost — our fixed
 * costs (planning, two thread hand-offs, one copy) against a decode at its fastest. Under heavy
 * load the median moves the most for our path: each hand-off to the worker waits for a core.
 */
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { join } from 'node:path';
import { collectBody } from '../src/body.js';
import { withMetrics } from '../src/layers/metrics.js';
import type { DecodeTimings } from '../src/parquet/decode.js';
import { openParquet } from '../src/parquet/source.js';
import type { Backend } from '../src/types.js';
import { FIXTURE_DIR, FIXTURES, fixture, type FixtureSpec } from './fixtures.js';
import type { ServerClient } from './server-client.js';
import { guardedTarget, type Check } from './targets.js';

/**
 * Interleaved pairs per file (each ~0.12 s). The decode path is ~10 ms, and one load spike on the
 * shared 2-core machine moves a pair's ratio by ±50 %: with 11 pairs the median moved between 0.97×
 * and 1.62× from one run to the next at load 4 (bench:decode --check, three runs in a row); 25 and
 * 21 pairs cost ~1–1.5 s more per file and keep one burst from deciding the median.
 */
const PAIRS = 25;
const PAIRS_CHECK = 21;
/** Warm-up runs of each reader per file (enough for V8 to optimise a fresh worker's wasm, measured: ~10 decodes). */
const WARMUP = 6;
/** The bound for both ratios. */
export const DECODE_RATIO_TARGET = 1.2;
/**
 * Regression guards while the target is not met on every run: the decode path measured 1.06–1.71× on
 * the shared machine (1.71× for seedPlus in a clean-clone CI run), and 0.92–1.62× in nine runs at
 * load 3–8 after planning left the whole-file path (its fixed cost is now ~1 ms on a 6–10 ms
 * decode; the spread is load bursts, which a 10 ms measurement cannot average out). Before the warm
 * worker each call could pay a worker start and parquet-wasm's 50–150 ms compile on a 5–10 ms
 * decode, so 3× catches a return to that, not noise. The whole call: 1.3–1.8× before the
 * whole-read window (issue 14's table), 1.00–1.34× after.
 */
const DECODE_RATIO_GUARD = 3;
const WHOLE_CALL_GUARD = 1.5;

/** ms per stage; `ship` and `other` are 0 for the baseline (nothing crosses a thread, nothing is planned). */
export interface DecodeStages {
  io: number;
  footer: number;
  ship: number;
  decode: number;
  ipc: number;
  arrow: number;
  other: number;
}

export interface DecodeRunSummary {
  /** Median wall time of the whole call, ms. */
  wallMs: number;
  /** The best run's wall time, and the best time after the I/O (what `decodeRatio` compares), ms. */
  bestWallMs: number;
  bestAfterIoMs: number;
  /** Median of each stage, ms (medians: they need not add up to `wallMs`). */
  stages: DecodeStages;
  /** Of the last run, from the client's request log (the same requests the server sees). */
  roundTrips: number;
  gets: number;
  rows: number;
}

export interface DecodeBenchCase {
  file: string;
  bytes: number;
  pairs: number;
  baseline: DecodeRunSummary;
  ours: DecodeRunSummary;
  /** Where our decodes ran (after the warm-up: `warm-worker` every time when the pool works). */
  ranOn: string[];
  /** Whole call against whole call: the median of the pairs' ratios. */
  wallRatio: number;
  /** After the I/O: ours (ship + decode + IPC + arrow + other) against the baseline's (decode + IPC + arrow), median of the pairs. */
  decodeRatio: number;
  /** The same ratios on the best run of each side. */
  bestWallRatio: number;
  bestDecodeRatio: number;
}

export interface DecodeBench {
  cases: DecodeBenchCase[];
}

interface Run {
  wallMs: number;
  stages: DecodeStages;
  /** What `decodeRatio` compares: the call's time after its I/O, without the open. */
  afterIoMs: number;
  rows: number;
  ranOn?: string;
  roundTrips: number;
  gets: number;
}

/** Time with at least one request in flight (the union of the requests' intervals), from the client's log. */
function requestTime(requests: readonly { start: number; end: number }[]): number {
  const sorted = [...requests].sort((a, b) => a.start - b.start);
  let total = 0;
  let from = 0;
  let to = -Infinity;
  for (const r of sorted) {
    if (r.start > to) {
      if (to > from) total += to - from;
      from = r.start;
      to = r.end;
    } else to = Math.max(to, r.end);
  }
  return to > from ? total + to - from : total;
}

const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
};

/** One GET of the whole object through the same HTTP client, then parquet-wasm and apache-arrow in-process. */
async function baseline(inner: Backend, key: string): Promise<Run> {
  const backend = withMetrics(inner);
  const t0 = performance.now();
  const bytes = await collectBody((await backend.read(key, { offset: 0 })).body);
  const t1 = performance.now();
  const wasm = readParquet(bytes);
  const t2 = performance.now();
  const ipc = wasm.intoIPCStream();
  const t3 = performance.now();
  const table = tableFromIPC(ipc);
  const t4 = performance.now();
  const m = backend.metrics.snapshot();
  return {
    wallMs: t4 - t0,
    afterIoMs: t4 - t1,
    rows: table.numRows,
    roundTrips: m.roundTrips,
    gets: m.gets,
    stages: { io: requestTime(m.requests), footer: 0, ship: 0, decode: t2 - t1, ipc: t3 - t2, arrow: t4 - t3, other: 0 },
  };
}

/** Ours, cold (no footer cache): `openParquet(…, { expect: 'whole' })` + `readTable()`, what the README tells a whole-file reader to write. */
async function ours(inner: Backend, key: string): Promise<Run> {
  const backend = withMetrics(inner);
  const t0 = performance.now();
  const source = await openParquet(backend, key, { metadataCache: false, expect: 'whole' });
  const opened = performance.now() - t0;
  const openIo = requestTime(backend.metrics.snapshot().requests);
  let timings: DecodeTimings | undefined;
  try {
    const table = await source.readTable({ onTimings: (t) => (timings = t) });
    const wallMs = performance.now() - t0;
    const t = timings as DecodeTimings;
    const m = backend.metrics.snapshot();
    return {
      wallMs,
      afterIoMs: t.totalMs - t.ioMs,
      rows: table.numRows,
      ranOn: t.ranOn,
      roundTrips: m.roundTrips,
      gets: m.gets,
      stages: { io: requestTime(m.requests), footer: opened - openIo, ship: t.shipMs, decode: t.decodeMs, ipc: t.ipcMs, arrow: t.arrowMs, other: t.otherMs },
    };
  } finally {
    await source.close();
  }
}

function summarize(runs: readonly Run[]): DecodeRunSummary {
  const stage = (k: keyof DecodeStages) => median(runs.map((r) => r.stages[k]));
  const last = runs.at(-1);
  return {
    wallMs: median(runs.map((r) => r.wallMs)),
    bestWallMs: Math.min(...runs.map((r) => r.wallMs)),
    bestAfterIoMs: Math.min(...runs.map((r) => r.afterIoMs)),
    stages: { io: stage('io'), footer: stage('footer'), ship: stage('ship'), decode: stage('decode'), ipc: stage('ipc'), arrow: stage('arrow'), other: stage('other') },
    roundTrips: last?.roundTrips ?? 0,
    gets: last?.gets ?? 0,
    rows: last?.rows ?? 0,
  };
}

async function runCase(server: ServerClient, backend: () => Backend, spec: FixtureSpec, pairs: number): Promise<DecodeBenchCase> {
  const size = (await fixture(spec)).byteLength;
  await server.put(spec.file, join(FIXTURE_DIR, spec.file));
  // Warm-up, not counted: the HTTP pool's sockets, the JIT, our decoder's worker (the design keeps
  // one warm). The in-process baseline's wasm is hot from the matrix's peers; a worker that started
  // since (an idle one ends after DECODER_IDLE_TIMEOUT_MS) runs its wasm on baseline code until V8
  // has optimised it, which takes a few decodes: both sides are measured warm.
  for (let i = 0; i < WARMUP; i++) {
    await baseline(backend(), spec.file);
    await ours(backend(), spec.file);
  }
  const base: Run[] = [];
  const mine: Run[] = [];
  for (let i = 0; i < pairs; i++) {
    base.push(await baseline(backend(), spec.file));
    mine.push(await ours(backend(), spec.file));
  }
  const baseSummary = summarize(base);
  const ourSummary = summarize(mine);
  return {
    file: spec.name,
    bytes: size,
    pairs,
    baseline: baseSummary,
    ours: ourSummary,
    ranOn: [...new Set(mine.map((r) => r.ranOn ?? '?'))],
    wallRatio: median(mine.map((o, i) => o.wallMs / (base[i] as Run).wallMs)),
    decodeRatio: median(mine.map((o, i) => o.afterIoMs / (base[i] as Run).afterIoMs)),
    bestWallRatio: ourSummary.bestWallMs / baseSummary.bestWallMs,
    bestDecodeRatio: ourSummary.bestAfterIoMs / baseSummary.bestAfterIoMs,
  };
}

/** The decode section on the seed-like files (740 KiB, within the open's window; ~1.1 MB, just over it). */
export async function runDecodeBench(server: ServerClient, backend: () => Backend, opts: { check: boolean }): Promise<DecodeBench> {
  const pairs = opts.check ? PAIRS_CHECK : PAIRS;
  const cases: DecodeBenchCase[] = [];
  for (const spec of [FIXTURES.seed, FIXTURES.seedPlus]) cases.push(await runCase(server, backend, spec, pairs));
  return { cases };
}

const f1 = (n: number) => n.toFixed(1);

/** The section's table: median stage times per reader, round trips, the two ratios. */
export function decodeLines(d: DecodeBench): string[] {
  const lines = [
    'decode: whole-file readTable vs one GET + parquet-wasm.readParquet + tableFromIPC in-process (median ms per stage; ratios: median of interleaved pairs, and of the best runs)',
    `  ${'file'.padEnd(9)} ${'reader'.padEnd(9)} ${'RTs'.padStart(3)} ${'wall'.padStart(6)} ${'I/O'.padStart(6)} ${'footer'.padStart(6)} ${'ship'.padStart(5)} ${'decode'.padStart(6)} ${'IPC'.padStart(5)} ${'arrow'.padStart(5)} ${'other'.padStart(5)}`,
  ];
  for (const c of d.cases) {
    for (const [who, r] of [['baseline', c.baseline], ['ours', c.ours]] as const) {
      const s = r.stages;
      lines.push(`  ${c.file.padEnd(9)} ${who.padEnd(9)} ${String(r.roundTrips).padStart(3)} ${f1(r.wallMs).padStart(6)} ${f1(s.io).padStart(6)} ${f1(s.footer).padStart(6)} ${f1(s.ship).padStart(5)} ${f1(s.decode).padStart(6)} ${f1(s.ipc).padStart(5)} ${f1(s.arrow).padStart(5)} ${f1(s.other).padStart(5)}`);
    }
    lines.push(
      `  ${c.file.padEnd(9)} ratio: wall ${c.wallRatio.toFixed(2)}×, readTable after its I/O ${c.decodeRatio.toFixed(2)}×` +
        ` (best runs: wall ${f1(c.ours.bestWallMs)} vs ${f1(c.baseline.bestWallMs)} ms = ${c.bestWallRatio.toFixed(2)}×, after the I/O ${f1(c.ours.bestAfterIoMs)} vs ${f1(c.baseline.bestAfterIoMs)} ms = ${c.bestDecodeRatio.toFixed(2)}×; ${(c.bytes / 1024).toFixed(0)} KiB, ${c.pairs} pairs, ours ran on ${c.ranOn.join('/')})`,
    );
  }
  return lines;
}

/** The section's targets (issue 14): the decode path and the whole call within 1.2× of in-process, each with its regression guard (bench/targets.ts). */
export function decodeChecks(d: DecodeBench | undefined): Check[] {
  if (!d) return [];
  const out: Check[] = [];
  for (const c of d.cases) {
    out.push(
      guardedTarget({
        name: `${c.file}: readTable on fetched bytes vs in-process decode`,
        value: c.decodeRatio,
        target: DECODE_RATIO_TARGET,
        guard: DECODE_RATIO_GUARD,
        better: 'lower',
        format: (v) => `${v.toFixed(2)}×`,
        detail: `best runs ${f1(c.ours.bestAfterIoMs)} vs ${f1(c.baseline.bestAfterIoMs)} ms = ${c.bestDecodeRatio.toFixed(2)}×; median stages, ours: ship ${f1(c.ours.stages.ship)}, decode ${f1(c.ours.stages.decode)}, IPC ${f1(c.ours.stages.ipc)}, arrow ${f1(c.ours.stages.arrow)}, other ${f1(c.ours.stages.other)} ms; in-process: decode ${f1(c.baseline.stages.decode)}, IPC ${f1(c.baseline.stages.ipc)}, arrow ${f1(c.baseline.stages.arrow)} ms`,
      }),
    );
    // More round trips than the baseline's one is a regression of the whole-read window (item 1), not noise.
    const trips = `${c.ours.roundTrips} vs ${c.baseline.roundTrips} round trips`;
    if (c.ours.roundTrips > c.baseline.roundTrips) {
      out.push({ name: `${c.file}: whole-file readTable in the baseline's round trips`, ok: false, detail: trips });
    }
    out.push(
      guardedTarget({
        name: `${c.file}: whole-file readTable vs one GET + in-process decode`,
        value: c.wallRatio,
        target: DECODE_RATIO_TARGET,
        guard: WHOLE_CALL_GUARD,
        better: 'lower',
        format: (v) => `${v.toFixed(2)}×`,
        detail: `medians ${f1(c.ours.wallMs)} vs ${f1(c.baseline.wallMs)} ms; best runs ${c.bestWallRatio.toFixed(2)}×; ${trips}; the open's footer parse ${f1(c.ours.stages.footer)} ms`,
      }),
    );
  }
  return out;
}
