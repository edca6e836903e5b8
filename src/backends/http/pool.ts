import { Agent, type Dispatcher } from 'undici';
import { CONNECTIONS_PER_ORIGIN } from '../../connections.js';

/** Sockets per origin in the shared pool: CONNECTIONS_PER_ORIGIN (src/connections.ts says why). */
export const HTTP_CONNECTIONS_PER_ORIGIN = CONNECTIONS_PER_ORIGIN;

/**
 * Idle keep-alive time. Long enough to reuse a socket across the gap between a footer read and the
 * data wave (hundreds of ms), shorter than S3's ~20 s idle close so we rarely write into a dead socket.
 */
export const HTTP_KEEP_ALIVE_MS = 10_000;

/** No response headers within this time means the request is stuck; retry layers treat it as a Timeout. */
export const HTTP_HEADERS_TIMEOUT_MS = 60_000;

/** No body bytes for this long is a stalled body (catalogue case 15). */
export const HTTP_BODY_TIMEOUT_MS = 60_000;

let shared: Dispatcher | undefined;

/** The process-wide keep-alive pool used when a backend is not given a dispatcher. */
export function sharedDispatcher(): Dispatcher {
  shared ??= new Agent({
    connections: HTTP_CONNECTIONS_PER_ORIGIN,
    keepAliveTimeout: HTTP_KEEP_ALIVE_MS,
    headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
    bodyTimeout: HTTP_BODY_TIMEOUT_MS,
  });
  return shared;
}
