import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReaderError } from '../errors.js';
import { withRetry, type RetryOptions } from '../layers/retry.js';
import type { Backend } from '../types.js';
import { fsBackend } from './fs/backend.js';
import { httpBackend, type HttpBackendOptions } from './http/backend.js';
import { s3Backend, type S3BackendOptions } from './s3/backend.js';
import { parseS3Url } from './s3/url.js';

export interface BackendFromUrlOptions {
  /** Options for `http(s)://` URLs. */
  http?: Omit<HttpBackendOptions, 'baseUrl'>;
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
 * - `http://…`, `https://…` → `httpBackend()`, path = the URL;
 * - `s3://bucket/key` → `s3Backend({ bucket })`, path = the key, taken literally (not
 *   percent-decoded); region from `AWS_REGION`/`AWS_DEFAULT_REGION`, endpoint from
 *   `AWS_ENDPOINT_URL_S3`/`AWS_ENDPOINT_URL`, credentials from the AWS default chain, unless `options.s3` says;
 * - `file:///dir/f.parquet` and plain paths (`./f.parquet`, `/dir/f.parquet`) → `fsBackend({ root: dir })`,
 *   path = the file name (the backend cannot reach outside that directory).
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
    return { backend: wrap(httpBackend(options.http)), path: url };
  }
  if (scheme === 's3') {
    const { bucket, key } = parseS3Url(url);
    return { backend: wrap(s3Backend({ ...options.s3, bucket })), path: key };
  }
  if (scheme === 'file' || scheme === undefined) {
    let file: string;
    try {
      file = scheme === 'file' ? fileURLToPath(url) : resolve(url);
    } catch (err) {
      throw new ReaderError('InvalidInput', `invalid file URL: ${err instanceof Error ? err.message : String(err)}`, {}, { code: 'INVALID_URL', cause: err });
    }
    return { backend: wrap(fsBackend({ root: dirname(file) })), path: basename(file) };
  }
  throw new ReaderError('Unsupported', `unsupported URL scheme "${scheme}://" (supported: http, https, s3, file, or a local path)`, {}, { code: 'UNSUPPORTED' });
}
