/**
 * How big a request should be, from what a request costs: a wait for the first byte (TTFB), then
 * bytes at the connection's bandwidth. Arrow C++'s `ReadRangeCache` model:
 * - reading a hole of `TTFB × bandwidth` bytes costs as much as one more request, so holes up to
 *   that size are merged over (`gap`);
 * - a request should spend most of its time transferring, not waiting: with a share `f` of its time
 *   on transfer, its size is `gap × f / (1 − f)` (`maxRangeSize`), capped where measurements on S3
 *   stop improving.
 * The model starts from S3-like defaults and, unless told not to, learns TTFB and bandwidth from the
 * reader's own completed requests: an exponentially weighted moving average of their logarithms
 * (a geometric mean), clamped to sane ranges. In log space both estimates approach the truth at the
 * same pace whichever way they move (30 ms down to 0.05 ms as fast as 64 MiB/s up to 8 GiB/s), so
 * their product, the gap, moves steadily instead of overshooting; and a 10× outlier moves an
 * estimate by 10^ALPHA (×1.8), not by a quarter of its size.
 */
import { ReaderError } from '../errors.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * First-byte latency of a ranged GET on S3 in the same region: typically 10–40 ms at the median,
 * with a tail into the hundreds (DESIGN.md: 20–200 ms). 30 ms is a middle value.
 */
export const DEFAULT_TTFB_MS = 30;

/**
 * Bandwidth of one S3 GET: a single connection delivers roughly 50–100 MiB/s (Durner et al.,
 * VLDB 2023); more throughput comes from parallel requests, not from one stream. 64 MiB/s.
 */
export const DEFAULT_BYTES_PER_SECOND = 64 * MiB;

/**
 * Share of a request's time that should be transfer rather than waiting (Arrow C++'s
 * `ideal_bandwidth_utilization_frac`): 0.9 makes a request `gap × 9` bytes long.
 */
export const IDEAL_BANDWIDTH_UTILIZATION = 0.9;

/**
 * Largest merged request. Arrow C++ caps at 64 MiB; Durner et al. measured 8–16 MiB as the sweet
 * spot on S3 (throughput per request flattens, cost per byte is already minimal), and bigger
 * requests only hold more memory per request and lose more to a retry. Larger spans are split into
 * parallel parts of this size.
 */
export const MAX_IDEAL_REQUEST_SIZE = 16 * MiB;

/** Smallest merge gap the model will choose: below a few KiB a request's own headers cost more. */
export const MIN_GAP = 4 * KiB;
/** Largest merge gap the model will choose: half a maximal request, so a merge is never mostly hole. */
export const MAX_GAP = MAX_IDEAL_REQUEST_SIZE / 2;
/** Smallest maxRangeSize the model will choose, so fast local storage still gets reasonable parts. */
export const MIN_REQUEST_SIZE = 1 * MiB;

/** Bounds on learned estimates: one bad sample (a clock hiccup, a stalled socket) cannot run away. */
export const TTFB_BOUNDS_MS = [0.01, 2_000] as const;
export const BANDWIDTH_BOUNDS = [1 * MiB, 8 * 1024 * MiB] as const;

/**
 * Weight of a new sample in the (log-space) moving average. 0.25: the prior is mostly forgotten
 * after ~8 requests (0.75^8 ≈ 0.1), while a single outlier (a first request paying a TLS handshake)
 * moves the estimate by a quarter of its error in orders of magnitude.
 */
export const ADAPTIVE_ALPHA = 0.25;

/**
 * Bodies shorter than this give no bandwidth sample: their transfer time is mostly scheduling noise
 * (and a first TCP window), so they would overstate or understate the rate wildly.
 */
export const BANDWIDTH_SAMPLE_MIN_BYTES = 256 * KiB;

const clamp = (x: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, x));

/** One step of the log-space moving average, with the sample and the result clamped to `bounds`. */
function logAverage(estimate: number, sample: number, bounds: readonly [number, number]): number {
  const x = clamp(sample, bounds[0], bounds[1]);
  const e = clamp(estimate, bounds[0], bounds[1]);
  return clamp(Math.exp(Math.log(e) + ADAPTIVE_ALPHA * (Math.log(x) - Math.log(e))), bounds[0], bounds[1]);
}

/** The merge gap for a network: `TTFB × bandwidth`, clamped to [MIN_GAP, MAX_GAP]. */
export function gapFor(ttfbMs: number, bytesPerSecond: number): number {
  return Math.round(clamp((ttfbMs / 1000) * bytesPerSecond, MIN_GAP, MAX_GAP));
}

/** The largest merged request for a gap: `gap × f / (1 − f)`, clamped to [MIN_REQUEST_SIZE, MAX_IDEAL_REQUEST_SIZE]. */
export function maxRangeSizeFor(gap: number, utilization = IDEAL_BANDWIDTH_UTILIZATION): number {
  return Math.round(clamp((gap * utilization) / (1 - utilization), MIN_REQUEST_SIZE, MAX_IDEAL_REQUEST_SIZE));
}

/**
 * Smallest part a wave is spread into. A part should carry at least a gap's worth of bytes (its
 * transfer then outlasts its extra first-byte wait), and never less than 1 MiB: below that, on fast
 * local storage, per-request overhead outweighs parallel transfer.
 */
export const MIN_SPREAD_PART = 1 * MiB;

/**
 * Holes always merged over, even when a wave has idle connections: 64 KiB (fsspec's gap) transfers in
 * under a millisecond at S3 speeds, less than a request's own overhead. Bigger holes, up to the gap,
 * are merged only when the wave has more requests than connections.
 */
export const SMALL_GAP = 64 * KiB;

/** The smallest parallel part for a merge gap: max(gap, MIN_SPREAD_PART). */
export function minPartFor(gap: number): number {
  return Math.max(gap, MIN_SPREAD_PART);
}

/** S3 defaults: 30 ms × 64 MiB/s ≈ 1.9 MiB gap (object_store and OpenDAL use 1 MiB). */
export const DEFAULT_GAP = gapFor(DEFAULT_TTFB_MS, DEFAULT_BYTES_PER_SECOND);
/** S3 defaults: min(16 MiB, 9 × 1.9 MiB) = 16 MiB, the measured sweet spot. */
export const DEFAULT_MAX_RANGE_SIZE = maxRangeSizeFor(DEFAULT_GAP);

export interface CostModelOptions {
  /** Initial (or, when not adaptive, fixed) time to first byte in ms. Default DEFAULT_TTFB_MS. */
  ttfbMs?: number;
  /** Initial (or fixed) bandwidth of one request in bytes/s. Default DEFAULT_BYTES_PER_SECOND. */
  bytesPerSecond?: number;
  /** Learn from observed requests (default true). When false the estimates never move. */
  adaptive?: boolean;
}

/** One completed request, as measured below any concurrency limit (queueing is not latency). */
export interface RequestSample {
  /** From issuing the request to its response headers. */
  ttfbMs: number;
  /** Body bytes received. */
  bytes: number;
  /** From the headers to the last body byte. */
  transferMs: number;
}

export interface CostModelSnapshot {
  ttfbMs: number;
  bytesPerSecond: number;
  gap: number;
  maxRangeSize: number;
  samples: number;
  adaptive: boolean;
}

/** A network cost estimate; share one instance between readers of the same store to pool what they learn. */
export class CostModel {
  private ttfb: number;
  private bandwidth: number;
  private count = 0;
  readonly adaptive: boolean;

  constructor(options: CostModelOptions = {}) {
    const ttfb = options.ttfbMs ?? DEFAULT_TTFB_MS;
    const bps = options.bytesPerSecond ?? DEFAULT_BYTES_PER_SECOND;
    if (!(ttfb >= 0 && Number.isFinite(ttfb)) || !(bps > 0 && Number.isFinite(bps))) {
      throw new ReaderError('InvalidInput', 'cost model needs ttfbMs >= 0 and bytesPerSecond > 0', { op: 'open' }, { code: 'INVALID_ARGUMENT' });
    }
    this.ttfb = ttfb;
    this.bandwidth = bps;
    this.adaptive = options.adaptive ?? true;
  }

  get ttfbMs(): number {
    return this.ttfb;
  }

  get bytesPerSecond(): number {
    return this.bandwidth;
  }

  /** Requests observed (adaptive models only). */
  get samples(): number {
    return this.count;
  }

  get gap(): number {
    return gapFor(this.ttfb, this.bandwidth);
  }

  get maxRangeSize(): number {
    return maxRangeSizeFor(this.gap);
  }

  /** Folds one completed request into the estimates (ignored when not adaptive or nonsensical). */
  observe(sample: RequestSample): void {
    if (!this.adaptive) return;
    const { ttfbMs, bytes, transferMs } = sample;
    if (!(ttfbMs >= 0) || !Number.isFinite(ttfbMs)) return;
    this.count++;
    this.ttfb = logAverage(this.ttfb, ttfbMs, TTFB_BOUNDS_MS);
    if (bytes >= BANDWIDTH_SAMPLE_MIN_BYTES && transferMs > 0) this.bandwidth = logAverage(this.bandwidth, (bytes * 1000) / transferMs, BANDWIDTH_BOUNDS);
  }

  snapshot(): CostModelSnapshot {
    return {
      ttfbMs: this.ttfb,
      bytesPerSecond: this.bandwidth,
      gap: this.gap,
      maxRangeSize: this.maxRangeSize,
      samples: this.count,
      adaptive: this.adaptive,
    };
  }
}
