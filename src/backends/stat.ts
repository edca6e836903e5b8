/**
 * `stat` for HTTP-speaking backends, with or without HEAD. Many servers refuse HEAD although a GET
 * works: an S3 presigned GET URL answers HEAD with 403 (the signature covers the method), some CDNs
 * and signed-URL schemes answer 405 or 501. There a one-byte ranged GET (`Range: bytes=0-0`) tells
 * the same thing: the size from `Content-Range: bytes 0-0/<size>`, the ETag and Last-Modified from
 * its headers. The origin is then remembered, so later stats there go straight to the GET.
 *
 * Generic over the HTTP client: a backend passes functions that send HEAD and the ranged GET and
 * wrap what comes back as a `StatResponse` (undici's `request`, `fetch`, ...). No Node imports.
 */
import { abortError, isReaderError, ReaderError, throwIfAborted, type ErrorContext } from '../errors.js';
import { onAbort } from '../abort.js';
import { parseContentRange } from '../range.js';
import type { ObjectMeta, WireRequest } from '../types.js';
import { isStrongEtag, versionChangedError } from '../version.js';

/**
 * HEAD answers that mean "no HEAD here" rather than "no such object": 403 (a presigned GET URL; also
 * wrong credentials, in which case the GET fails too and says why, with an error body HEAD lacks),
 * 405 Method Not Allowed, 501 Not Implemented.
 */
export const HEAD_REFUSED_STATUSES: ReadonlySet<number> = new Set([403, 405, 501]);

/** The range of a HEAD-less stat: the first byte, the smallest GET whose Content-Range tells the size. */
export const STAT_RANGE = { offset: 0, length: 1 } as const;

/** Its `Range` header. */
export const STAT_RANGE_HEADER = 'bytes=0-0';

/**
 * Origins remembered as refusing HEAD, at most. A process reads from a handful of hosts; the bound
 * only keeps one that reads from very many from growing the set without end (oldest forgotten first).
 */
export const HEAD_REFUSED_MEMORY = 1000;

const refused = new Set<string>();

/** Whether HEAD is known not to work at `origin` (scheme://host:port). */
export function headRefused(origin: string): boolean {
  return refused.has(origin);
}

function rememberHeadRefused(origin: string): void {
  refused.delete(origin);
  refused.add(origin);
  if (refused.size > HEAD_REFUSED_MEMORY) refused.delete(refused.values().next().value as string);
}

/** Forgets every origin remembered as refusing HEAD (after a server's configuration changed; tests). */
export function forgetHeadRefusals(): void {
  refused.clear();
}

/**
 * Stats remembered per backend for responses whose `Content-Range` has no total (`bytes 0-99/*`),
 * at most. Such a server makes every ranged GET ask a stat for the size; a reader's GETs are of one
 * version, so one stat per object and version is enough. Oldest forgotten first.
 */
export const UNTOTALLED_SIZE_MEMORY = 1000;

/** What a `Content-Range` without a total leaves the backend to find: the stat of the object a read got (`etag`: the version it got). */
export type StatOfVersion = (path: string, etag: string | undefined, signal?: AbortSignal) => Promise<ObjectMeta>;

/** A backend's own stat, pinned to `ifMatch` when given (sent as `If-Match`: another version is `ConditionNotMatch`). */
export type PinnedStat = (path: string, ifMatch: string | undefined, signal?: AbortSignal) => Promise<ObjectMeta>;

/**
 * The stat for a response that does not say its object's size, remembered by path and strong ETag
 * (the response's, or the `If-Match` it was sent with) so the GETs of one version cost one stat, not
 * a HEAD each; GETs that ask together wait for one stat (each can still be aborted on its own, and
 * the others then wait for the next). The stat is sent with that ETag as `If-Match`, so a server
 * that honours it on HEAD answers only for that version (412 otherwise: `ConditionNotMatch`), even
 * where the HEAD's own ETag is hidden (CORS); it is remembered only when it found that same ETag.
 * Without a strong ETag nothing ties a response to a stat, so each asks again. Whether the stat is
 * of the version the response was (`untotalledSize`) is checked by each caller.
 */
export function statOfVersion(stat: PinnedStat): StatOfVersion {
  const stats = new Map<string, Promise<ObjectMeta>>();
  const ask = (path: string, etag: string, key: string, signal?: AbortSignal): Promise<ObjectMeta> => {
    const meta = stat(path, etag, signal);
    stats.set(key, meta);
    if (stats.size > UNTOTALLED_SIZE_MEMORY) stats.delete(stats.keys().next().value as string);
    const forget = (): void => void (stats.get(key) === meta && stats.delete(key));
    meta.then((m) => m.etag !== etag && forget(), forget);
    return meta;
  };
  return async (path, etag, signal) => {
    if (!isStrongEtag(etag)) return stat(path, undefined, signal);
    const key = `${etag}\n${path}`;
    for (let asked = stats.get(key); asked !== undefined; ) {
      try {
        return await whileNotAborted(asked, signal);
      } catch (err) {
        // The stat this GET waited on was another GET's, aborted by its caller: wait for the next
        // one another waiter asked for, or ask.
        if (!isReaderError(err, 'Aborted') || signal?.aborted) throw err;
        const next = stats.get(key);
        asked = next === asked ? undefined : next;
      }
    }
    return ask(path, etag, key, signal);
  };
}

/**
 * The size of the object a 206 without a total came from, from a stat: `ConditionNotMatch`
 * (`ETAG_CHANGED`) when the stat is of another version than the response — another ETag (compared
 * weakly: `W/"a"` and `"a"` are one version), another Last-Modified, or a size that ends before
 * the bytes the response holds.
 */
export function untotalledSize(meta: ObjectMeta, response: { etag?: string | undefined; lastModified?: string | undefined; end: number }, context: ErrorContext): number {
  const weak = (e: string): string => (e.startsWith('W/') ? e.slice(2) : e);
  const lastModified = response.lastModified === undefined ? undefined : new Date(response.lastModified).getTime();
  const why =
    response.etag !== undefined && meta.etag !== undefined && weak(response.etag) !== weak(meta.etag)
      ? `the GET got ETag ${response.etag}, the stat found ${meta.etag}`
      : lastModified !== undefined && !Number.isNaN(lastModified) && meta.lastModified !== undefined && meta.lastModified.getTime() !== lastModified
        ? 'the GET and the stat found different Last-Modified dates'
        : meta.size < response.end + 1
          ? `the stat found ${meta.size} bytes, fewer than the GET got (to byte ${response.end})`
          : undefined;
  if (why !== undefined) throw versionChangedError('between a GET and the stat that sized it (its Content-Range gave no total)', why, context);
  return meta.size;
}

/** `promise`, or Aborted as soon as `signal` fires (the promise goes on for whoever else waits on it). */
function whileNotAborted<T>(promise: Promise<T>, signal: AbortSignal | undefined): Promise<T> {
  if (!signal) return promise;
  throwIfAborted(signal);
  return new Promise<T>((resolve, reject) => {
    const stop = onAbort(signal, () => reject(abortError(signal)));
    promise.then(
      (v) => (stop(), resolve(v)),
      (e: unknown) => (stop(), reject(e)),
    );
  });
}

/** Builds the URL for a path: `baseUrl + '/' + path`, or the path itself as an absolute http(s) URL. */
export function resolveHttpUrl(path: string, baseUrl?: string): URL {
  if (baseUrl === undefined) {
    const url = new URL(path);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`not an http(s) URL: ${url.protocol}`);
    return url;
  }
  const base = baseUrl.endsWith('/') ? baseUrl.slice(0, -1) : baseUrl;
  const rel = path.startsWith('/') ? path.slice(1) : path;
  return new URL(`${base}/${rel}`);
}

/** `resolveHttpUrl`, or InvalidInput `INVALID_URL` saying why the path is no http(s) URL. */
export function httpObjectUrl(path: string, baseUrl: string | undefined, context: ErrorContext): URL {
  try {
    return resolveHttpUrl(path, baseUrl);
  } catch (err) {
    throw new ReaderError('InvalidInput', `invalid URL: ${err instanceof Error ? err.message : String(err)}`, context, { code: 'INVALID_URL', cause: err });
  }
}

/** A response, as the stat needs it, from any HTTP client. */
export interface StatResponse {
  status: number;
  /** A response header (any case), or undefined. */
  header(name: string): string | undefined;
  /** The body as text, for an error body's details (consumes the body). */
  text(): Promise<string>;
  /** Releases the response without reading its body. */
  discard(): Promise<void>;
  /** The error this (failed) response means, as the backend maps it (consumes the body). */
  error(): Promise<ReaderError>;
}

export interface StatOverHttp {
  /** Where refused HEADs are remembered: the request's origin. */
  origin: string;
  /** false: never send HEAD (the backend was told `head: false`). */
  head: boolean;
  sendHead(): Promise<StatResponse>;
  /** Sends GET with `Range: bytes=0-0` (STAT_RANGE_HEADER). */
  sendRangedGet(): Promise<StatResponse>;
  /** The object size an error body tells, when its headers do not (S3's `<ActualObjectSize>` in a 416). */
  sizeFromErrorBody?(text: string): number | undefined;
  context: ErrorContext;
}

/** What a plain-URL backend (undici, fetch) gives `statHttpObject`. */
export interface HttpObjectStat {
  /** The backend's kind, for the error context. */
  backend: string;
  path: string;
  baseUrl?: string;
  /** false: never send HEAD. */
  head: boolean;
  signal?: AbortSignal;
  /** Sent as `If-Match` with the stat's requests: a stat of that version or none (`statOfVersion`). */
  ifMatch?: string;
  /** Sends `method` to the path's URL with these extra headers; the response as the stat reads it. */
  send(method: 'HEAD' | 'GET', headers: Record<string, string>, context: ErrorContext): Promise<StatResponse>;
}

/**
 * `stat` of an object at a URL (a path against `baseUrl`): aborted before any request if the
 * signal is, InvalidInput `INVALID_URL` for a path that is no http(s) URL, then `statOverHttp`
 * at the URL's origin (HEAD, or `GET bytes=0-0` where HEAD is refused).
 */
export async function statHttpObject(s: HttpObjectStat): Promise<ObjectMeta> {
  const context: ErrorContext = { backend: s.backend, op: 'stat', path: s.path };
  throwIfAborted(s.signal, context);
  const origin = httpObjectUrl(s.path, s.baseUrl, context).origin;
  const pinned: Record<string, string> = s.ifMatch === undefined ? {} : { 'if-match': s.ifMatch };
  return statOverHttp({
    origin,
    head: s.head,
    sendHead: () => s.send('HEAD', pinned, context),
    sendRangedGet: () => s.send('GET', { ...pinned, range: STAT_RANGE_HEADER }, context),
    context,
  });
}

/** ObjectMeta from response headers: the ETag as sent, Last-Modified parsed (an unparsable one is left out). */
export function objectMetaFromHeaders(header: (name: string) => string | undefined, size: number): ObjectMeta {
  const meta: ObjectMeta = { size };
  const etag = header('etag');
  if (etag) meta.etag = etag;
  const lm = header('last-modified');
  if (lm) {
    const d = new Date(lm);
    if (!Number.isNaN(d.getTime())) meta.lastModified = d;
  }
  return meta;
}

function contentLength(res: StatResponse): number | undefined {
  const v = res.header('content-length');
  return v !== undefined && /^\s*\d+\s*$/.test(v) ? Number(v) : undefined;
}

function protocolError(message: string, code: 'BAD_CONTENT_RANGE' | 'RANGE_IGNORED' | 'BAD_STATUS' | 'SIZE_UNKNOWN', context: ErrorContext, status: number): ReaderError {
  return new ReaderError('Unexpected', message, { ...context, status }, { code, retryable: false });
}

/**
 * Size and version of an object: HEAD, unless the backend was told `head: false` or HEAD is known
 * to be refused at the origin; a HEAD refused with 403/405/501 falls back to `GET bytes=0-0` and
 * the origin is remembered once that GET has worked. The result's `via` lists the requests when
 * they were not one HEAD. Other HEAD failures (404, 5xx) are the backend's errors, as are the GET's.
 */
export async function statOverHttp(opts: StatOverHttp): Promise<ObjectMeta> {
  const via: WireRequest[] = [];
  if (opts.head && !headRefused(opts.origin)) {
    const start = performance.now();
    const res = await opts.sendHead();
    if (!HEAD_REFUSED_STATUSES.has(res.status)) {
      if (res.status !== 200 && res.status !== 204) throw await res.error();
      await res.discard();
      const size = contentLength(res);
      if (size === undefined) throw protocolError('HEAD response has no Content-Length, so the size is unknown', 'SIZE_UNKNOWN', opts.context, res.status);
      return objectMetaFromHeaders((n) => res.header(n), size);
    }
    await res.discard();
    via.push({ method: 'HEAD', status: res.status, bytes: 0, start, end: performance.now() });
  }
  const meta = await statByRangedGet(opts, via);
  if (via.length > 0) rememberHeadRefused(opts.origin); // HEAD was refused, and the GET worked
  return meta;
}

/** The HEAD-less half: `GET bytes=0-0`, read as 206 (Content-Range), 200 (Range ignored: Content-Length) or 416 (empty). */
async function statByRangedGet(opts: StatOverHttp, via: WireRequest[]): Promise<ObjectMeta> {
  const { context } = opts;
  const start = performance.now();
  const res = await opts.sendRangedGet();
  const record = (bytes: number): readonly WireRequest[] => [...via, { method: 'GET', range: STAT_RANGE, status: res.status, bytes, start, end: performance.now() }];
  let size: number | undefined;
  let bytes = 0;
  if (res.status === 206) {
    await res.discard();
    const cr = parseContentRange(res.header('content-range'));
    if (cr?.start !== 0 || cr.size === undefined) {
      throw protocolError(`a ${STAT_RANGE_HEADER} request was answered with Content-Range ${JSON.stringify(res.header('content-range') ?? null)}, which does not tell the size`, 'BAD_CONTENT_RANGE', context, res.status);
    }
    size = cr.size;
    bytes = 1;
  } else if (res.status === 200) {
    // The server ignored Range: the whole body is coming, and its length is the size.
    await res.discard();
    size = contentLength(res);
    if (size === undefined) throw protocolError('the server ignored the Range header and sent no Content-Length, so the size is unknown', 'RANGE_IGNORED', context, res.status);
  } else if (res.status === 416) {
    // `bytes=0-0` is unsatisfiable only for an empty object (RFC 9110 §14.1.2). S3 sends no
    // Content-Range with it, but its error body names the size; plain servers send `bytes */0`.
    const fromHeader = parseContentRange(res.header('content-range'))?.size;
    const readBody = fromHeader === undefined && opts.sizeFromErrorBody !== undefined;
    const fromBody = readBody ? opts.sizeFromErrorBody?.(await res.text()) : (await res.discard(), undefined);
    size = fromHeader ?? fromBody ?? 0;
    if (size !== 0) throw protocolError(`${STAT_RANGE_HEADER} was answered 416 for an object of ${size} bytes`, 'BAD_STATUS', context, res.status);
  } else {
    throw await res.error();
  }
  return { ...objectMetaFromHeaders((n) => res.header(n), size), via: record(bytes) };
}
