/**
 * What every storage command shares: the backend for the URL with its requests counted
 * (`withMetrics` under `withRetry`, so each attempt is a request, as the server sees it), the
 * progress bar, `--stats` and `--waterfall`.
 */
import { writeFile } from 'node:fs/promises';
import type { S3BackendOptions } from '../backends/s3/backend.js';
import { backendFromUrl, type BackendAndPath } from '../backends/url.js';
import { ReaderError, redactUrl } from '../errors.js';
import { withMetrics, type MeteredBackend, type MetricsSnapshot } from '../layers/metrics.js';
import { withRetry } from '../layers/retry.js';
import type { Backend } from '../types.js';
import { UsageError, type CommonValues } from './args.js';
import { CliError, EXIT } from './exit.js';
import { formatBytes, plural } from './format.js';
import { ProgressBar } from './progress.js';
import { waterfallHtml } from './waterfall.js';

export interface Io {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  env: NodeJS.ProcessEnv;
  /** Fires on Ctrl-C (and when stdout is closed under us). */
  signal: AbortSignal;
}

/** Writes to a stream, waiting for `drain` when its buffer is full (fails if the stream errors meanwhile). */
export function writeTo(stream: NodeJS.WritableStream, chunk: string | Uint8Array): Promise<void> {
  if (stream.write(chunk)) return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = () => {
      stream.off('drain', done);
      stream.off('error', fail);
      resolve();
    };
    const fail = (err: unknown) => {
      stream.off('drain', done);
      stream.off('error', fail);
      reject(err);
    };
    stream.on('drain', done);
    stream.on('error', fail);
  });
}

/** The S3 options the shared flags give (`--endpoint`, `--region`, `--no-sign-request`), over the environment. */
export function s3OptionsFrom(common: CommonValues, env: NodeJS.ProcessEnv): Omit<S3BackendOptions, 'bucket'> {
  return {
    ...(common.endpoint ? { endpoint: common.endpoint } : {}),
    ...(common.region ? { region: common.region } : {}),
    ...(common.noSignRequest ? { anonymous: true } : {}),
    env,
  };
}

/**
 * The backend for a command's URL, without retries (callers put them above their metrics, so each
 * attempt is counted). A URL we cannot use (ftp://, a malformed file: URL, a bad bucket name) is a usage error.
 */
export function commandBackend(command: string, url: string, common: CommonValues, env: NodeJS.ProcessEnv): BackendAndPath {
  try {
    return backendFromUrl(url, { retry: false, s3: s3OptionsFrom(common, env) });
  } catch (err) {
    if (err instanceof ReaderError && (err.kind === 'Unsupported' || err.kind === 'InvalidInput')) throw new UsageError(err.message, command);
    throw err;
  }
}

export class Session {
  readonly backend: Backend;
  readonly metered: MeteredBackend;
  readonly path: string;
  /** The URL for messages: query values and user info redacted. */
  readonly display: string;
  private readonly t0 = performance.now();
  private progress: ProgressBar | undefined;

  constructor(
    readonly command: string,
    url: string,
    readonly common: CommonValues,
    readonly io: Io,
  ) {
    const { backend, path } = commandBackend(command, url, common, io.env);
    this.metered = withMetrics(backend);
    this.backend = common.retry ? withRetry(this.metered) : this.metered;
    this.path = path;
    this.display = redactUrl(url);
  }

  get signal(): AbortSignal {
    return this.io.signal;
  }

  snapshot(): MetricsSnapshot {
    return this.metered.metrics.snapshot();
  }

  /** Shows a progress bar (stderr on a terminal, after a second) until `stopProgress`. */
  startProgress(total?: () => number | undefined): void {
    this.stopProgress();
    this.progress = new ProgressBar(this.io.stderr, () => {
      const s = this.snapshot();
      return { bytes: s.bytesReceived, total: total?.(), requests: s.gets + s.heads };
    }).start();
  }

  stopProgress(): void {
    this.progress?.stop();
    this.progress = undefined;
  }

  /** The `--stats` line. */
  statsLine(): string {
    const s = this.snapshot();
    const ms = performance.now() - this.t0;
    const ignored =
      s.rangesIgnored > 0
        ? `; the server ignored Range on ${plural(s.rangesIgnored, 'GET')} (${s.bytesReceived - s.bytesDelivered} B received outside the asked ranges)`
        : '';
    return `brr: ${s.lists ? `${plural(s.lists, 'LIST')}, ` : ''}${plural(s.gets, 'GET')}, ${plural(s.heads, 'HEAD')}, ${plural(s.roundTrips, 'round trip')}; ${formatBytes(s.bytesReceived)} received (${s.bytesReceived} B) in ${ms.toFixed(0)} ms${ignored}`;
  }

  /** `--stats` and `--waterfall`, also after a failure (the requests up to it are what you want to see). */
  async finish(): Promise<void> {
    this.stopProgress();
    if (this.common.stats) this.io.stderr.write(`${this.statsLine()}\n`);
    if (this.common.waterfall) {
      const html = waterfallHtml({
        title: `brr ${this.command} ${this.display}`,
        notes: [`${new Date().toISOString()} · ${this.metered.kind} backend`],
        requests: this.snapshot().requests,
      });
      try {
        await writeFile(this.common.waterfall, html);
      } catch (err) {
        throw new CliError(`cannot write the waterfall to ${this.common.waterfall}: ${err instanceof Error ? err.message : String(err)}`, EXIT.error);
      }
    }
  }

  /**
   * Runs a command's body, then `finish()` — after a failure too, where a failing `finish` is
   * reported on stderr but the command's own error is the one that counts.
   */
  async run<T>(body: () => Promise<T>): Promise<T> {
    let result: T;
    try {
      result = await body();
    } catch (err) {
      await this.finish().catch((e: unknown) => this.io.stderr.write(`brr: ${e instanceof Error ? e.message : String(e)}\n`));
      throw err;
    }
    await this.finish();
    return result;
  }
}
