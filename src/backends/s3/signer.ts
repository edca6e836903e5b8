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
export async function signS3Request(
  req: SignableRequest,
  credentials: S3Credentials,
  region: string,
  date: Date = new Date(),
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
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
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(req.headers ?? {})) headers[name.toLowerCase()] = value;
  headers.host = req.host;
  const hostname = req.host.replace(/:\d+$/, '');
  const port = /:(\d+)$/.exec(req.host)?.[1];
  const signed = await signer.sign(
    {
      method: req.method.toUpperCase(),
      protocol: req.protocol,
      hostname,
      ...(port ? { port: Number(port) } : {}),
      path: req.path,
      query: req.query ?? {},
      headers,
      body: req.body ?? undefined,
    },
    { signingDate: date },
  );
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
