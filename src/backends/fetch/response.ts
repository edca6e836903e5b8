import type { HttpResult } from '../http/response.js';

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
