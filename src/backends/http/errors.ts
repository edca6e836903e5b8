import { ReaderError, abortError, type ErrorContext } from '../../errors.js';

/** Parses Retry-After (delta seconds or an HTTP date) into milliseconds from now. */
export function parseRetryAfter(value: string | undefined, now = Date.now()): number | undefined {
  if (!value) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000;
  const at = Date.parse(trimmed);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Maps an HTTP error status to a ReaderError. `detail` is a short server-provided reason, if any. */
export function mapHttpStatus(status: number, context: ErrorContext, retryAfter?: string, detail?: string): ReaderError {
  const ctx = { ...context, status };
  const why = detail ? `: ${detail}` : '';
  const retryAfterMs = parseRetryAfter(retryAfter);
  const extra = retryAfterMs === undefined ? {} : { retryAfterMs };
  if (status === 404 || status === 410) return new ReaderError('NotFound', `object not found${why}`, ctx, { code: 'NOT_FOUND' });
  if (status === 401 || status === 403) return new ReaderError('PermissionDenied', `access denied${why}`, ctx, { code: 'ACCESS_DENIED' });
  if (status === 412) return new ReaderError('ConditionNotMatch', `object changed: its ETag no longer matches If-Match${why}`, ctx, { code: 'ETAG_CHANGED' });
  if (status === 416) return new ReaderError('RangeNotSatisfied', `range not satisfiable${why}`, ctx, { code: 'RANGE_NOT_SATISFIABLE' });
  if (status === 429) return new ReaderError('RateLimited', `too many requests${why}`, ctx, { ...extra, code: 'RATE_LIMITED' });
  if (status === 503) return new ReaderError('RateLimited', `service unavailable / slow down${why}`, ctx, { ...extra, code: 'RATE_LIMITED' });
  if (status === 408) return new ReaderError('Timeout', `request timeout${why}`, ctx, { ...extra, code: 'TIMEOUT' });
  if (status >= 500) return new ReaderError('Unavailable', `server error${why}`, ctx, { ...extra, code: 'SERVER_UNAVAILABLE' });
  return new ReaderError('Unexpected', `unexpected HTTP status${why}`, ctx, { code: 'BAD_STATUS' });
}

const INTERRUPTED_CODES = new Set([
  'ECONNRESET',
  'EPIPE',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
]);
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'EHOSTUNREACH', 'ENETUNREACH']);
/**
 * Name resolution failures (DNS_FAILURE). `ENOTFOUND` (no such host) is final: retrying cannot make a
 * name exist. `EAI_AGAIN` (the resolver did not answer) stays retryable; the retry policy gives it one
 * retry only (`DNS_RETRIES` in src/layers/retry-policy.ts), since a resolver that fails twice in a row
 * is down, not slow.
 */
const DNS_CODES = new Set(['ENOTFOUND', 'EAI_AGAIN']);
const TIMEOUT_CODES = new Set(['ETIMEDOUT', 'UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']);

/** Maps a transport error thrown by undici (or Node's sockets) to a ReaderError. */
export function mapHttpError(err: unknown, context: ErrorContext, signal?: AbortSignal): ReaderError {
  if (err instanceof ReaderError) return err.withContext(context);
  if (signal?.aborted) return abortError(signal, context);
  const e = err as { code?: string; name?: string; message?: string; cause?: { code?: string } } | undefined;
  const code = e?.code ?? e?.cause?.code;
  const message = e?.message ?? String(err);
  if (e?.name === 'AbortError' || code === 'UND_ERR_ABORTED') return new ReaderError('Aborted', 'the operation was aborted', context, { code: 'ABORTED', cause: err });
  if (code && INTERRUPTED_CODES.has(code)) {
    // undici's length check: the connection ended before Content-Length bytes (catalogue case 1)
    const stable = code === 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH' ? 'SHORT_BODY' : 'CONNECTION_RESET';
    return new ReaderError('Interrupted', `connection interrupted (${code})`, context, { code: stable, cause: err });
  }
  if (code && TIMEOUT_CODES.has(code)) return new ReaderError('Timeout', `timed out (${code})`, context, { code: 'TIMEOUT', cause: err });
  if (code && DNS_CODES.has(code)) {
    return new ReaderError('Unavailable', `cannot resolve the host name (${code})`, { ...context, errno: code }, { code: 'DNS_FAILURE', retryable: code === 'EAI_AGAIN', cause: err });
  }
  if (code && UNAVAILABLE_CODES.has(code)) return new ReaderError('Unavailable', `cannot connect (${code})`, context, { code: 'NETWORK_ERROR', cause: err });
  if (code === 'UND_ERR_INVALID_ARG' || code === 'ERR_INVALID_URL') return new ReaderError('InvalidInput', message, context, { code: 'INVALID_URL', cause: err });
  return new ReaderError('Unexpected', message, context, { code: 'NETWORK_ERROR', cause: err });
}
