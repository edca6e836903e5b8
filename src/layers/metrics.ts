import { observeBody } from '../body.js';
import { ReaderError, describeRange, redactUrl } from '../errors.js';
import { listMembers } from '../list.js';
import type { Backend, ByteRange, ListPage, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions, WireRequest } from '../types.js';

/** One request as a server would see it. Times are `performance.now()` milliseconds. */
export interface RequestRecord {
  /**
   * `HEAD` for every `stat`, `GET` for every `read`, `LIST` for every listing page (`listPage`); a
   * stat that went without HEAD shows its `GET bytes=0-0` (after the refused HEAD, if one was sent).
   */
  op: 'GET' | 'HEAD' | 'LIST';
  /** The path (the prefix, for a LIST); for an absolute URL, with query values and user info redacted (a presigned URL's signature). */
  path: string;
  /** The range asked for (GET only). */
  range?: ByteRange;
  /** `Range` header form of `range`, for logs and assertions (`bytes=0-99`, `bytes=-8`, `bytes=5-`). */
  rangeHeader?: string;
  /** HTTP-like status: 200/206 for success where known, 'ok' otherwise, or the error kind. */
  status: number | 'ok' | ReaderError['kind'];
  /** Objects a LIST page returned. */
  entries?: number;
  /**
   * Bytes received: body bytes read off the connection. Usually what the caller consumed; more when
   * the server sent bytes outside the range (ignored Range, a wider 206) that were skipped.
   */
  bytes: number;
  /** Body bytes handed to the caller (within the range asked for). */
  delivered: number;
  /** The server ignored the Range header and sent the whole object (200). */
  rangeIgnored?: true;
  /** Bytes the request could return: `length` for bounded, `suffix` for suffix, the returned length for open-ended. */
  bytesRequested: number;
  start: number;
  /** When the response headers arrived (time to first byte). */
  firstByte?: number;
  /** When the body was finished with (consumed, failed or abandoned); until then, the headers' time. */
  end: number;
  /** Body still open. */
  open: boolean;
}

export interface MetricsSnapshot {
  gets: number;
  heads: number;
  /** Listing pages (S3 ListObjectsV2 requests). */
  lists: number;
  bytesRequested: number;
  /** Body bytes that crossed the wire (see `RequestRecord.bytes`). */
  bytesReceived: number;
  /** Body bytes handed to the caller: `bytesReceived` minus what was skipped. */
  bytesDelivered: number;
  /** GETs the server answered with the whole object, ignoring Range. */
  rangesIgnored: number;
  /** Waves of requests: a request that starts after every earlier one has ended begins a new round trip. */
  roundTrips: number;
  requests: RequestRecord[];
}

export interface Metrics {
  snapshot(): MetricsSnapshot;
  reset(): void;
}

export type MeteredBackend<B extends Backend = Backend> = B & { readonly metrics: Metrics };

/** Counts round trips: sorted by start, a request starting at or after the latest end so far begins a new wave. */
export function countRoundTrips(requests: readonly Pick<RequestRecord, 'start' | 'end'>[]): number {
  const sorted = [...requests].sort((a, b) => a.start - b.start);
  let trips = 0;
  let latestEnd = -Infinity;
  for (const r of sorted) {
    if (r.start >= latestEnd) trips++;
    latestEnd = Math.max(latestEnd, r.end);
  }
  return trips;
}

function errorStatus(err: unknown): RequestRecord['status'] {
  if (err instanceof ReaderError) return typeof err.context.status === 'number' ? err.context.status : err.kind;
  return 'Unexpected';
}

/**
 * Records every request with its range, status, bytes and timing. A `read` counts as one GET when it
 * is issued; its bytes and end time are updated as the caller consumes the body. A `stat` is one
 * HEAD, unless the backend says it sent other requests (`ObjectMeta.via`: a HEAD refused with 403,
 * then `GET bytes=0-0`): then those are recorded, with their own times. A listing page (`listPage`,
 * so each page of `list`) is one LIST.
 */
export function withMetrics<B extends Backend>(inner: B): MeteredBackend<Backend> {
  let records: RequestRecord[] = [];
  const now = () => performance.now();

  const metrics: Metrics = {
    snapshot() {
      const requests = records.map((r) => ({ ...r }));
      let gets = 0;
      let heads = 0;
      let lists = 0;
      let bytesRequested = 0;
      let bytesReceived = 0;
      let bytesDelivered = 0;
      let rangesIgnored = 0;
      for (const r of requests) {
        if (r.op === 'GET') gets++;
        else if (r.op === 'HEAD') heads++;
        else lists++;
        bytesRequested += r.bytesRequested;
        bytesReceived += r.bytes;
        bytesDelivered += r.delivered;
        if (r.rangeIgnored) rangesIgnored++;
      }
      return { gets, heads, lists, bytesRequested, bytesReceived, bytesDelivered, rangesIgnored, roundTrips: countRoundTrips(requests), requests };
    },
    reset() {
      records = [];
    },
  };

  /** A request without a body to watch (HEAD, LIST): recorded from its start to its answer. */
  async function recorded<T>(op: 'HEAD' | 'LIST', path: string, send: () => Promise<T>, done?: (rec: RequestRecord, value: T) => void): Promise<T> {
    const rec: RequestRecord = { op, path: redactUrl(path), status: 'ok', bytes: 0, delivered: 0, bytesRequested: 0, start: now(), end: 0, open: true };
    records.push(rec);
    try {
      const value = await send();
      rec.status = 200;
      done?.(rec, value);
      return value;
    } catch (err) {
      rec.status = errorStatus(err);
      throw err;
    } finally {
      rec.end = rec.firstByte = now();
      rec.open = false;
    }
  }

  /** A stat that was not one HEAD (`meta.via`: a refused HEAD, `GET bytes=0-0`) is recorded as the requests it sent. */
  function replaceRecord(rec: RequestRecord, by: RequestRecord[]): void {
    const at = records.indexOf(rec);
    if (at >= 0) records.splice(at, 1, ...by);
  }

  const stat = (path: string, opts?: StatOptions): Promise<ObjectMeta> =>
    recorded('HEAD', path, () => inner.stat(path, opts), (rec, meta) => {
      if (meta.via?.length) replaceRecord(rec, meta.via.map((w) => wireRecord(rec.path, w)));
    });

  async function read(path: string, range: ByteRange, opts?: ReadOptions): Promise<ReadResponse> {
    const rec: RequestRecord = {
      op: 'GET',
      path: redactUrl(path),
      range,
      rangeHeader: describeRange(range),
      status: 'ok',
      bytes: 0,
      delivered: 0,
      bytesRequested: 'suffix' in range ? range.suffix : (range.length ?? 0),
      start: now(),
      end: 0,
      open: true,
    };
    records.push(rec);
    let res: ReadResponse;
    try {
      res = await inner.read(path, range, opts);
    } catch (err) {
      rec.status = errorStatus(err);
      rec.end = rec.firstByte = now();
      rec.open = false;
      throw err;
    }
    rec.firstByte = rec.end = now();
    rec.status = res.status ?? 'ok';
    if (res.rangeIgnored) rec.rangeIgnored = true;
    const wire = res.wireBytes;
    if (!('suffix' in range) && range.length === undefined) rec.bytesRequested = res.range.length;
    const finish = () => {
      if (!rec.open) return;
      if (wire) rec.bytes = wire();
      rec.end = now();
      rec.open = false;
    };
    // Watched without a generator's deferred cleanup in the timing: `close` runs when the body ends or is given up.
    const body = observeBody(res.body, {
      chunk(n) {
        rec.delivered += n;
        rec.bytes = wire ? wire() : rec.delivered;
        rec.end = now();
      },
      close(how, err) {
        if (how === 'error') rec.status = errorStatus(err);
        finish();
      },
    });
    return { ...res, body };
  }

  const list = listMembers(inner, (page) => (prefix: string, opts?: ListPageOptions): Promise<ListPage> =>
    recorded('LIST', prefix, () => page(prefix, opts), (rec, result) => {
      rec.entries = result.entries.length;
    }),
  );

  return { kind: inner.kind, capabilities: inner.capabilities, stat, read, ...list, metrics };
}

function wireRecord(path: string, w: WireRequest): RequestRecord {
  const length = w.range && !('suffix' in w.range) ? (w.range.length ?? 0) : 0;
  return {
    op: w.method,
    path,
    ...(w.range ? { range: w.range, rangeHeader: describeRange(w.range) } : {}),
    status: w.status,
    bytes: w.bytes,
    delivered: w.bytes,
    bytesRequested: length,
    start: w.start,
    firstByte: w.end,
    end: w.end,
    open: false,
  };
}
