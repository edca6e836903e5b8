import { ReaderError, throwIfAborted, type ErrorContext } from '../../errors.js';
import { rangeHeader, validateRange } from '../../range.js';
import type { Backend, ByteRange, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../../types.js';
import {
  discard,
  header,
  headerSecrets,
  interpretRangedResponse,
  redactedUrl,
  statResponse,
  statusError,
  type HttpResult,
} from '../http/response.js';
import { httpObjectUrl, statHttpObject, statOfVersion } from '../stat.js';
import { corsHiddenError } from './errors.js';
import { sendFetch } from './response.js';

export interface FetchBackendOptions {
  /** Paths are resolved against this URL (`baseUrl + '/' + path`); without it, paths are absolute URLs. */
  baseUrl?: string;
  /** The fetch to use (a wrapped or polyfilled one); default `globalThis.fetch`, looked up per request. */
  fetch?: typeof globalThis.fetch;
  /**
   * Headers sent with every request (e.g. Authorization). In a browser any header beyond the
   * CORS-safelisted ones makes every cross-origin request preflighted.
   */
  headers?: Record<string, string>;
  /** `RequestInit.credentials` (browsers): `'include'` sends cookies cross-origin. Default: fetch's (`same-origin`). */
  credentials?: RequestCredentials;
  /** `RequestInit.mode` (browsers). Default: fetch's (`cors`). `no-cors` cannot work: its responses are opaque. */
  mode?: RequestMode;
  /** Set false for servers that do not understand suffix ranges (`bytes=-N`). Default true. */
  suffix?: boolean;
  /**
   * Set false for servers that refuse HEAD (presigned GET URLs, some CDNs): `stat` then sends
   * `GET bytes=0-0`. Default true; a HEAD answered 403/405/501 falls back by itself, and the origin
   * is remembered.
   */
  head?: boolean;
  /**
   * A cross-origin response without a visible ETag is a `CORS_HEADER_HIDDEN` error instead of
   * metadata without one. Default false: a server may simply send no ETag, and a script cannot tell
   * that from one CORS hides; without an ETag the reader cannot detect an object replaced between
   * its requests (no If-Match), so set this when the server is known to send one.
   */
  requireEtag?: boolean;
  /**
   * Send `If-Match` when a reader asks (default true). In a browser `If-Match` makes a cross-origin
   * request preflighted; with `false` it is never sent (capability `ifMatch: false`) and readers
   * compare each response's ETag with the first one instead: a replaced object is still a
   * `ConditionNotMatch`, found after its bytes arrived rather than by the server.
   */
  ifMatch?: boolean;
}

/**
 * Objects over HTTP(S) through WHATWG `fetch`: browsers, Deno, Bun, Cloudflare Workers and Node.
 * HEAD for stat, GET with one `Range` for reads (bounded, open-ended or suffix), `If-Match` when
 * asked, `AbortSignal` on every request. Responses go through the same validation as the undici
 * and S3 backends (`interpretRangedResponse`: 206 must cover the asked range, 200 is cut to it,
 * 416 is RangeNotSatisfied except for an empty object; short and long bodies are errors).
 *
 * Redirects are followed by fetch itself. In a browser, a cross-origin response whose
 * `Content-Range` is hidden by CORS is a `CORS_HEADER_HIDDEN` error naming
 * `Access-Control-Expose-Headers` (the server must expose Content-Range, ETag, Content-Length).
 * Which requests a browser preflights: see the README's "Browsers" section.
 */
export function fetchBackend(options: FetchBackendOptions = {}): Backend {
  const baseHeaders = options.headers ?? {};
  const secrets = headerSecrets(baseHeaders);

  async function send(method: 'GET' | 'HEAD', path: string, extra: Record<string, string>, context: ErrorContext, signal?: AbortSignal): Promise<{ res: HttpResult; cors: boolean }> {
    const url = httpObjectUrl(path, options.baseUrl, context);
    return sendFetch(
      options.fetch,
      url,
      {
        method,
        headers: { ...baseHeaders, ...extra },
        ...(signal ? { signal } : {}),
        ...(options.credentials ? { credentials: options.credentials } : {}),
        ...(options.mode ? { mode: options.mode } : {}),
      },
      { ...context, url: redactedUrl(url) },
      signal,
    );
  }

  const mapStatus = (res: HttpResult, context: ErrorContext): Promise<ReaderError> => statusError(res, context, secrets);

  /**
   * HEAD (Content-Length is the size; a CORS-safelisted header, so always visible), or `GET bytes=0-0`
   * where HEAD is refused (403/405/501) or `head: false`: the one HEAD-less stat, `statOverHttp`.
   */
  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    return pinnedStat(path, undefined, opts.signal);
  }

  /** `stat`, sent with `If-Match: ifMatch` when given and the server takes it (`ifMatch` option): a stat of that version, or ConditionNotMatch. */
  async function pinnedStat(path: string, ifMatch: string | undefined, signal?: AbortSignal): Promise<ObjectMeta> {
    let cors = false;
    const meta = await statHttpObject({
      backend: 'fetch',
      path,
      ...(options.baseUrl !== undefined ? { baseUrl: options.baseUrl } : {}),
      head: options.head ?? true,
      ...(signal ? { signal } : {}),
      ...(ifMatch === undefined || options.ifMatch === false ? {} : { ifMatch }),
      send: async (method, extra, context) => {
        const sent = await send(method, path, extra, context, signal);
        cors = sent.cors;
        if (cors && sent.res.statusCode === 206 && header(sent.res, 'content-range') === undefined) {
          await discard(sent.res);
          throw corsHiddenError('Content-Range', context, sent.res.statusCode);
        }
        return statResponse(sent.res, (r) => mapStatus(r, context));
      },
    });
    if (cors && options.requireEtag && meta.etag === undefined) throw corsHiddenError('ETag', { backend: 'fetch', op: 'stat', path }, 200);
    return meta;
  }

  const statOf = statOfVersion(pinnedStat);

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    const context: ErrorContext = { backend: 'fetch', op: 'read', path, range };
    throwIfAborted(opts.signal, context);
    validateRange(range, context);
    const extra: Record<string, string> = { range: rangeHeader(range) };
    if (opts.ifMatch !== undefined) extra['if-match'] = opts.ifMatch;
    const { res, cors } = await send('GET', path, extra, context, opts.signal);
    if (cors && res.statusCode === 206 && header(res, 'content-range') === undefined) {
      await discard(res);
      throw corsHiddenError('Content-Range', context, res.statusCode);
    }
    if (cors && options.requireEtag && res.statusCode < 300 && header(res, 'etag') === undefined) {
      await discard(res);
      throw corsHiddenError('ETag', context, res.statusCode);
    }
    return interpretRangedResponse(res, range, {
      context,
      ...(opts.signal ? { signal: opts.signal } : {}),
      statSize: (etag) => statOf(path, etag, opts.signal),
      ifMatch: opts.ifMatch,
      mapStatus: (r) => mapStatus(r, context),
    });
  }

  return {
    kind: 'fetch',
    capabilities: { suffix: options.suffix ?? true, etag: true, ifMatch: options.ifMatch ?? true },
    stat,
    read,
  };
}
