import type { ByteRange } from './types.js';

/**
 * What went wrong, as a caller needs to act on it.
 * - `NotFound`, `PermissionDenied`, `ConditionNotMatch`, `InvalidInput`, `RangeNotSatisfied`,
 *   `Unsupported`: final; retrying will not help.
 * - `RateLimited` (429, 503 SlowDown), `Unavailable` (5xx), `Interrupted` (a body that ended short
 *   or a connection reset), `Timeout`: retryable.
 * - `Aborted`: the caller's AbortSignal fired (the error's `name` is `AbortError`).
 * - `InvalidData`: the object's bytes are not what they claim (a corrupt or truncated Parquet footer).
 * - `Unexpected`: the server broke the protocol (wrong Content-Range, a body longer than asked for).
 */
export type ReaderErrorKind =
  | 'NotFound'
  | 'PermissionDenied'
  | 'InvalidInput'
  | 'RangeNotSatisfied'
  | 'ConditionNotMatch'
  | 'RateLimited'
  | 'Unavailable'
  | 'Interrupted'
  | 'Timeout'
  | 'Aborted'
  | 'Unsupported'
  | 'InvalidData'
  | 'Unexpected';

/**
 * A stable, documented name for the cause of a `ReaderError`: match on `code` (or `kind`), never on
 * the message text, which may change. Codes are never renamed or reused across versions; new ones
 * may be added. The README's "Errors" table lists each with its meaning.
 */
export const READER_ERROR_CODES = [
  // Where the object is, and who may read it.
  'NOT_FOUND',
  'ACCESS_DENIED',
  'SIGNATURE_MISMATCH',
  'INVALID_ACCESS_KEY',
  'CREDENTIALS_MISSING',
  'PATH_ESCAPE',
  'CREDENTIALS_EXPIRED',
  'CLOCK_SKEW',
  'WRONG_REGION',
  'REDIRECT_REFUSED',
  // What the server sent.
  'RANGE_NOT_SATISFIABLE',
  'ETAG_CHANGED',
  'SHORT_BODY',
  'LONG_BODY',
  'BAD_CONTENT_RANGE',
  'RANGE_IGNORED',
  'BAD_STATUS',
  'SIZE_UNKNOWN',
  'EMPTY_READ',
  'TOO_MANY_REDIRECTS',
  'CORS_HEADER_HIDDEN',
  'BAD_LISTING',
  // Transient trouble, and when retrying ends.
  'RATE_LIMITED',
  'SERVER_UNAVAILABLE',
  'CONNECTION_RESET',
  'NETWORK_ERROR',
  'IO_ERROR',
  'DNS_FAILURE',
  'RETRIES_EXHAUSTED',
  'STALLED',
  'TIMEOUT',
  'ABORTED',
  // The caller's input.
  'INVALID_ARGUMENT',
  'INVALID_FILTER',
  'SEEK_BEFORE_START',
  'INVALID_URL',
  'NOT_A_FILE',
  'ROW_GROUP_NOT_FOUND',
  'READER_CLOSED',
  'UNSUPPORTED',
  'LIST_UNSUPPORTED',
  'BAD_MANIFEST',
  'BAD_PARTITION',
  'BAD_SPLIT',
  // The file's bytes.
  'FOOTER_TOO_SHORT',
  'BAD_MAGIC',
  'ENCRYPTED',
  'METADATA_TOO_LONG',
  'METADATA_CORRUPT',
  'CHUNK_OUT_OF_FILE',
  'COLUMN_NOT_FOUND',
  'EXTERNAL_COLUMN_CHUNK',
  'INVALID_DATA',
  'UNSUPPORTED_CODEC',
  'DECODER_PANIC',
  'DECODE_FAILED',
  'DECODER_TIMEOUT',
  'DECODER_START_FAILED',
  'SCHEMA_MISMATCH',
  // Anything else (a bug or an unknown failure): report it.
  'INTERNAL',
] as const;

export type ReaderErrorCode = (typeof READER_ERROR_CODES)[number];

/** The code an error gets when its throw site names none: the most general one for its kind. */
const DEFAULT_CODE: Readonly<Record<ReaderErrorKind, ReaderErrorCode>> = {
  NotFound: 'NOT_FOUND',
  PermissionDenied: 'ACCESS_DENIED',
  InvalidInput: 'INVALID_ARGUMENT',
  RangeNotSatisfied: 'RANGE_NOT_SATISFIABLE',
  ConditionNotMatch: 'ETAG_CHANGED',
  RateLimited: 'RATE_LIMITED',
  Unavailable: 'SERVER_UNAVAILABLE',
  Interrupted: 'CONNECTION_RESET',
  Timeout: 'TIMEOUT',
  Aborted: 'ABORTED',
  Unsupported: 'UNSUPPORTED',
  InvalidData: 'INVALID_DATA',
  Unexpected: 'INTERNAL',
};

const RETRYABLE_KINDS: ReadonlySet<ReaderErrorKind> = new Set([
  'RateLimited',
  'Unavailable',
  'Interrupted',
  'Timeout',
]);

export interface ErrorContext {
  backend?: string;
  op?: string;
  path?: string;
  range?: ByteRange;
  /** HTTP status when one was received. */
  status?: number;
  /** Anything else worth knowing (server error code, bytes received…). Never secrets. */
  [key: string]: unknown;
}

export interface ReaderErrorOptions {
  /** The stable cause; defaults to the most general code of the kind. */
  code?: ReaderErrorCode;
  retryable?: boolean;
  cause?: unknown;
  /** Server-suggested delay before a retry (Retry-After), in milliseconds. */
  retryAfterMs?: number;
}

/** The one error class of this library. */
export class ReaderError extends Error {
  readonly kind: ReaderErrorKind;
  /** The stable name of the cause (see `READER_ERROR_CODES`). */
  readonly code: ReaderErrorCode;
  readonly retryable: boolean;
  readonly context: ErrorContext;
  readonly retryAfterMs?: number;
  /** The message without the context suffix. */
  readonly detail: string;

  constructor(kind: ReaderErrorKind, message: string, context: ErrorContext = {}, opts: ReaderErrorOptions = {}) {
    super(formatMessage(message, redactContext(context)), opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = kind === 'Aborted' ? 'AbortError' : 'ReaderError';
    this.detail = message;
    this.kind = kind;
    this.code = opts.code ?? DEFAULT_CODE[kind];
    this.retryable = opts.retryable ?? RETRYABLE_KINDS.has(kind);
    this.context = redactContext(context);
    if (opts.retryAfterMs !== undefined) this.retryAfterMs = opts.retryAfterMs;
  }

  /** The same error with more context (fields already set win). */
  withContext(extra: ErrorContext): ReaderError {
    const merged = { ...extra, ...this.context };
    return new ReaderError(this.kind, this.detail, merged, {
      code: this.code,
      retryable: this.retryable,
      cause: this.cause,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
    });
  }
}

export function isReaderError(err: unknown, kind?: ReaderErrorKind): err is ReaderError {
  return err instanceof ReaderError && (kind === undefined || err.kind === kind);
}

/** `err` is a `ReaderError` with this `code`. */
export function hasErrorCode(err: unknown, code: ReaderErrorCode): err is ReaderError {
  return err instanceof ReaderError && err.code === code;
}

/**
 * A URL fit for a message or a log: query values and user info replaced by `[redacted]`, because a
 * presigned URL carries its signature and session token there (`X-Amz-Signature`,
 * `X-Amz-Security-Token`). Anything that is not an absolute URL is returned as is.
 */
export function redactUrl(value: string): string {
  if (!/^[a-zA-Z][a-zA-Z0-9+.-]*:\/\//.test(value)) return value;
  let out = value.replace(/^([a-zA-Z][a-zA-Z0-9+.-]*:\/\/)[^/?#@]*@/, '$1[redacted]@');
  const q = out.indexOf('?');
  if (q >= 0) {
    const hash = out.indexOf('#', q);
    const query = out.slice(q + 1, hash < 0 ? undefined : hash);
    const redacted = query
      .split('&')
      .map((pair) => (pair.includes('=') ? `${pair.slice(0, pair.indexOf('='))}=[redacted]` : pair))
      .join('&');
    out = `${out.slice(0, q)}?${redacted}`;
  }
  return out;
}

/** Replaces every occurrence of each secret (4 characters or more) in `text` by `[redacted]`. */
export function redactSecrets(text: string, secrets: readonly (string | undefined)[]): string {
  let out = text;
  for (const s of secrets) if (s && s.length >= 4) out = out.split(s).join('[redacted]');
  return out;
}

function redactContext(ctx: ErrorContext): ErrorContext {
  const path = typeof ctx.path === 'string' ? redactUrl(ctx.path) : ctx.path;
  const url = typeof ctx.url === 'string' ? redactUrl(ctx.url) : ctx.url;
  if (path === ctx.path && url === ctx.url) return ctx;
  return { ...ctx, ...(path === undefined ? {} : { path }), ...(url === undefined ? {} : { url }) };
}

function formatMessage(message: string, ctx: ErrorContext): string {
  const parts: string[] = [];
  if (ctx.backend) parts.push(ctx.backend);
  if (ctx.op) parts.push(ctx.op);
  if (ctx.path !== undefined) parts.push(JSON.stringify(ctx.path));
  if (ctx.range) parts.push(describeRange(ctx.range));
  if (ctx.status !== undefined) parts.push(`status ${ctx.status}`);
  return parts.length ? `${message} (${parts.join(' ')})` : message;
}

export function describeRange(range: ByteRange): string {
  if ('suffix' in range) return `bytes=-${range.suffix}`;
  if (range.length === undefined) return `bytes=${range.offset}-`;
  return `bytes=${range.offset}-${range.offset + range.length - 1}`;
}

/** The error to throw when `signal` has fired. */
export function abortError(signal: AbortSignal | undefined, context: ErrorContext = {}): ReaderError {
  return new ReaderError('Aborted', 'the operation was aborted', context, { code: 'ABORTED', cause: signal?.reason });
}

export function throwIfAborted(signal: AbortSignal | undefined, context: ErrorContext = {}): void {
  if (signal?.aborted) throw abortError(signal, context);
}

/** Wraps anything thrown into a ReaderError, keeping ReaderErrors (with added context) as they are. */
export function toReaderError(err: unknown, context: ErrorContext, signal?: AbortSignal): ReaderError {
  if (err instanceof ReaderError) return err.withContext(context);
  if (signal?.aborted) return abortError(signal, context);
  if (err instanceof Error && err.name === 'AbortError') return new ReaderError('Aborted', 'the operation was aborted', context, { code: 'ABORTED', cause: err });
  const message = err instanceof Error ? err.message : String(err);
  return new ReaderError('Unexpected', message, context, { code: 'INTERNAL', cause: err });
}
