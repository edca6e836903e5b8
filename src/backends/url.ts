import { ReaderError } from '../errors.js';
import { withRetry, type RetryOptions } from '../layers/retry.js';
import { runtime } from '../runtime.js';
import type { Backend } from '../types.js';
import { fetchBackend, type FetchBackendOptions } from './fetch/backend.js';
import type { HttpBackendOptions } from './http/backend.js';
import { s3Backend, type S3BackendOptions } from './s3/backend.js';
import { parseS3Url } from './s3/url.js';

export interface BackendFromUrlOptions {
  /** Options for `http(s)://` URLs: `httpBackend`'s on Node, `fetchBackend`'s elsewhere. */
  http?: Omit<HttpBackendOptions, 'baseUrl'> & Omit<FetchBackendOptions, 'baseUrl'>;
  /** Options for `s3://` URLs (region, endpoint and credentials default to the `AWS_*` environment). */
  s3?: Omit<S3BackendOptions, 'bucket'>;
  /**
   * Retries that resume (`withRetry`) around the backend: on by default with the `RETRY_*` defaults
   * (10 attempts, 100 ms → 15 s full-jitter backoff, 60 s budget, 30 s stall timeout); `false` turns it off.
   */
  retry?: false | RetryOptions;
}

export interface BackendAndPath {
  backend: Backend;
  /** The path to pass to the backend's `stat`/`read`. */
  path: string;
}

/**
 * Picks a backend for a URL:
 * - `http://…`, `https://…` → `httpBackend()` (undici) on Node, `fetchBackend()` elsewhere, path = the URL;
 * - `s3://bucket/key` → `s3Backend({ bucket })`, path = the key, taken literally (not
 *   percent-decoded); region from `AWS_REGION`/`AWS_DEFAULT_REGION`, endpoint from
 *   `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, credentials from the AWS default chain, unless `options.s3` says;
 * - `file:///dir/f.parquet` and plain paths (`./f.parquet`, `/dir/f.parquet`) → `fsBackend({ root: dir })`,
 *   path = the file name (the backend cannot reach outside that directory); Node only. In a web page a
 *   relative URL (`data/f.parquet`) is resolved against the page's and read with `fetchBackend`;
 *   elsewhere it is `Unsupported`.
 * Each is wrapped in `withRetry` unless `options.retry` is false; its other members (an S3 backend's
 * `bucket`, `credentialSource`) stay reachable on the result.
 */
export function backendFromUrl(url: string, options: BackendFromUrlOptions = {}): BackendAndPath {
  if (typeof url !== 'string' || url === '') {
    throw new ReaderError('InvalidInput', 'backendFromUrl needs a URL or path', {}, { code: 'INVALID_ARGUMENT' });
  }
  const wrap = (backend: Backend): Backend => (options.retry === false ? backend : withRetry(backend, options.retry ?? {}));
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    const http = runtime.httpBackend ?? ((o: FetchBackendOptions) => fetchBackend(o));
    return { backend: wrap(http({ ...options.http })), path: url };
  }
  if (scheme === 's3') {
    const { bucket, key } = parseS3Url(url);
    return { backend: wrap(s3Backend({ ...options.s3, bucket })), path: key };
  }
  if (scheme === 'file' || scheme === undefined) {
    const page = (globalThis as { location?: { href?: string } }).location?.href;
    if (!runtime.fileBackend && scheme === undefined && page && /^https?:/.test(page)) {
      // In a page, a relative URL means the page's server, as fetch would take it.
      const absolute = new URL(url, page).href;
      return { backend: wrap(fetchBackend({ ...options.http })), path: absolute };
    }
    if (!runtime.fileBackend) {
      throw new ReaderError('Unsupported', `local files need Node (the "node" export condition); in this runtime read ${JSON.stringify(url)} over http(s) or s3`, {}, { code: 'UNSUPPORTED' });
    }
    const { backend, path } = runtime.fileBackend(url);
    return { backend: wrap(backend), path };
  }
  throw new ReaderError('Unsupported', `unsupported URL scheme "${scheme}://" (supported: http, https, s3, file, or a local path)`, {}, { code: 'UNSUPPORTED' });
}
