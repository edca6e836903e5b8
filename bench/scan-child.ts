/**
 * One scan benchmark reader in a process of its own (bench/scan.ts drives it over IPC), so its RSS
 * is its own: no other cell's buffers, no server, no earlier reader's garbage in it.
 *
 * Modes, each reading the whole object once per pass:
 * - `plain`: the simple alternative — `PLAIN_PARTS` parallel ranged GETs of equal parts, each body
 *   taken whole (`arrayBuffer()`, what a user of `fetch`/undici writes), over the same keep-alive pool.
 * - `iterate`: `for await (const chunk of reader)` over a BufferReader on the HTTP backend, given
 *   the object's size as the plain GETs are (a listing or a stat tells it).
 * - `iterateUnsized`: the same without the size (it learns it from its first answer; no target).
 * - `read`: a `reader.read(buf)` loop with a 1 MiB buffer, the size given.
 * - `split` runs only (where the gap to `plain` goes): `plainParts`, the reader's request list as
 *   plain GETs (parts of the scan's part size, 32 at a time, `arrayBuffer()`); `backendParts`, the
 *   same requests through the HTTP backend (`read` + `collectBody`) without a reader.
 *
 * RSS is sampled every MiB a scan consumes (every part of the plain GETs) and every few ms; a pass reports its time and the peak RSS above
 * the process's RSS before its first pass (after a full collection), so warm-up passes count too.
 */
import '../src/runtime-node.js';
import { request } from 'undici';
import { httpBackend } from '../src/backends/http/backend.js';
import { sharedDispatcher } from '../src/backends/http/pool.js';
import { collectBody } from '../src/body.js';
import { BufferReader } from '../src/buffer-reader/buffer-reader.js';
import { DEFAULT_MAX_RANGE_SIZE } from '../src/buffer-reader/cost-model.js';
import { scanPartSize, scanWindowFor } from '../src/buffer-reader/scan-ahead.js';

export type ScanMode = 'plain' | 'iterate' | 'iterateUnsized' | 'read' | 'plainParts' | 'backendParts';

export interface ScanChildStart {
  op: 'start';
  url: string;
  key: string;
  size: number;
  mode: ScanMode;
  maxMemory: number;
  parts: number;
}

export interface ScanPassResult {
  ms: number;
  bytes: number;
  /** Peak RSS during this pass minus the RSS before the first pass, in bytes. */
  rssGrowth: number;
  /** The reader's own accounting at its peak (buffered + in flight + pinned), in bytes; 0 for `plain`. */
  heldPeak: number;
  requests: number;
  /** CPU time of this process during the pass (user + system), ms: on a loaded 2-core machine the plain GETs are CPU-bound, so CPU per pass says where a gap comes from. */
  cpuMs: number;
}

/** Interval of the background RSS sampler (the per-chunk samples catch the rest). */
const SAMPLE_MS = 2;
/** Buffer of the `read` mode: 1 MiB, the issue's `read(1 MiB)` loop. */
const READ_BUFFER = 1024 * 1024;
/**
 * A scan samples RSS once per this many bytes consumed (and the timer every SAMPLE_MS): 1 MiB, the
 * `read` mode's step. Sampling at every chunk of the iterator cost ~10 µs each (`rss()` reads
 * /proc): 25 ms of CPU per pass once the iterator yields the bodies' ~50 KiB chunks instead of
 * 1.5 MiB parts, charged to the reader being measured.
 */
const SAMPLE_BYTES = 1024 * 1024;

const gc = (globalThis as { gc?: () => void }).gc;
let setup: ScanChildStart | undefined;
let baseline = 0;

async function plain(s: ScanChildStart, sample: () => void): Promise<{ bytes: number; requests: number }> {
  const part = Math.ceil(s.size / s.parts);
  const dispatcher = sharedDispatcher();
  const parts = await Promise.all(
    Array.from({ length: s.parts }, async (_, i) => {
      const from = i * part;
      const to = Math.min(s.size, from + part) - 1;
      const res = await request(`${s.url}/${s.key}`, { headers: { range: `bytes=${from}-${to}` }, dispatcher });
      if (res.statusCode !== 206) throw new Error(`plain GET answered ${res.statusCode}`);
      const body = new Uint8Array(await res.body.arrayBuffer());
      sample();
      return body;
    }),
  );
  return { bytes: parts.reduce((n, p) => n + p.byteLength, 0), requests: s.parts };
}

/** `plainParts` / `backendParts`: parts of the scan's own size, `s.parts` at a time, each taken whole. */
async function parts(s: ScanChildStart, sample: () => void): Promise<{ bytes: number; requests: number }> {
  const part = scanPartSize(scanWindowFor(s.maxMemory, s.parts), s.parts, DEFAULT_MAX_RANGE_SIZE, s.size);
  const count = Math.ceil(s.size / part);
  const backend = httpBackend({ baseUrl: s.url });
  const dispatcher = sharedDispatcher();
  let next = 0;
  let bytes = 0;
  const one = async (from: number, to: number): Promise<number> => {
    if (s.mode === 'backendParts') {
      const res = await backend.read(s.key, { offset: from, length: to - from });
      return (await collectBody(res.body, res.range.length)).byteLength;
    }
    const res = await request(`${s.url}/${s.key}`, { headers: { range: `bytes=${from}-${to - 1}` }, dispatcher });
    if (res.statusCode !== 206) throw new Error(`plain GET answered ${res.statusCode}`);
    return (await res.body.arrayBuffer()).byteLength;
  };
  await Promise.all(
    Array.from({ length: s.parts }, async () => {
      for (let i = next++; i < count; i = next++) {
        const got = await one(i * part, Math.min(s.size, (i + 1) * part));
        bytes += got;
        sample();
      }
    }),
  );
  return { bytes, requests: count };
}

async function scan(s: ScanChildStart, sample: () => void): Promise<{ bytes: number; requests: number; heldPeak: number }> {
  // No metrics layer: the plain GETs have none either (the concurrency is asserted in test/buffer-reader/scan-ahead.test.ts).
  // The size is given, as the plain GETs have it (they cut the object by it); `iterateUnsized` leaves
  // the reader to learn it from its first answer, one first-byte wait before the window opens.
  const reader = new BufferReader(httpBackend({ baseUrl: s.url }), s.key, { maxMemory: s.maxMemory, ...(s.mode === 'iterateUnsized' ? {} : { size: s.size }) });
  let bytes = 0;
  let sink = 0;
  let sampled = 0;
  if (s.mode === 'iterate' || s.mode === 'iterateUnsized') {
    for await (const chunk of reader) {
      bytes += chunk.byteLength;
      sink ^= chunk[chunk.byteLength - 1] as number;
      if (bytes - sampled >= SAMPLE_BYTES) {
        sampled = bytes;
        sample();
      }
    }
  } else {
    const buf = new Uint8Array(READ_BUFFER);
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) {
      bytes += n;
      sink ^= buf[n - 1] as number;
      if (bytes - sampled >= SAMPLE_BYTES) {
        sampled = bytes;
        sample();
      }
    }
  }
  const stats = reader.stats();
  await reader.close();
  if (sink < 0) throw new Error('unreachable');
  return { bytes, requests: stats.requests, heldPeak: stats.memory.peak };
}

async function pass(): Promise<ScanPassResult> {
  const s = setup as ScanChildStart;
  let peak = process.memoryUsage.rss();
  const sample = (): void => {
    const rss = process.memoryUsage.rss();
    if (rss > peak) peak = rss;
  };
  const timer = setInterval(sample, SAMPLE_MS);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  try {
    const out =
      s.mode === 'plain' ? { ...(await plain(s, sample)), heldPeak: 0 } : s.mode === 'iterate' || s.mode === 'iterateUnsized' || s.mode === 'read' ? await scan(s, sample) : { ...(await parts(s, sample)), heldPeak: 0 };
    const ms = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (out.bytes !== s.size) throw new Error(`${s.mode} read ${out.bytes} bytes of ${s.size}`);
    sample();
    return { ms, bytes: out.bytes, rssGrowth: peak - baseline, heldPeak: out.heldPeak, requests: out.requests, cpuMs: (cpu.user + cpu.system) / 1000 };
  } finally {
    clearInterval(timer);
    gc?.(); // garbage of this pass is not the next one's growth (RSS may stay up: that still counts)
  }
}

process.on('message', (msg: ScanChildStart | { op: 'pass' | 'stop' }) => {
  const reply = (p: Promise<unknown>) =>
    p.then(
      (result) => process.send?.({ result }),
      (err: unknown) => process.send?.({ error: err instanceof Error ? (err.stack ?? err.message) : String(err) }),
    );
  if (msg.op === 'start') {
    setup = msg;
    gc?.();
    baseline = process.memoryUsage.rss();
    reply(Promise.resolve(baseline));
  } else if (msg.op === 'pass') reply(pass());
  else process.exit(0);
});
process.on('disconnect', () => process.exit(0));
