import { request, type Dispatcher } from 'undici';
import { ReaderError, throwIfAborted, type ErrorContext } from '../../errors.js';
import { rangeHeader, validateRange } from '../../range.js';
import type { Backend, ByteRange, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../../types.js';
import { mapHttpError } from './errors.js';
import { flowingResult } from './undici-body.js';
import { sharedDispatcher } from './pool.js';
import { httpObjectUrl, statHttpObject, statOfVersion } from '../stat.js';
import { discard, header, headerSecrets, interpretRangedResponse, redactedUrl, statResponse, statusError, type HttpResult } from './response.js';

export { resolveHttpUrl } from '../stat.js';

/** Redirects followed per request: enough for a CDN hop or two, few enough to stop a loop quickly. */
export const HTTP_MAX_REDIRECTS = 5;

const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);

export interface HttpBackendOptions {
  /** Paths are resolved against this URL (`baseUrl + '/' + path`); without it, paths are absolute URLs. */
  baseUrl?: string;
  /** Headers sent with every request (e.g. Authorization). Dropped on a redirect to another origin. */
  headers?: Record<string, string>;
  /** undici dispatcher (pool/agent); defaults to a shared keep-alive pool with bounded sockets. */
  dispatcher?: Dispatcher;
  /** Set false for servers that do not understand suffix ranges (`bytes=-N`). Default true. */
  suffix?: boolean;
  /**
   * Set false for servers that refuse HEAD (presigned GET URLs, some CDNs): `stat` then sends
   * `GET bytes=0-0`. Default true; a HEAD answered 403/405/501 falls back by itself, and the origin
   * is remembered.
   */
  head?: boolean;
}

/**
 * Objects over HTTP(S): HEAD for stat (or `GET bytes=0-0` where HEAD is refused), GET with a single `Range` for reads, over undici's keep-alive
 * pool. Responses are validated, never trusted: see `interpretRangedResponse` for 200/206/416.
 */
export function httpBackend(options: HttpBackendOptions = {}): Backend {
  const dispatcher = options.dispatcher ?? sharedDispatcher();
  const baseHeaders = options.headers ?? {};
  const secrets = headerSecrets(baseHeaders);

  async function send(
    method: 'GET' | 'HEAD',
    path: string,
    extra: Record<string, string>,
    context: ErrorContext,
    signal?: AbortSignal,
  ): Promise<HttpResult> {
    let url = httpObjectUrl(path, options.baseUrl, context);
    const origin = url.origin;
    for (let hop = 0; ; hop++) {
      const headers = url.origin === origin ? { ...baseHeaders, ...extra } : { ...extra };
      let res: HttpResult;
      try {
        res = (await request(url, { method, headers, dispatcher, ...(signal ? { signal } : {}) })) as HttpResult;
      } catch (err) {
        throw mapHttpError(err, { ...context, url: redactedUrl(url) }, signal);
      }
      if (!REDIRECT_STATUSES.has(res.statusCode)) return res;
      const location = header(res, 'location');
      await discard(res);
      if (!location || hop >= HTTP_MAX_REDIRECTS) {
        throw new ReaderError('Unexpected', location ? `more than ${HTTP_MAX_REDIRECTS} redirects` : 'redirect without Location', { ...context, status: res.statusCode }, { code: location ? 'TOO_MANY_REDIRECTS' : 'BAD_STATUS' });
      }
      url = new URL(location, url);
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        throw new ReaderError('PermissionDenied', `redirect to a non-HTTP URL refused`, { ...context, status: res.statusCode }, { code: 'REDIRECT_REFUSED' });
      }
    }
  }

  const mapStatus = (res: HttpResult, context: ErrorContext): Promise<ReaderError> => statusError(res, context, secrets);

  /**
   * HEAD, or `GET bytes=0-0` where HEAD is refused (403/405/501) or `head: false`: see `statOverHttp`.
   */
  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    return pinnedStat(path, undefined, opts.signal);
  }

  /** `stat`, sent with `If-Match: ifMatch` when given (a stat of that version, or ConditionNotMatch). */
  function pinnedStat(path: string, ifMatch: string | undefined, signal?: AbortSignal): Promise<ObjectMeta> {
    return statHttpObject({
      backend: 'http',
      path,
      ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
      head: options.head ?? true,
      ...(signal ? { signal } : {}),
      ...(ifMatch === undefined ? {} : { ifMatch }),
      send: async (method, extra, context) => statResponse(await send(method, path, extra, context, signal), (r) => mapStatus(r, context)),
    });
  }

  const statOf = statOfVersion(pinnedStat);

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    const context: ErrorContext = { backend: 'http', op: 'read', path, range };
    throwIfAborted(opts.signal, context);
    validateRange(range, context);
    const extra: Record<string, string> = { range: rangeHeader(range) };
    if (opts.ifMatch !== undefined) extra['if-match'] = opts.ifMatch;
    // The body flows into a bounded queue instead of one pull per chunk (src/backends/http/undici-body.ts).
    const res = flowingResult(await send('GET', path, extra, context, opts.signal));
    return interpretRangedResponse(res, range, {
      context,
      ...(opts.signal ? { signal: opts.signal } : {}),
      statSize: (etag) => statOf(path, etag, opts.signal),
      ifMatch: opts.ifMatch,
      mapStatus: (r) => mapStatus(r, context),
    });
  }

  return {
    kind: 'http',
    capabilities: { suffix: options.suffix ?? true, etag: true, ifMatch: true },
    stat,
    read,
  };
}
