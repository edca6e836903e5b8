import type { RequestRecord } from '../../src/layers/metrics.js';

export const KiB = 1024;
export const MiB = 1024 * KiB;

/** The GETs of a request list as `[offset, length]` pairs, in the order they were sent. */
export function gets(requests: readonly RequestRecord[]): [number, number][] {
  return requests
    .filter((r) => r.op === 'GET')
    .map((r) => {
      const range = r.range as { offset: number; length?: number };
      return [range.offset, range.length ?? -1] as [number, number];
    });
}

/** The same, sorted by offset (parallel requests may be issued in any order). */
export function sortedGets(requests: readonly RequestRecord[]): [number, number][] {
  return gets(requests).sort((a, b) => a[0] - b[0]);
}

/** Most requests open at one instant: a request is open over `[start, end)`. */
export function peakConcurrency(requests: readonly Pick<RequestRecord, 'start' | 'end'>[]): number {
  const events = requests.flatMap((r) => [
    { t: r.start, d: 1 },
    { t: r.end, d: -1 },
  ]);
  events.sort((a, b) => a.t - b.t || a.d - b.d); // an end before a start at the same instant
  let open = 0;
  let peak = 0;
  for (const e of events) {
    open += e.d;
    peak = Math.max(peak, open);
  }
  return peak;
}

/** A fast deterministic pattern (no two nearby offsets alike), for large objects. */
export function patternBytes(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = (i * 2654435761 + seed * 97 + (i >>> 8)) & 0xff;
  return out;
}

export const same = (a: Uint8Array, b: Uint8Array): boolean => Buffer.from(a).equals(Buffer.from(b));
