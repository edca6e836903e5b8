import { Agent, EnvHttpProxyAgent, type Dispatcher } from 'undici';
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

/**
 * A keep-alive pool with this library's limits. When the environment names a proxy
 * (`HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/`http_proxy`), requests go through it (undici's
 * `EnvHttpProxyAgent`: a CONNECT tunnel per origin), except to the hosts in `NO_PROXY`/`no_proxy`
 * (comma-separated `host`, `host:port`, `.domain`, or `*`), which are reached directly.
 */
export function createDispatcher(env: Record<string, string | undefined> = process.env): Dispatcher {
  const limits = {
    connections: HTTP_CONNECTIONS_PER_ORIGIN,
    keepAliveTimeout: HTTP_KEEP_ALIVE_MS,
    headersTimeout: HTTP_HEADERS_TIMEOUT_MS,
    bodyTimeout: HTTP_BODY_TIMEOUT_MS,
  };
  const httpProxy = env.http_proxy ?? env.HTTP_PROXY;
  const httpsProxy = env.https_proxy ?? env.HTTPS_PROXY;
  if (!httpProxy && !httpsProxy) return new Agent(limits);
  return new EnvHttpProxyAgent({
    ...limits,
    ...(httpProxy ? { httpProxy } : {}),
    ...(httpsProxy ? { httpsProxy } : {}),
    noProxy: env.no_proxy ?? env.NO_PROXY ?? '',
  });
}

/** The process-wide keep-alive pool used when a backend is not given a dispatcher (proxy settings read once, on first use). */
export function sharedDispatcher(): Dispatcher {
  shared ??= createDispatcher();
  return shared;
}
