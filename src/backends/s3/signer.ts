/**
 * AWS Signature Version 4 for S3, through `@smithy/signature-v4` (the AWS SDK's own signer).
 *
 * S3 differs from other services in one place: the canonical URI is the request path exactly as
 * sent (each key segment already RFC 3986-encoded), not encoded a second time and not normalised.
 * Hence `uriEscapePath: false`. Payloads are hashed (`x-amz-content-sha256`), as botocore's
 * S3SigV4Auth does; GET and HEAD carry the hash of the empty body.
 *
 * SHA-256 and HMAC come from WebCrypto (`crypto.subtle`), which Node ≥ 20, Deno, Bun and every
 * browser have: one signer for every runtime, checked against botocore's in the tests.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import type { Checksum, SourceData } from '@smithy/types';
import { encodeRfc3986 } from './url.js';

/** The signing name of S3 in the credential scope. */
export const S3_SIGNING_SERVICE = 's3';

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  /** When temporary credentials stop working; absent for long-term keys. */
  expiration?: Date;
}

export interface SignableRequest {
  method: string;
  /** `http:` or `https:`. */
  protocol: string;
  /** The Host header value (with a non-default port). */
  host: string;
  /** The encoded request path, as it goes on the wire. */
  path: string;
  /** Decoded query parameters (the signer encodes them canonically). */
  query?: Record<string, string>;
  /** Extra headers to send and sign (names in any case). */
  headers?: Record<string, string>;
  body?: Uint8Array;
}

const utf8 = new TextEncoder();

/** A copy as a plain Uint8Array over an ArrayBuffer (what WebCrypto takes). */
function bytesOf(data: SourceData): Uint8Array<ArrayBuffer> {
  if (typeof data === 'string') return utf8.encode(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return new Uint8Array(new Uint8Array(data));
}

/** SHA-256, or HMAC-SHA-256 when given a secret, over WebCrypto (one-shot: the input is kept until `digest`). */
export class WebCryptoSha256 implements Checksum {
  private parts: Uint8Array<ArrayBuffer>[] = [];

  constructor(private readonly secret?: SourceData) {}

  update(data: Uint8Array): void {
    this.parts.push(bytesOf(data));
  }

  async digest(): Promise<Uint8Array> {
    const total = this.parts.reduce((n, p) => n + p.byteLength, 0);
    const data = new Uint8Array(total);
    let at = 0;
    for (const p of this.parts) {
      data.set(p, at);
      at += p.byteLength;
    }
    const subtle = globalThis.crypto.subtle;
    if (this.secret === undefined) return new Uint8Array(await subtle.digest('SHA-256', data));
    const key = await subtle.importKey('raw', bytesOf(this.secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
    return new Uint8Array(await subtle.sign('HMAC', key, data));
  }

  reset(): void {
    this.parts = [];
  }
}

/**
 * Signs a request; returns every header to send, lower-cased: the caller's, `host`, `x-amz-date`,
 * `x-amz-content-sha256`, `x-amz-security-token` (with temporary credentials) and `authorization`.
 * `date` fixes the signing time (tests compare against botocore at a fixed timestamp).
 */
function s3Signer(credentials: S3Credentials, region: string): SignatureV4 {
  return new SignatureV4({
    service: S3_SIGNING_SERVICE,
    region,
    credentials: {
      accessKeyId: credentials.accessKeyId,
      secretAccessKey: credentials.secretAccessKey,
      ...(credentials.sessionToken ? { sessionToken: credentials.sessionToken } : {}),
    },
    sha256: WebCryptoSha256,
    uriEscapePath: false,
    applyChecksum: true,
  });
}

/** The request in the signer's shape, headers lower-cased, `host` set. */
function toSignable(req: SignableRequest, extraHeaders: Record<string, string> = {}) {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...req.headers, ...extraHeaders })) headers[name.toLowerCase()] = value;
  headers.host = req.host;
  const hostname = req.host.replace(/:\d+$/, '');
  const port = /:(\d+)$/.exec(req.host)?.[1];
  return {
    method: req.method.toUpperCase(),
    protocol: req.protocol,
    hostname,
    ...(port ? { port: Number(port) } : {}),
    path: req.path,
    query: req.query ?? {},
    headers,
    body: req.body ?? undefined,
  };
}

export async function signS3Request(
  req: SignableRequest,
  credentials: S3Credentials,
  region: string,
  date: Date = new Date(),
): Promise<Record<string, string>> {
  const signed = await s3Signer(credentials, region).sign(toSignable(req), { signingDate: date });
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers)) {
    if (typeof value === 'string') out[name.toLowerCase()] = value;
  }
  return out;
}

/** The query string for decoded parameters, encoded the way the signer canonicalises them (RFC 3986). */
export function encodeQuery(query: Record<string, string> | undefined): string {
  if (!query) return '';
  const parts = Object.keys(query)
    .sort()
    .map((k) => `${encodeRfc3986(k)}=${encodeRfc3986(query[k] as string)}`);
  return parts.length ? `?${parts.join('&')}` : '';
}

/** The longest a SigV4 presigned URL may live: 7 days (604,800 s), SigV4's own limit. */
export const PRESIGN_MAX_EXPIRES_SECONDS = 7 * 24 * 3600;

/** S3's payload hash for query-signed requests: the body is not part of a presigned URL's signature. */
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SHA256_HEADER = 'x-amz-content-sha256';

/**
 * A SigV4 query-signed (presigned) request: the decoded query parameters to append to the path —
 * `X-Amz-Algorithm`, `X-Amz-Credential`, `X-Amz-Date`, `X-Amz-Expires`, `X-Amz-SignedHeaders`,
 * `X-Amz-Security-Token` with temporary credentials, and `X-Amz-Signature` over an
 * `UNSIGNED-PAYLOAD`. Only `host` is signed, so the holder may add `Range` or `If-Match`.
 */
export async function presignS3Request(
  req: Omit<SignableRequest, 'body'>,
  credentials: S3Credentials,
  region: string,
  expiresInSeconds: number,
  date: Date = new Date(),
): Promise<Record<string, string>> {
  // The payload hash comes from this header; it is neither signed nor moved into the query, as
  // botocore's S3SigV4QueryAuth does: the URL is the same one botocore would give.
  const unsigned = new Set([SHA256_HEADER]);
  const presigned = await s3Signer(credentials, region).presign(toSignable(req, { [SHA256_HEADER]: UNSIGNED_PAYLOAD }), {
    signingDate: date,
    expiresIn: expiresInSeconds,
    unsignableHeaders: unsigned,
    unhoistableHeaders: unsigned,
  });
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(presigned.query ?? {})) if (typeof value === 'string') out[name] = value;
  return out;
}
