/**
 * The one error mapping of the S3 backend. S3 names its errors in an XML body
 * (`<Error><Code>NoSuchKey</Code><Message>…</Message></Error>`); HEAD responses have no body, so
 * they are mapped by status alone. Transport failures (resets, timeouts) map as for HTTP.
 *
 * Nothing secret reaches a message or a context: only the error code, S3's short message (the body
 * of a SignatureDoesNotMatch also holds the string to sign and the signature, which are dropped),
 * and the credential source in words.
 */
import { ReaderError, type ErrorContext, type ReaderErrorCode, type ReaderErrorKind } from '../../errors.js';
import { mapHttpError, mapHttpStatus, parseRetryAfter } from '../http/errors.js';

/** Characters of S3's `<Message>` kept in an error message: S3's messages are one sentence. */
export const S3_ERROR_MESSAGE_LIMIT = 300;

export interface S3ErrorResponse {
  status: number;
  /** The XML error body (absent for HEAD). */
  body?: string;
  /** `Retry-After` header, if any. */
  retryAfter?: string;
  /** `x-amz-bucket-region`: where the bucket really lives (sent with wrong-region errors). */
  bucketRegion?: string;
}

export interface S3ErrorOptions {
  /** The credential source in words: named in every PermissionDenied message. */
  credentials: string;
  /** The region requests were signed for. */
  region: string;
  /** Whether asking for credentials again can help (ExpiredToken with a refreshing source). */
  refreshable?: boolean;
  /** Strings that must never appear in an error (secret key, session token). */
  secrets?: readonly (string | undefined)[];
}

export interface S3ErrorInfo {
  code?: string;
  message?: string;
  requestId?: string;
  /** `<Region>` of a wrong-region error. */
  region?: string;
  /** `<ActualObjectSize>` of an InvalidRange (416) error: the object's size. */
  actualObjectSize?: number;
}

function xmlText(xml: string, tag: string): string | undefined {
  const m = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(xml);
  if (!m || m[1] === undefined) return undefined;
  return m[1]
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&amp;/g, '&')
    .trim();
}

/** Reads Code, Message, RequestId, Region and ActualObjectSize out of an S3 error body; empty when it is not one. */
export function parseS3ErrorXml(body: string | undefined): S3ErrorInfo {
  if (!body || !body.includes('<Error')) return {};
  const info: S3ErrorInfo = {};
  const code = xmlText(body, 'Code');
  if (code && /^[A-Za-z0-9.]+$/.test(code)) info.code = code;
  const message = xmlText(body, 'Message');
  if (message) info.message = message.replace(/\s+/g, ' ').slice(0, S3_ERROR_MESSAGE_LIMIT);
  const requestId = xmlText(body, 'RequestId');
  if (requestId && /^[\w-]+$/.test(requestId)) info.requestId = requestId;
  const region = xmlText(body, 'Region');
  if (region && /^[a-z0-9-]+$/.test(region)) info.region = region;
  const size = xmlText(body, 'ActualObjectSize');
  if (size && /^\d+$/.test(size) && Number.isSafeInteger(Number(size))) info.actualObjectSize = Number(size);
  return info;
}

const CODE_KINDS: Record<string, ReaderErrorKind> = {
  NoSuchKey: 'NotFound',
  NoSuchBucket: 'NotFound',
  NoSuchVersion: 'NotFound',
  AccessDenied: 'PermissionDenied',
  InvalidAccessKeyId: 'PermissionDenied',
  SignatureDoesNotMatch: 'PermissionDenied',
  InvalidToken: 'PermissionDenied',
  ExpiredToken: 'PermissionDenied',
  TokenRefreshRequired: 'PermissionDenied',
  AllAccessDisabled: 'PermissionDenied',
  AccountProblem: 'PermissionDenied',
  RequestTimeTooSkewed: 'PermissionDenied',
  InvalidRange: 'RangeNotSatisfied',
  PreconditionFailed: 'ConditionNotMatch',
  SlowDown: 'RateLimited',
  ServiceUnavailable: 'RateLimited',
  Throttling: 'RateLimited',
  ThrottlingException: 'RateLimited',
  TooManyRequests: 'RateLimited',
  RequestLimitExceeded: 'RateLimited',
  InternalError: 'Unavailable',
  RequestTimeout: 'Timeout',
  InvalidObjectState: 'Unsupported',
  InvalidBucketName: 'InvalidInput',
  KeyTooLongError: 'InvalidInput',
  InvalidArgument: 'InvalidInput',
  InvalidRequest: 'InvalidInput',
};

/** The stable code of a PermissionDenied, by S3's `<Code>` (anything else is ACCESS_DENIED). */
const PERMISSION_CODES: Readonly<Record<string, ReaderErrorCode>> = {
  SignatureDoesNotMatch: 'SIGNATURE_MISMATCH',
  InvalidAccessKeyId: 'INVALID_ACCESS_KEY',
  ExpiredToken: 'CREDENTIALS_EXPIRED',
  TokenRefreshRequired: 'CREDENTIALS_EXPIRED',
  RequestTimeTooSkewed: 'CLOCK_SKEW',
};

/** The stable code of every other kind an S3 `<Code>` maps to. */
const KIND_CODES: Readonly<Partial<Record<ReaderErrorKind, ReaderErrorCode>>> = {
  NotFound: 'NOT_FOUND',
  RangeNotSatisfied: 'RANGE_NOT_SATISFIABLE',
  ConditionNotMatch: 'ETAG_CHANGED',
  RateLimited: 'RATE_LIMITED',
  Unavailable: 'SERVER_UNAVAILABLE',
  Timeout: 'TIMEOUT',
  Unsupported: 'UNSUPPORTED',
  InvalidInput: 'INVALID_ARGUMENT',
};

/** Errors that say the request went to the wrong region. */
const WRONG_REGION_CODES = new Set(['PermanentRedirect', 'TemporaryRedirect', 'AuthorizationHeaderMalformed', 'IllegalLocationConstraintException']);

function redact(text: string, secrets: readonly (string | undefined)[] | undefined): string {
  let out = text;
  for (const s of secrets ?? []) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

/**
 * Maps an S3 error response to a ReaderError: by `<Code>` when the body has one, else by status.
 * - NoSuchKey/NoSuchBucket → NotFound; AccessDenied/InvalidAccessKeyId/SignatureDoesNotMatch/… →
 *   PermissionDenied, naming the credential source; ExpiredToken is retryable when the source can
 *   refresh.
 * - SlowDown/503 → RateLimited with Retry-After as `retryAfterMs`; InternalError/5xx → Unavailable;
 *   RequestTimeout → Timeout (all retryable).
 * - InvalidRange → RangeNotSatisfied; PreconditionFailed → ConditionNotMatch.
 * - A wrong region (301 PermanentRedirect, AuthorizationHeaderMalformed, x-amz-bucket-region)
 *   → InvalidInput naming the bucket's region.
 */
export function mapS3Error(res: S3ErrorResponse, context: ErrorContext, opts: S3ErrorOptions): ReaderError {
  const info = parseS3ErrorXml(res.body);
  const status = res.status;
  const ctx: ErrorContext = { ...context, status };
  if (info.code) ctx.code = info.code;
  if (info.requestId) ctx.requestId = info.requestId;
  const said = info.code ? `${info.code}${info.message ? `: ${info.message}` : ''}` : undefined;
  const why = redact(said ?? (res.body === undefined ? 'no error body (HEAD)' : `HTTP ${status}`), opts.secrets);
  const retryAfterMs = parseRetryAfter(res.retryAfter);
  const extra = retryAfterMs === undefined ? {} : { retryAfterMs };

  const bucketRegion = res.bucketRegion ?? info.region;
  if ((info.code && WRONG_REGION_CODES.has(info.code)) || (bucketRegion && bucketRegion !== opts.region && [301, 307, 400].includes(status))) {
    const where = bucketRegion ? `the bucket is in region ${bucketRegion}` : 'the bucket is in another region or behind another endpoint';
    return new ReaderError('InvalidInput', `${where}, but requests were signed for ${opts.region}: set region (or AWS_REGION) [${why}]`, {
      ...ctx,
      ...(bucketRegion ? { bucketRegion } : {}),
    }, { code: 'WRONG_REGION' });
  }

  let kind = info.code ? CODE_KINDS[info.code] : undefined;
  if (kind === undefined) {
    // An unknown code, or none (HEAD): the status decides.
    const mapped = mapHttpStatus(status, ctx, res.retryAfter, why);
    if (mapped.kind !== 'PermissionDenied') return mapped;
    kind = 'PermissionDenied';
  }
  if (kind === 'PermissionDenied') {
    const retryable = info.code === 'ExpiredToken' && opts.refreshable === true;
    const clock = info.code === 'RequestTimeTooSkewed' ? ' (the local clock is off: fix it)' : '';
    return new ReaderError('PermissionDenied', `access denied using ${opts.credentials}: ${why}${clock}`, { ...ctx, credentials: opts.credentials }, {
      code: (info.code && PERMISSION_CODES[info.code]) || 'ACCESS_DENIED',
      retryable,
    });
  }
  const messages: Partial<Record<ReaderErrorKind, string>> = {
    NotFound: info.code === 'NoSuchBucket' ? 'bucket not found' : 'object not found',
    RangeNotSatisfied: 'range not satisfiable',
    ConditionNotMatch: 'object changed: its ETag no longer matches If-Match',
    RateLimited: 'S3 asks to slow down',
    Unavailable: 'S3 server error',
    Timeout: 'S3 request timeout',
    Unsupported: 'object cannot be read as is',
    InvalidInput: 'S3 rejected the request',
  };
  return new ReaderError(kind, `${messages[kind] ?? 'S3 error'}: ${why}`, ctx, { ...extra, code: KIND_CODES[kind] ?? 'INTERNAL' });
}

/** Maps a transport failure (no response) the way the HTTP backend does. */
export function mapS3TransportError(err: unknown, context: ErrorContext, signal?: AbortSignal): ReaderError {
  return mapHttpError(err, context, signal);
}
