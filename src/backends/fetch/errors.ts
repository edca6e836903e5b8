import { ReaderError, abortError, type ErrorContext } from '../../errors.js';
import { mapHttpError } from '../http/errors.js';

/**
 * Maps what `fetch` (or reading its body) threw to a ReaderError. Runtimes differ:
 * - Node's fetch is undici: a `TypeError('fetch failed')` whose `cause.code` is the socket's
 *   (`ECONNREFUSED`, `UND_ERR_SOCKET`...), mapped like the undici backend's errors.
 * - Browsers, Deno and Bun throw a bare `TypeError` for every network failure. In a browser that
 *   includes a response the CORS check refused (no `Access-Control-Allow-Origin` for this origin):
 *   the page is not told which, only the console is, so the message says both.
 * A failure before the response is `Unavailable`; one while reading the body is `Interrupted`
 * (the retry layer resumes it from the last byte received).
 */
export function mapFetchError(err: unknown, context: ErrorContext, signal?: AbortSignal, phase: 'request' | 'body' = 'request'): ReaderError {
  if (err instanceof ReaderError) return err.withContext(context);
  if (signal?.aborted) return abortError(signal, context);
  const e = err as { name?: string; code?: unknown; message?: string; cause?: { code?: unknown } } | undefined;
  if (e?.name === 'AbortError') return abortError(signal, context);
  if (e?.name === 'TimeoutError') return new ReaderError('Timeout', 'the request timed out', context, { code: 'TIMEOUT', cause: err });
  if (typeof e?.code === 'string' || typeof e?.cause?.code === 'string') {
    const mapped = mapHttpError(err, context, signal);
    if (mapped.kind !== 'Unexpected') return mapped;
  }
  const message = e?.message ?? String(err);
  if (phase === 'body') {
    return new ReaderError('Interrupted', `the response body failed: ${message}`, context, { code: 'CONNECTION_RESET', cause: err });
  }
  if (err instanceof TypeError || e?.name === 'TypeError') {
    return new ReaderError(
      'Unavailable',
      `network error: ${message} (in a browser this is also how a CORS refusal looks: the server must send Access-Control-Allow-Origin for this page's origin)`,
      context,
      { code: 'NETWORK_ERROR', cause: err },
    );
  }
  return new ReaderError('Unexpected', message, context, { code: 'NETWORK_ERROR', cause: err });
}

/** Headers a cross-origin reader needs to see, in the order the CORS message lists them. */
export const CORS_EXPOSE_HEADERS = ['Content-Range', 'ETag', 'Content-Length'] as const;

/**
 * A cross-origin response (`Response.type === 'cors'`) hid a header the reader needs: browsers show
 * scripts only the safelisted response headers unless the server lists the others in
 * `Access-Control-Expose-Headers`. Final: retrying cannot change the server's CORS rules.
 */
export function corsHiddenError(name: string, context: ErrorContext, status: number): ReaderError {
  return new ReaderError(
    'Unexpected',
    `the browser hid the ${name} response header of this cross-origin response: the server must send ` +
      `"Access-Control-Expose-Headers: ${CORS_EXPOSE_HEADERS.join(', ')}" (for S3: ExposeHeaders in the bucket's CORS configuration)`,
    { ...context, status },
    { code: 'CORS_HEADER_HIDDEN', retryable: false },
  );
}
