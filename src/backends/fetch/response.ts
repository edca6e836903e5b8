import { ReaderError, type ErrorContext } from '../../errors.js';
import type { HttpTransport } from '../../runtime.js';
import type { HttpResult } from '../http/response.js';
import { mapFetchError } from './errors.js';

/** `Response.type` of a cross-origin response read under CORS: only then can headers be hidden. */
const CORS_RESPONSE = 'cors';

/**
 * One fetch: the response as `HttpResult`, and whether it is a cross-origin CORS one. Network
 * failures (and, later, body failures) are ReaderErrors through `mapFetchError`; an opaque response
 * (`mode: 'no-cors'`) is `Unsupported`, since neither its status nor its bytes can be read.
 */
export async function sendFetch(
  fetchFn: typeof globalThis.fetch | undefined,
  url: URL,
  init: RequestInit,
  context: ErrorContext,
  signal?: AbortSignal,
): Promise<{ res: HttpResult; cors: boolean }> {
  const doFetch = fetchFn ?? globalThis.fetch;
  if (typeof doFetch !== 'function') {
    throw new ReaderError('Unsupported', 'no fetch in this runtime: pass a fetch function', context, { code: 'UNSUPPORTED' });
  }
  let response: Response;
  try {
    response = await doFetch(url, init);
  } catch (err) {
    throw mapFetchError(err, context, signal);
  }
  if (response.type === 'opaque' || response.type === 'opaqueredirect') {
    await response.body?.cancel().catch(() => undefined);
    throw new ReaderError('Unsupported', `fetch returned an opaque response (mode "${init.mode ?? 'no-cors'}"): its status and bytes cannot be read; use mode "cors"`, context, {
      code: 'UNSUPPORTED',
    });
  }
  return { res: fromFetchResponse(response, (err) => mapFetchError(err, context, signal, 'body')), cors: response.type === CORS_RESPONSE };
}

/**
 * The S3 backend's transport where undici is not (browsers, and the default entry anywhere): fetch.
 * `host` is left out: fetch forbids setting it and sends the URL's own, which is what was signed.
 */
export function fetchTransport(fetchFn?: typeof globalThis.fetch): HttpTransport {
  return async (req) => {
    const { host: _host, ...headers } = req.headers;
    const url = new URL(`${req.origin}${req.path}`);
    const context: ErrorContext = { url: `${req.origin}${req.path.split('?')[0]}` };
    const { res } = await sendFetch(fetchFn, url, { method: req.method, headers, ...(req.signal ? { signal: req.signal } : {}) }, context, req.signal);
    return res;
  };
}

/**
 * A fetch `Response` as the shared validation (src/backends/http/response.ts) reads it: status,
 * lower-cased headers (in a browser, only those CORS lets the script see) and a body iterated with
 * a stream reader (not `for await` over the stream, which not every browser supports). What the
 * stream throws goes through `mapBodyError` (a browser's bare `TypeError` becomes a retryable error).
 *
 * Fetch decodes `Content-Encoding` itself, so its body has a different length than the
 * `Content-Length` the server sent for the encoded bytes: that header is dropped for an encoded
 * response, and the body is then checked against its Content-Range alone.
 */
export function fromFetchResponse(res: Response, mapBodyError: (err: unknown) => Error = (err) => err as Error): HttpResult {
  const headers: Record<string, string> = {};
  res.headers.forEach((value, name) => {
    headers[name.toLowerCase()] = value;
  });
  const encoding = headers['content-encoding'];
  if (encoding && encoding.toLowerCase() !== 'identity') delete headers['content-length'];
  return { statusCode: res.status, headers, body: streamBody(res.body, mapBodyError) };
}

function streamBody(stream: ReadableStream<Uint8Array> | null, mapError: (err: unknown) => Error): HttpResult['body'] {
  return {
    async *[Symbol.asyncIterator]() {
      if (!stream) return;
      const reader = stream.getReader();
      let done = false;
      try {
        for (;;) {
          let step: ReadableStreamReadResult<Uint8Array>;
          try {
            step = await reader.read();
          } catch (err) {
            throw mapError(err);
          }
          if (step.done) {
            done = true;
            return;
          }
          yield step.value;
        }
      } finally {
        // Abandoned early (or failed): cancel so the connection is released, not left streaming.
        if (!done) await reader.cancel().catch(() => undefined);
        reader.releaseLock();
      }
    },
    async dump() {
      await stream?.cancel().catch(() => undefined);
    },
  };
}
