/**
 * How the peers (hyparquet, parquet-wasm) reach a private S3 object with their own URL readers:
 * - `signingFetch`: a `fetch` that signs each request with SigV4 headers, as our S3 backend does
 *   (the default: it works with every S3, moto in signature-checking mode included, and lets a HEAD through);
 * - `presignGet`: a presigned GET URL, as a browser app hands them one (`brr bench --presign`).
 *   S3 refuses a HEAD on it (signatures name the method), so hyparquet falls back to a ranged GET.
 *   moto 5.2.1 in auth mode cannot check presigned URLs (it answers 500: it looks only for an
 *   Authorization header), so this path is tested on a moto without auth.
 *
 * Presigning is the S3 backend's (`s3Backend(...).presign`); nothing here signs URLs itself.
 */
import { resolveS3Backend, s3Backend, type S3BackendOptions } from '../../backends/s3/backend.js';
import { signS3Request, type S3Credentials } from '../../backends/s3/signer.js';
import { objectTarget, type S3Location } from '../../backends/s3/url.js';

/**
 * How long a benchmark's presigned URL stays valid: 15 minutes (the AWS SDK presigner's default)
 * covers every reader of a `--runs` series on a slow store; a URL that leaks is dead soon after.
 */
export const BENCH_PRESIGN_SECONDS = 15 * 60;

interface S3Access {
  loc: S3Location;
  /** The object's URL (path-style or virtual-hosted, as our backend addresses it). */
  url: string;
  host: string;
  path: string;
  /** Undefined for anonymous access. */
  credentials: S3Credentials | undefined;
}

/** The object's address and the credentials, resolved by the S3 backend's own `resolveS3Backend`. */
async function s3Access(options: S3BackendOptions, key: string): Promise<S3Access> {
  const { loc, creds } = resolveS3Backend(options);
  const context = { backend: 's3', op: 'sign', path: key, bucket: loc.bucket };
  const target = objectTarget(loc, key, context);
  const credentials = await creds.get(context);
  return { loc, url: `${target.origin}${target.path}`, host: target.host, path: target.path, credentials };
}

/**
 * The URL of `key` in `options.bucket`, signed for GET with SigV4 query parameters (the payload
 * unsigned, as S3 presigned URLs are); for anonymous access, the plain URL. Only `host` is a signed
 * header, so the reader may add its own `Range`.
 */
export async function presignGet(options: S3BackendOptions, key: string, expiresInSeconds = BENCH_PRESIGN_SECONDS, signingDate = new Date()): Promise<string> {
  return s3Backend(options).presign(key, { expiresInSeconds, date: signingDate });
}

/**
 * The object's plain URL and a `fetch` that signs every request to it (method, `Range` and the
 * other headers the peer set) with SigV4, then sends it through `inner` (default: the global fetch
 * as it is now). Anonymous access sends the requests unsigned.
 */
export async function signingFetch(options: S3BackendOptions, key: string, inner: typeof globalThis.fetch = globalThis.fetch.bind(globalThis)): Promise<{ url: string; fetch: typeof globalThis.fetch }> {
  const a = await s3Access(options, key);
  const fetch: typeof globalThis.fetch = async (input, init) => {
    const request = new Request(input, init);
    if (!a.credentials) return inner(request);
    const url = new URL(request.url);
    const headers: Record<string, string> = {};
    request.headers.forEach((value, name) => {
      headers[name] = value;
    });
    const query: Record<string, string> = {};
    url.searchParams.forEach((value, name) => {
      query[name] = value;
    });
    const signed = await signS3Request({ method: request.method, protocol: url.protocol, host: url.host, path: url.pathname, query, headers }, a.credentials, a.loc.region);
    delete signed.host; // fetch sets Host itself (and refuses to be told)
    return inner(request.url, { method: request.method, headers: signed, signal: request.signal });
  };
  return { url: a.url, fetch };
}
