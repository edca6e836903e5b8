/** Running one benchmark cell: iterations, server-side counts, client/server agreement, memory, the floor. */
import { countRoundTrips } from '../src/layers/metrics.js';
import type { Expectation } from '../src/cli/bench/expect.js';
import type { ServerRequestLog } from './object-server.js';
import { readSpec, type ReadTarget, type ReaderDef, type ReaderOutcome, type Scenario } from './readers.js';
import type { ServerClient } from './server-client.js';

export interface Model {
  ttfbMs: number;
  bytesPerSecond: number;
}

export interface WaterfallBar {
  op: string;
  range?: string;
  /** ms from the first request's start */
  start: number;
  end: number;
  bytes: number;
}

export interface CellResult {
  file: string;
  scenario: Scenario['id'];
  reader: string;
  label: string;
  ours: boolean;
  decodes: boolean;
  iterations: number;
  gets: number;
  heads: number;
  bytesMoved: number;
  bytesNeeded: number;
  roundTrips: number;
  /** Median wall time of the whole read, decode included. */
  wallMs: number;
  /** Median time from the first request's start to the last response's end, on the server's clock. */
  ioMs: number;
  /** `ioMs` of each iteration, in run order: whether a miss is every run or one slow one. */
  ioRuns: number[];
  /**
   * Each iteration's gap, on the server's clock, from the first response's last byte to the next
   * request (`gapMs`): the client's parse and planning between the open's answer and the data wave.
   * Absent for a reader whose iterations were one round trip.
   */
  gapRuns?: number[];
  /**
   * The same gap on the client's clock (its metrics layer: the open's last body byte handed up to the
   * first data request made), for readers counted client-side. The server's stamps also hold the
   * bytes' last hop and the request's way in: a starved server can stamp the tail's end late and log
   * a gap shorter than the client's work. Reported beside `gapRuns`; the target is still `ioMs`.
   */
  clientGapRuns?: number[];
  /**
   * This reader's run of the warm-up pass (`warmUp`): the first read of the cell in the process, JIT
   * warm-up included; absent for readers the pass skips (the naive baselines).
   */
  coldIoMs?: number;
  coldWallMs?: number;
  floorMs: number;
  floorRoundTrips: number;
  peakMemMB: number;
  rows: number;
  /** Client-side counts agreed with the server's (undefined: the reader is not counted client-side). */
  clientAgrees?: boolean;
  waterfall: WaterfallBar[];
  error?: string;
}

export function floorMs(e: Expectation, m: Model): number {
  return e.floorRoundTrips * m.ttfbMs + (e.bytesNeeded / m.bytesPerSecond) * 1000;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}

/** Samples heap + external memory while `fn` runs; returns the peak above the starting point, in MB. */
async function withMemoryPeak<T>(fn: () => Promise<T>): Promise<{ value: T; peakMB: number }> {
  const used = () => {
    const m = process.memoryUsage();
    return m.heapUsed + m.external;
  };
  const base = used();
  let peak = base;
  const timer = setInterval(() => {
    peak = Math.max(peak, used());
  }, 5);
  try {
    const value = await fn();
    peak = Math.max(peak, used());
    return { value, peakMB: (peak - base) / 1e6 };
  } finally {
    clearInterval(timer);
  }
}

/**
 * The gap from the first response's last byte to the first request that starts after it (the
 * client's parse and planning before the next round trip), or undefined when no request follows.
 */
export function gapMs(waterfall: readonly WaterfallBar[]): number | undefined {
  const first = waterfall.reduce<WaterfallBar | undefined>((a, b) => (a === undefined || b.start < a.start ? b : a), undefined);
  if (!first) return undefined;
  let next = Infinity;
  for (const b of waterfall) if (b !== first && b.start >= first.end) next = Math.min(next, b.start);
  return Number.isFinite(next) ? next - first.end : undefined;
}

export function summarizeLog(log: ServerRequestLog[]): { gets: number; heads: number; bytes: number; roundTrips: number; ioMs: number; waterfall: WaterfallBar[] } {
  const t0 = Math.min(...log.map((r) => r.start));
  return {
    gets: log.filter((r) => r.method === 'GET').length,
    heads: log.filter((r) => r.method === 'HEAD').length,
    bytes: log.reduce((n, r) => n + r.bytes, 0),
    roundTrips: countRoundTrips(log),
    ioMs: log.length ? Math.max(...log.map((r) => r.end)) - t0 : 0,
    waterfall: log.map((r) => ({ op: r.method, ...(r.range ? { range: r.range } : {}), start: r.start - t0, end: r.end - t0, bytes: r.bytes })),
  };
}

export interface CellOptions {
  /** Most iterations (the median is reported). */
  iterations: number;
  /** Stop iterating once this much time went into the cell (slow baselines get one run). */
  budgetMs: number;
  model: Model;
  /** This reader's untimed run of the warm-up pass, reported beside the timed ones. */
  cold?: WarmUpRun;
}

export interface WarmUpRun {
  wallMs: number;
  ioMs: number;
}

/**
 * One untimed run of a cell's reader, for the warm-up pass before the timed cells (bench/main.ts).
 * A process's first reads pay the JIT: V8 interprets the footer walk, the planner and the decoders'
 * glue while it compiles them on another thread (in a callgrind count of a cold walk of the wide
 * file's 166 KiB footer, two thirds of the instructions were TurboFan's), so on the loaded 2-core
 * machine the first cells of our code ran before the compiled code was there: the wide file's open
 * parsed in 20–35 ms of CPU against 3–5 ms warm, and whichever of our readers ran first in the wide
 * cell measured 1.5–1.7× the floor while the other measured 1.24–1.30×; swapping them swapped the
 * ratios, and one or two untimed runs inside the cell did not remove it (the compile takes time, not
 * calls). The pass gives every decoding reader, peers too, one run of every cell first; what the
 * cells then measure is the I/O pattern in a warm process, as `bench:micro` measures warm passes.
 * The pass's runs are kept and printed beside the timed ones (`coldIoMs`).
 */
export async function warmUp(server: ServerClient, target: ReadTarget, scenario: Scenario, reader: ReaderDef): Promise<WarmUpRun> {
  await server.reset();
  const t0 = performance.now();
  await reader.run(target, readSpec(scenario));
  const wallMs = performance.now() - t0;
  return { wallMs, ioMs: summarizeLog(await server.log()).ioMs };
}

/** Runs a cell: a series of iterations, each on a fresh server log (the warm-up pass, `warmUp`, ran before any cell). */
export async function runCell(
  server: ServerClient,
  file: string,
  target: ReadTarget,
  scenario: Scenario,
  reader: ReaderDef,
  expect: Expectation,
  opts: CellOptions,
): Promise<CellResult> {
  const walls: number[] = [];
  const ios: number[] = [];
  const gaps: number[] = [];
  const clientGaps: number[] = [];
  const peaks: number[] = [];
  let last: ReturnType<typeof summarizeLog> | undefined;
  let outcome: ReaderOutcome | undefined;
  let agrees: boolean | undefined;
  const started = performance.now();
  const base = {
    file,
    scenario: scenario.id,
    reader: reader.id,
    label: reader.label,
    ours: reader.ours,
    decodes: reader.decodes,
    bytesNeeded: expect.bytesNeeded,
    floorRoundTrips: expect.floorRoundTrips,
    floorMs: floorMs(expect, opts.model),
  };
  try {
    for (let i = 0; i < opts.iterations && (i === 0 || performance.now() - started < opts.budgetMs); i++) {
      await server.reset();
      const t0 = performance.now();
      const { value, peakMB } = await withMemoryPeak(() => reader.run(target, readSpec(scenario)));
      walls.push(performance.now() - t0);
      peaks.push(peakMB);
      outcome = value;
      last = summarizeLog(await server.log());
      ios.push(last.ioMs);
      const gap = gapMs(last.waterfall);
      if (gap !== undefined) gaps.push(gap);
      if (value.client) {
        const clientGap = gapMs(value.client.requests.map((r) => ({ op: r.op, start: r.start, end: r.end, bytes: r.bytes })));
        if (clientGap !== undefined) clientGaps.push(clientGap);
        const ok = value.client.gets === last.gets && value.client.heads === last.heads;
        agrees = (agrees ?? true) && ok;
      }
    }
  } catch (err) {
    return { ...base, iterations: walls.length, gets: 0, heads: 0, bytesMoved: 0, roundTrips: 0, wallMs: NaN, ioMs: NaN, ioRuns: ios, peakMemMB: 0, rows: 0, waterfall: [], error: String(err) };
  }
  const s = last as ReturnType<typeof summarizeLog>;
  return {
    ...base,
    iterations: walls.length,
    gets: s.gets,
    heads: s.heads,
    bytesMoved: s.bytes,
    roundTrips: s.roundTrips,
    wallMs: median(walls),
    ioMs: median(ios),
    ioRuns: ios,
    ...(gaps.length ? { gapRuns: gaps } : {}),
    ...(clientGaps.length ? { clientGapRuns: clientGaps } : {}),
    ...(opts.cold ? { coldIoMs: opts.cold.ioMs, coldWallMs: opts.cold.wallMs } : {}),
    peakMemMB: median(peaks),
    rows: outcome?.rows ?? 0,
    ...(agrees === undefined ? {} : { clientAgrees: agrees }),
    waterfall: s.waterfall,
  };
}
