/**
 * Where an S3 request goes: endpoint, addressing style and the exact bytes of the request path.
 *
 * The path is built by hand, never through `new URL()`: the WHATWG URL parser resolves `.`/`..`
 * segments (even as `%2e%2e`), which would send a key like `a/../b` to the wrong object.
 */
import { processEnv } from '../../runtime.js';
import { ReaderError, type ErrorContext } from '../../errors.js';

/**
 * Region used when neither the options nor `AWS_REGION`/`AWS_DEFAULT_REGION` name one. us-east-1 is
 * where S3's global endpoint lives, what S3-compatible servers (moto, MinIO) accept by default, and
 * what the AWS CLI assumes for S3 without a configured region.
 */
export const S3_DEFAULT_REGION = 'us-east-1';

/** Environment variables read for the endpoint, most specific first (the AWS SDKs' order). */
export const S3_ENDPOINT_ENV_VARS = ['AWS_ENDPOINT_URL_S3', 'AWS_ENDPOINT_URL'] as const;

/** Environment variables read for the region, most specific first (the AWS SDKs' order). */
export const S3_REGION_ENV_VARS = ['AWS_REGION', 'AWS_DEFAULT_REGION'] as const;

export interface S3Location {
  bucket: string;
  region: string;
  /** `https://s3.<region>.amazonaws.com`, or the custom endpoint without a trailing slash. */
  endpoint: URL;
  /** True when the endpoint was given (options or environment), not derived from the region. */
  customEndpoint: boolean;
  /** `/bucket/key` paths on the endpoint's host, instead of `bucket.host/key`. */
  pathStyle: boolean;
}

export interface S3LocationInput {
  bucket: string;
  region?: string;
  endpoint?: string;
  forcePathStyle?: boolean;
  /** Defaults to `process.env` (none in a browser). */
  env?: Record<string, string | undefined>;
}

function firstEnv(env: Record<string, string | undefined>, names: readonly string[]): string | undefined {
  for (const name of names) {
    const v = env[name]?.trim();
    if (v) return v;
  }
  return undefined;
}

/**
 * Whether a bucket name can be a DNS label under virtual-hosted addressing: 3–63 characters of
 * lowercase letters, digits, `-` and `.`, starting and ending with a letter or digit, no `..`, and
 * not shaped like an IP address.
 */
export function isDnsCompatibleBucket(bucket: string): boolean {
  if (bucket.length < 3 || bucket.length > 63) return false;
  if (!/^[a-z0-9][a-z0-9.-]*[a-z0-9]$/.test(bucket)) return false;
  if (bucket.includes('..') || bucket.includes('.-') || bucket.includes('-.')) return false;
  return !/^\d+\.\d+\.\d+\.\d+$/.test(bucket);
}

/**
 * Resolves endpoint, region and addressing. A custom endpoint (options, `AWS_ENDPOINT_URL_S3`,
 * `AWS_ENDPOINT_URL`) defaults to path style: local servers and most S3-compatible stores have no
 * wildcard DNS for `bucket.host`. AWS itself defaults to virtual-hosted addressing when the bucket is
 * a DNS-compatible name without dots (a dotted bucket breaks the `*.s3.amazonaws.com` TLS
 * certificate, so it goes path style, as the AWS SDKs do).
 */
export function resolveS3Location(input: S3LocationInput, context: ErrorContext = {}): S3Location {
  const env = input.env ?? processEnv();
  const { bucket } = input;
  if (typeof bucket !== 'string' || bucket === '' || bucket.includes('/')) {
    throw new ReaderError('InvalidInput', `invalid S3 bucket name ${JSON.stringify(bucket)}`, context, { code: 'INVALID_ARGUMENT' });
  }
  const region = input.region?.trim() || firstEnv(env, S3_REGION_ENV_VARS) || S3_DEFAULT_REGION;
  if (!/^[a-z0-9-]+$/i.test(region)) throw new ReaderError('InvalidInput', `invalid AWS region ${JSON.stringify(region)}`, context, { code: 'INVALID_ARGUMENT' });
  const given = input.endpoint?.trim() || firstEnv(env, S3_ENDPOINT_ENV_VARS);
  let endpoint: URL;
  try {
    endpoint = new URL(given ?? `https://s3.${region}.amazonaws.com`);
  } catch (err) {
    throw new ReaderError('InvalidInput', `invalid S3 endpoint ${JSON.stringify(given)}`, context, { code: 'INVALID_URL', cause: err });
  }
  if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
    throw new ReaderError('InvalidInput', `S3 endpoint must be http(s), got ${endpoint.protocol}`, context, { code: 'INVALID_URL' });
  }
  if (endpoint.search || endpoint.hash || endpoint.username || endpoint.password) {
    throw new ReaderError('InvalidInput', 'S3 endpoint must not carry a query, fragment or user info', context, { code: 'INVALID_URL' });
  }
  const customEndpoint = given !== undefined;
  const virtualOk = isDnsCompatibleBucket(bucket) && (endpoint.protocol === 'http:' || !bucket.includes('.'));
  const pathStyle = input.forcePathStyle ?? (customEndpoint || !virtualOk);
  if (!pathStyle && !isDnsCompatibleBucket(bucket)) {
    throw new ReaderError('InvalidInput', `bucket ${JSON.stringify(bucket)} is not DNS-compatible: use forcePathStyle`, context, { code: 'INVALID_ARGUMENT' });
  }
  return { bucket, region, endpoint, customEndpoint, pathStyle };
}

/** RFC 3986 unreserved characters stay; every other byte of the UTF-8 form becomes `%XX`. */
export function encodeRfc3986(segment: string): string {
  return encodeURIComponent(segment).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/**
 * Encodes an object key for the request path exactly as S3 expects: each `/`-separated segment
 * URI-encoded per RFC 3986, `/` kept as is. Empty segments are kept too, so `a//b` stays `a//b` and
 * a leading `/` gives a path like `/bucket//a`. The result is also the canonical URI S3 signs (S3
 * signs the path as sent, never encoded twice).
 */
export function encodeKey(key: string, context: ErrorContext = {}): string {
  if (typeof key !== 'string' || key === '') throw new ReaderError('InvalidInput', 'S3 object key must be a non-empty string', context, { code: 'INVALID_ARGUMENT' });
  try {
    return key.split('/').map(encodeRfc3986).join('/');
  } catch (err) {
    // encodeURIComponent throws on a lone UTF-16 surrogate: such a key has no UTF-8 form.
    throw new ReaderError('InvalidInput', 'S3 object key is not valid Unicode', context, { code: 'INVALID_ARGUMENT', cause: err });
  }
}

export interface S3Target {
  /** `scheme://host[:port]`. */
  origin: string;
  /** The Host header value (includes a non-default port). */
  host: string;
  /** The encoded request path, starting with `/`. */
  path: string;
}

/** The origin, Host and encoded path of an object request. */
export function objectTarget(loc: S3Location, key: string, context: ErrorContext = {}): S3Target {
  const encoded = encodeKey(key, context);
  const base = loc.endpoint.pathname.replace(/\/+$/, '');
  if (loc.pathStyle) {
    return { origin: loc.endpoint.origin, host: loc.endpoint.host, path: `${base}/${encodeRfc3986(loc.bucket)}/${encoded}` };
  }
  const host = `${loc.bucket}.${loc.endpoint.host}`;
  return { origin: `${loc.endpoint.protocol}//${host}`, host, path: `${base}/${encoded}` };
}

/** The origin, Host and path of a bucket-level request (ListObjectsV2). */
export function bucketTarget(loc: S3Location): S3Target {
  const base = loc.endpoint.pathname.replace(/\/+$/, '');
  if (loc.pathStyle) return { origin: loc.endpoint.origin, host: loc.endpoint.host, path: `${base}/${encodeRfc3986(loc.bucket)}` };
  const host = `${loc.bucket}.${loc.endpoint.host}`;
  return { origin: `${loc.endpoint.protocol}//${host}`, host, path: `${base}/` };
}

/** Splits `s3://bucket/key` into bucket and key (the key is taken literally, not percent-decoded). */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const m = /^s3:\/\/([^/?#]+)\/(.+)$/is.exec(url);
  if (!m || !m[1] || !m[2]) {
    throw new ReaderError('InvalidInput', `an S3 URL looks like s3://bucket/key, got ${JSON.stringify(url)}`, {}, { code: 'INVALID_URL' });
  }
  return { bucket: m[1], key: m[2] };
}
