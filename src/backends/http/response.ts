import { ReaderError, isReaderError, redactSecrets, type ErrorContext } from '../../errors.js';
import { mapHttpError, mapHttpStatus } from './errors.js';
import { readAheadWhile, windowBody } from '../../body.js';
import { parseContentRange, resolveRange } from '../../range.js';
import type { ByteRange, ObjectMeta, ReadResponse, ResolvedRange } from '../../types.js';
import { objectMetaFromHeaders, untotalledSize, type StatResponse } from '../stat.js';

export { resolveHttpUrl } from '../stat.js';

/**
 * Response validation shared by every HTTP-speaking backend: undici's (`http`, `s3`) and WHATWG
 * fetch's (`fetch`). Runtime-neutral: no `node:` import, no `Buffer`, so it loads in a browser.
 */

/**
 * An HTTP response reduced to what validation needs: undici's `request()` result as is, or a fetch
 * `Response` through `fromFetchResponse` (src/backends/fetch/response.ts). Header names are lower case.
 */
export interface HttpResult {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array> & { dump?(opts?: { limit: number }): Promise<void>; text?(): Promise<string> };
}

/** A header's value (the first, if repeated). */
export function header(res: HttpResult, name: string): string | undefined {
  const v = res.headers[name.toLowerCase()];
  return Array.isArray(v) ? v[0] : v;
}

/** Bytes of an error body read to find the server's reason (S3 error XML is a few hundred bytes). */
export const ERROR_BODY_LIMIT = 64 * 1024;

/**
 * Bytes of a 206 without a total read into memory while the stat of its size is under way: 16 MiB,
 * a BufferReader's largest request (its `maxRangeSize` default), so a reader's responses never hold
 * their connections waiting for it. An open-ended stream (`bytes=n-`) stops reading there until the
 * stat answers; with every connection of the pool held so, the stat waits for one to come free.
 */
export const UNTOTALLED_READ_AHEAD_MAX = 16 * 1024 * 1024;

/** Reads at most ERROR_BODY_LIMIT bytes of an error response and releases the connection. */
export async function errorBodyText(res: HttpResult): Promise<string> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const chunk of res.body) {
      chunks.push(chunk);
      total += chunk.byteLength;
      if (total >= ERROR_BODY_LIMIT) break;
    }
  } catch {
    // the reason is optional; the status already says what happened
  }
  const all = new Uint8Array(Math.min(total, ERROR_BODY_LIMIT));
  let at = 0;
  for (const chunk of chunks) {
    if (at >= all.byteLength) break;
    const piece = chunk.subarray(0, all.byteLength - at);
    all.set(piece, at);
    at += piece.byteLength;
  }
  return new TextDecoder().decode(all);
}

/** Releases a response whose body we do not want. */
export async function discard(res: HttpResult): Promise<void> {
  try {
    if (res.body.dump) await res.body.dump({ limit: ERROR_BODY_LIMIT });
    else for await (const _ of res.body) break;
  } catch {
    // the connection is closed instead of reused: nothing is lost
  }
}

/** What gets logged of a URL: no query string (it may carry a signature or token). */
export function redactedUrl(url: URL): string {
  return `${url.origin}${url.pathname}`;
}

/**
 * The values of configured request headers that must never reach a message: a server may echo
 * request headers in an error body. Each value, and each long word of it (the token of `Bearer <token>`).
 */
export function headerSecrets(headers: Record<string, string>): string[] {
  return Object.values(headers).flatMap((v) => [String(v), ...String(v).split(/\s+/).filter((w) => w.length >= 8)]);
}

/** The error for a non-2xx response: its status mapped, with the server's short reason (secrets redacted). */
export async function statusError(res: HttpResult, context: ErrorContext, secrets: readonly string[]): Promise<ReaderError> {
  const text = res.statusCode >= 400 ? redactSecrets((await errorBodyText(res)).trim(), secrets).slice(0, 200) : (await discard(res), '');
  return mapHttpStatus(res.statusCode, context, header(res, 'retry-after'), text || undefined);
}

/** Metadata from response headers (ETag as sent, Last-Modified parsed). */
export function metaFromHeaders(res: HttpResult, size: number): ObjectMeta {
  return objectMetaFromHeaders((name) => header(res, name), size);
}

/** A response as `statOverHttp` takes it; `error` maps a failed one (the backend's own mapping). */
export function statResponse(res: HttpResult, error: (res: HttpResult) => Promise<ReaderError>): StatResponse {
  return {
    status: res.statusCode,
    header: (name) => header(res, name),
    text: () => errorBodyText(res),
    discard: () => discard(res),
    error: () => error(res),
  };
}

function contentLength(res: HttpResult): number | undefined {
  const v = header(res, 'content-length');
  if (v === undefined || !/^\s*\d+\s*$/.test(v)) return undefined;
  return Number(v);
}

export interface InterpretOptions {
  context: ErrorContext;
  signal?: AbortSignal;
  /**
   * A stat of the object when the response does not say its size (a `/*` Content-Range, a bare
   * 416), given the response's ETag (see `statOfVersion`, src/backends/stat.ts).
   */
  statSize: (etag: string | undefined) => Promise<ObjectMeta>;
  /** The `If-Match` the request carried: a 206 to it is of that version, whether or not its ETag is visible (CORS). */
  ifMatch?: string | undefined;
  /** The size a 416's body told (S3's `<ActualObjectSize>`), for the error's context. */
  sizeFrom416?: number;
  /** Turns a non-2xx, non-416 response into an error (consumes its body). */
  mapStatus: (res: HttpResult) => Promise<ReaderError>;
}

function protocolError(message: string, context: ErrorContext, res: HttpResult, code: 'BAD_CONTENT_RANGE' | 'RANGE_IGNORED'): ReaderError {
  return new ReaderError('Unexpected', message, { ...context, status: res.statusCode }, { code, retryable: false });
}

/**
 * Turns the response to a ranged GET into a ReadResponse that yields exactly the requested bytes.
 * - 206: the Content-Range must cover what was asked (a superset is trimmed: catalogue case 7);
 *   anything else is `Unexpected`. Content-Length must agree with it.
 * - 200 (the server ignored Range): the wanted window is cut out of the whole body (case 6); the
 *   connection is dropped once the window is complete. The response says `rangeIgnored`, and its
 *   `wireBytes()` counts the skipped bytes too (what the metrics report as received).
 * - 416: `RangeNotSatisfied`, except an empty object read from 0 or by suffix, which is empty (case 9).
 * The body then checks its own length: short is `Interrupted` (case 1), long is `Unexpected` (case 2).
 */
export async function interpretRangedResponse(res: HttpResult, range: ByteRange, opts: InterpretOptions): Promise<ReadResponse> {
  const { context, signal } = opts;
  const status = res.statusCode;
  const wantsStart = 'suffix' in range || range.offset === 0;

  if (status === 416) {
    const cr = parseContentRange(header(res, 'content-range'));
    await discard(res);
    const size = cr?.size ?? opts.sizeFrom416 ?? (wantsStart ? (await opts.statSize(header(res, 'etag'))).size : undefined);
    if (size === 0 && wantsStart) {
      return { meta: metaFromHeaders(res, 0), range: { offset: 0, length: 0 }, body: emptyBody(), status };
    }
    throw new ReaderError('RangeNotSatisfied', 'range starts at or past the end of the object', {
      ...context,
      status,
      ...(size === undefined ? {} : { size }),
    }, { code: 'RANGE_NOT_SATISFIABLE' });
  }

  if (status === 206) {
    const cr = parseContentRange(header(res, 'content-range'));
    if (!cr || cr.start === undefined || cr.end === undefined) {
      await discard(res);
      throw protocolError(`206 without a valid Content-Range (${JSON.stringify(header(res, 'content-range') ?? null)})`, context, res, 'BAD_CONTENT_RANGE');
    }
    const sent = cr.end - cr.start + 1;
    const cl = contentLength(res);
    if (cl !== undefined && cl !== sent) {
      await discard(res);
      throw protocolError(`Content-Length ${cl} disagrees with Content-Range ${header(res, 'content-range')}`, context, res, 'BAD_CONTENT_RANGE');
    }
    let size: number;
    let want: ResolvedRange;
    let source = res.body;
    try {
      if (cr.size !== undefined) size = cr.size;
      else {
        // No total: a stat tells the size. The body keeps flowing meanwhile (into memory, up to
        // UNTOTALLED_READ_AHEAD_MAX), so this connection comes free for the stat if none other is.
        const etag = header(res, 'etag') ?? opts.ifMatch;
        const meta = opts.statSize(etag);
        source = readAheadWhile(res.body, meta, UNTOTALLED_READ_AHEAD_MAX);
        size = untotalledSize(await versionStat(meta, context), { etag, lastModified: header(res, 'last-modified'), end: cr.end }, context);
      }
      want = resolveRange(range, size, context);
    } catch (err) {
      await discard({ ...res, body: source });
      throw err;
    }
    if (cr.start > want.offset || cr.end + 1 < want.offset + want.length) {
      await discard(res);
      throw protocolError(
        `206 with Content-Range ${header(res, 'content-range')} does not cover the requested bytes ${want.offset}-${want.offset + want.length - 1}`,
        context,
        res,
        'BAD_CONTENT_RANGE',
      );
    }
    let wire = 0;
    const onWire = (n: number): void => void (wire += n);
    const body = windowBody(source, { skip: want.offset - cr.start, take: want.length, expected: sent, context, mapError: mapHttpError, onWire, ...(signal ? { signal } : {}) });
    return { meta: metaFromHeaders(res, size), range: want, body, status, wireBytes: () => wire };
  }

  if (status === 200) {
    const size = contentLength(res);
    if (size === undefined) {
      await discard(res);
      throw protocolError('the server ignored the Range header and sent no Content-Length, so the bytes cannot be located', context, res, 'RANGE_IGNORED');
    }
    let want: ResolvedRange;
    try {
      want = resolveRange(range, size, context);
    } catch (err) {
      await discard(res);
      throw err;
    }
    let wire = 0;
    const onWire = (n: number): void => void (wire += n);
    const body = windowBody(res.body, { skip: want.offset, take: want.length, expected: size, context, mapError: mapHttpError, onWire, ...(signal ? { signal } : {}) });
    // A 200 to a request for all of the object is the right answer, not an ignored Range.
    const ignored = want.offset > 0 || want.length < size;
    return { meta: metaFromHeaders(res, size), range: want, body, status, wireBytes: () => wire, ...(ignored ? { rangeIgnored: true } : {}) };
  }

  throw await opts.mapStatus(res);
}

/**
 * A stat pinned to a GET's version (`If-Match`): refused (412), the object was replaced since that
 * GET: the GET's `ConditionNotMatch`, with its context, rather than the stat's.
 */
async function versionStat(meta: Promise<ObjectMeta>, context: ErrorContext): Promise<ObjectMeta> {
  try {
    return await meta;
  } catch (err) {
    if (!isReaderError(err, 'ConditionNotMatch')) throw err;
    throw new ReaderError('ConditionNotMatch', `the object was replaced since this GET: the stat that sizes it (its Content-Range gave no total) was refused (${err.detail})`, { ...context, status: err.context.status }, { code: 'ETAG_CHANGED', cause: err });
  }
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // an empty object has no bytes
}
