/**
 * A one-line progress bar on stderr, for transfers that take a while: drawn only when stderr is a
 * terminal and only once the transfer has lasted `delayMs` (a quick command prints nothing extra).
 */
import { formatBytes } from './format.js';

/** Quiet for the first second: most reads of a Parquet footer finish well before. */
export const PROGRESS_DELAY_MS = 1000;
/** Redraws per second: 10 is smooth enough and cheap. */
export const PROGRESS_INTERVAL_MS = 100;
const BAR_WIDTH = 24;

export interface ProgressSample {
  /** Bytes received so far. */
  bytes: number;
  /** Bytes expected in all, when known. */
  total?: number | undefined;
  requests: number;
}

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private drawn = false;
  private readonly started: number;

  constructor(
    private readonly out: ProgressStream,
    private readonly sample: () => ProgressSample,
    private readonly opts: { delayMs?: number; now?: () => number } = {},
  ) {
    this.started = this.now();
  }

  private now(): number {
    return this.opts.now ? this.opts.now() : performance.now();
  }

  /** Starts redrawing (no-op when the stream is not a terminal). */
  start(): this {
    if (!this.out.isTTY || this.timer) return this;
    this.timer = setInterval(() => this.render(), PROGRESS_INTERVAL_MS);
    this.timer.unref();
    return this;
  }

  /** Draws the line if the delay has passed; returns whether it drew. */
  render(): boolean {
    const elapsed = this.now() - this.started;
    if (!this.out.isTTY || elapsed < (this.opts.delayMs ?? PROGRESS_DELAY_MS)) return false;
    this.out.write(`\r${this.line(elapsed)}\x1b[K`);
    this.drawn = true;
    return true;
  }

  /** The text of the line (no control characters). */
  line(elapsedMs: number): string {
    const s = this.sample();
    const secs = Math.max(0.001, elapsedMs / 1000);
    const rate = `${formatBytes(Math.round(s.bytes / secs))}/s`;
    const reqs = `${s.requests} req`;
    let text: string;
    if (s.total && s.total > 0) {
      const frac = Math.min(1, s.bytes / s.total);
      const full = Math.round(frac * BAR_WIDTH);
      text = `[${'#'.repeat(full)}${'.'.repeat(BAR_WIDTH - full)}] ${(frac * 100).toFixed(0).padStart(3)}%  ${formatBytes(s.bytes)} / ${formatBytes(s.total)}  ${rate}  ${reqs}`;
    } else {
      text = `${formatBytes(s.bytes)}  ${rate}  ${reqs}  ${secs.toFixed(1)} s`;
    }
    const cols = this.out.columns || 80; // 0 on a terminal without a size
    return text.length >= cols ? text.slice(0, Math.max(0, cols - 1)) : text;
  }

  /** Stops and erases the line, if one was drawn. */
  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.drawn) this.out.write('\r\x1b[K');
    this.drawn = false;
  }
}
