/**
 * The scan benchmark (issue 14, item 5): a sequential scan of one large object through a
 * BufferReader — `for await (const chunk of reader)` and a `read(1 MiB)` loop — against the simplest
 * fast alternative, SCAN_PARTS parallel plain ranged GETs of the same object, on the same modelled
 * object server (its own process) in the same run. Each reader runs in a child process of its own
 * (bench/scan-child.ts) so its peak RSS is its own; passes of the three are interleaved so drift on
 * the shared machine hits them alike.
 *
 *   npx tsx bench/scan.ts [--check] [--mb N] [--mbps N] [--ttfb MS] [--passes N] [--split]
 * `--split` adds two rows that say where a gap to the plain GETs goes: the scan's own request list
 * as plain GETs, and the same requests through the HTTP backend without a reader (no targets).
 * and as a section of `npm run bench` (bench/main.ts). Targets: each scan ≥ SCAN_THROUGHPUT_TARGET of
 * the plain GETs' throughput; peak RSS growth ≤ SCAN_RSS_TARGET × maxMemory. The scans are given
 * the object's size, as the plain GETs are (they cut the object by it); a row without the size (no
 * target) shows what learning it from the first answer costs.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { mkdir, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { FIXTURE_DIR, prng } from './fixtures.js';
import type { ScanChildStart, ScanMode, ScanPassResult } from './scan-child.js';
import { ServerClient } from './server-client.js';
import { guardedTarget, type Check } from './targets.js';

const MiB = 1024 * 1024;

/** The object: 147 MiB, the issue's measurement, larger than the default 128 MiB budget so eviction is in play. */
export const SCAN_OBJECT_MIB = 147;
/**
 * Per-connection bandwidth: 40 MB/s, the issue's measurement — the slow end of one S3 GET stream
 * (Durner et al.: 50–100 MB/s), where a scan needs many connections at once to go fast.
 */
export const SCAN_MBPS = 40;
/** Parallel GETs of the plain baseline: 32, the reader's default concurrency (DEFAULT_CONCURRENCY). */
export const SCAN_PARTS = 32;
/** The budget the scans run with: the default (DEFAULT_MAX_MEMORY). */
export const SCAN_MAX_MEMORY = 128 * MiB;
/** Target: a scan's throughput ≥ 85 % of the plain parallel GETs' (issue 14). */
export const SCAN_THROUGHPUT_TARGET = 0.85;
/** Target: peak RSS growth during a scan ≤ 1.2 × maxMemory (issue 14). */
export const SCAN_RSS_TARGET = 1.2;
/**
 * Regression guards while the targets are not met on every run (bench/targets.ts): before the
 * sliding scan window a scan reached 35–36 % of the plain GETs with RSS at 1.44–1.57× the budget;
 * with a 32 MiB window of 1 MiB parts, 44–74 % and 0.91–1.23×; with half the budget in flight
 * (2 MiB parts) 48–87 % and 0.91–1.22× on the loaded shared machine, in the same runs. On this
 * 2-core machine the plain GETs are CPU-bound and the scans' share swings with the load (a read
 * loop measured 44–49 % in the worst runs), so the throughput guard stays under the pre-window
 * level: it fails a scan worse than before the window, not a noisy run of this one.
 */
const SCAN_THROUGHPUT_GUARD = 0.33;
const SCAN_RSS_GUARD = 1.5;
/** Timed passes per reader (the median counts), after one untimed warm-up pass; --check runs fewer. */
const PASSES = 5;
const PASSES_CHECK = 3;

const MODES: { mode: ScanMode; label: string }[] = [
  { mode: 'plain', label: `${SCAN_PARTS} parallel plain GETs` },
  { mode: 'iterate', label: 'for await (chunk of reader)' },
  { mode: 'read', label: 'reader.read(1 MiB) loop' },
  { mode: 'iterateUnsized', label: 'for await, size not given' },
];
/** The `--split` rows: the scan's request list as plain GETs, and through the HTTP backend alone. */
const SPLIT_MODES: { mode: ScanMode; label: string }[] = [
  { mode: 'plainParts', label: "plain GETs of the scan's parts" },
  { mode: 'backendParts', label: 'the same through httpBackend' },
];

export interface ScanRow {
  mode: ScanMode;
  label: string;
  passes: number;
  medianMs: number;
  mbPerSecond: number;
  /** Throughput relative to the plain GETs' (1 for the baseline itself). */
  vsPlain: number;
  /** Worst peak RSS growth over all passes (warm-up included), MiB, and as a share of maxMemory. */
  rssGrowthMiB: number;
  rssVsBudget: number;
  /** The reader's own accounting at its peak (MiB); requests of the median pass. */
  heldPeakMiB: number;
  requests: number;
  /** CPU time of the reader's process in the median pass (ms). */
  cpuMs: number;
}

export interface ScanResult {
  objectBytes: number;
  ttfbMs: number;
  mbPerConnection: number;
  maxMemory: number;
  rows: ScanRow[];
}

class Child {
  private readonly proc: ChildProcess;
  private pending: { resolve: (v: unknown) => void; reject: (e: Error) => void } | undefined;

  constructor() {
    const script = fileURLToPath(new URL('./scan-child.ts', import.meta.url));
    this.proc = fork(script, [], { execArgv: ['--import', 'tsx', '--expose-gc'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    this.proc.on('message', (msg: { result?: unknown; error?: string }) => {
      const p = this.pending;
      this.pending = undefined;
      if (msg.error) p?.reject(new Error(msg.error));
      else p?.resolve(msg.result);
    });
    this.proc.on('exit', (code) => this.pending?.reject(new Error(`scan child exited (${code})`)));
  }

  call<T>(msg: Record<string, unknown>): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending = { resolve: resolve as (v: unknown) => void, reject };
      this.proc.send(msg);
    });
  }

  stop(): void {
    if (this.proc.connected) this.proc.send({ op: 'stop' });
  }
}

/** The object's bytes: deterministic, incompressible, cached in bench/.fixtures. */
async function scanObject(mib: number): Promise<string> {
  const file = join(FIXTURE_DIR, `scan-${mib}mib.bin`);
  const size = mib * MiB;
  if ((await stat(file).catch(() => undefined))?.size === size) return file;
  const bytes = new Uint8Array(size);
  const words = new Uint32Array(bytes.buffer);
  const rnd = prng(14);
  for (let i = 0; i < words.length; i++) words[i] = Math.floor(rnd() * 2 ** 32);
  await mkdir(FIXTURE_DIR, { recursive: true });
  await writeFile(file, bytes);
  return file;
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
};

export interface ScanOptions {
  check: boolean;
  ttfbMs: number;
  mbps?: number;
  mib?: number;
  passes?: number;
  /** Add the SPLIT_MODES rows. */
  split?: boolean;
}

/** Runs the scan section: its own object server (SCAN_MBPS per connection), three children, interleaved passes. */
export async function runScanBench(opts: ScanOptions): Promise<ScanResult> {
  const mib = opts.mib ?? SCAN_OBJECT_MIB;
  const mbps = opts.mbps ?? SCAN_MBPS;
  const passes = opts.passes ?? (opts.check ? PASSES_CHECK : PASSES);
  const file = await scanObject(mib);
  const size = mib * MiB;
  const server = await new ServerClient().start({ ttfbMs: opts.ttfbMs, bytesPerSecond: mbps * 1e6 });
  const modes = opts.split ? [...MODES, ...SPLIT_MODES] : MODES;
  const children = modes.map(() => new Child());
  try {
    await server.put('scan.bin', file);
    await Promise.all(
      children.map((c, i) => c.call<number>({ op: 'start', url: server.url, key: 'scan.bin', size, mode: (modes[i] as (typeof modes)[number]).mode, maxMemory: SCAN_MAX_MEMORY, parts: SCAN_PARTS } satisfies ScanChildStart)),
    );
    const results: ScanPassResult[][] = modes.map(() => []);
    for (let p = 0; p <= passes; p++) {
      for (let i = 0; i < children.length; i++) {
        const r = await (children[i] as Child).call<ScanPassResult>({ op: 'pass' });
        (results[i] as ScanPassResult[]).push(r); // pass 0 is the warm-up: its RSS counts, its time does not
      }
    }
    const rows = modes.map((m, i) => {
      const all = results[i] as ScanPassResult[];
      const timed = all.slice(1);
      const ms = median(timed.map((r) => r.ms));
      const mid = timed.find((r) => r.ms === ms) ?? (timed[0] as ScanPassResult);
      const rss = Math.max(...all.map((r) => r.rssGrowth));
      return {
        mode: m.mode,
        label: m.label,
        passes: timed.length,
        medianMs: ms,
        mbPerSecond: size / 1e6 / (ms / 1000),
        vsPlain: 0,
        rssGrowthMiB: rss / MiB,
        rssVsBudget: rss / SCAN_MAX_MEMORY,
        heldPeakMiB: Math.max(...all.map((r) => r.heldPeak)) / MiB,
        requests: mid.requests,
        cpuMs: mid.cpuMs,
      };
    });
    const plainRow = rows[0] as ScanRow;
    for (const r of rows) r.vsPlain = r.mbPerSecond / plainRow.mbPerSecond;
    return { objectBytes: size, ttfbMs: opts.ttfbMs, mbPerConnection: mbps, maxMemory: SCAN_MAX_MEMORY, rows };
  } finally {
    for (const c of children) c.stop();
    await server.stop();
  }
}

export function scanLines(r: ScanResult): string[] {
  const out = [`scan: ${(r.objectBytes / MiB).toFixed(0)} MiB object, ${r.ttfbMs} ms to first byte, ${r.mbPerConnection} MB/s per connection, maxMemory ${r.maxMemory / MiB} MiB; each reader in its own process`];
  for (const row of r.rows) {
    out.push(
      `  ${row.label.padEnd(30)} ${row.medianMs.toFixed(0).padStart(6)} ms  ${row.mbPerSecond.toFixed(0).padStart(5)} MB/s  ${(row.vsPlain * 100).toFixed(0).padStart(4)} %  cpu ${row.cpuMs.toFixed(0).padStart(4)} ms  ` +
        `RSS +${row.rssGrowthMiB.toFixed(0)} MiB (${row.rssVsBudget.toFixed(2)}× budget)${row.heldPeakMiB === 0 ? `, ${row.requests} GETs` : `, held ≤ ${row.heldPeakMiB.toFixed(0)} MiB, ${row.requests} GETs`}`,
    );
  }
  return out;
}

export function scanChecks(r: ScanResult): Check[] {
  const plain = r.rows[0] as ScanRow;
  return r.rows
    .filter((row) => row.mode === 'iterate' || row.mode === 'read')
    .flatMap((row) => [
      guardedTarget({
        name: `scan ${row.label}: share of ${SCAN_PARTS} parallel plain GETs' throughput`,
        value: row.vsPlain,
        target: SCAN_THROUGHPUT_TARGET,
        guard: SCAN_THROUGHPUT_GUARD,
        better: 'higher',
        format: (v) => `${(v * 100).toFixed(0)} %`,
        detail: `${row.mbPerSecond.toFixed(0)} vs ${plain.mbPerSecond.toFixed(0)} MB/s`,
      }),
      guardedTarget({
        name: `scan ${row.label}: peak RSS growth vs maxMemory`,
        value: row.rssVsBudget,
        target: SCAN_RSS_TARGET,
        guard: SCAN_RSS_GUARD,
        better: 'lower',
        format: (v) => `${v.toFixed(2)}×`,
        detail: `+${row.rssGrowthMiB.toFixed(0)} MiB of ${r.maxMemory / MiB} MiB`,
      }),
    ]);
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { check: { type: 'boolean', default: false }, mb: { type: 'string' }, mbps: { type: 'string' }, ttfb: { type: 'string' }, passes: { type: 'string' }, split: { type: 'boolean', default: false } } });
  const r = await runScanBench({
    check: values.check ?? false,
    ttfbMs: Number(values.ttfb ?? 25),
    ...(values.mbps ? { mbps: Number(values.mbps) } : {}),
    ...(values.mb ? { mib: Number(values.mb) } : {}),
    ...(values.passes ? { passes: Number(values.passes) } : {}),
    split: values.split ?? false,
  });
  console.log(scanLines(r).join('\n'));
  const checks = scanChecks(r);
  for (const c of checks) console.log(`  ${c.ok ? 'PASS' : c.advisory ? 'MISS' : 'FAIL'}  ${c.name}: ${c.detail}${c.advisory ? ` (${c.advisory})` : ''}`);
  if (values.check && checks.some((c) => !c.ok && !c.advisory)) process.exitCode = 1;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
