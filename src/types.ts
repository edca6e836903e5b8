/**
 * The one small interface every storage backend implements, and every layer wraps.
 *
 * Offsets and lengths are byte counts. A bounded range covers `[offset, offset + length)` (end
 * exclusive). Backends never send multi-range or inverted ranges (S3 answers those with 200 and the
 * whole body), and they never return bytes other than the ones asked for: a server that does is an
 * error, not something to pass on.
 */

/**
 * A byte range of an object.
 * - `{ offset, length }`: bounded, `length >= 1`. An end past EOF is clamped to EOF.
 * - `{ offset }`: open-ended, from `offset` to EOF.
 * - `{ suffix }`: the last `suffix` bytes (`suffix >= 1`); a suffix larger than the object is the
 *   whole object. No size is needed to ask for it.
 *
 * `offset >= size` is `RangeNotSatisfied`, except that an empty object read from offset 0 (or by
 * suffix) answers with an empty body.
 */
export type ByteRange = { offset: number; length?: number } | { suffix: number };

/** What a backend knows of an object. `etag` is returned as the server sent it (quotes, `W/`). */
export interface ObjectMeta {
  size: number;
  etag?: string;
  lastModified?: Date;
  /**
   * Set by a `stat` that was not one HEAD: the requests it sent, in order — a refused HEAD (403,
   * 405, 501), then `GET bytes=0-0`, or only the GET where HEAD is known not to work. The metrics
   * layer records these instead of a HEAD, so request lists show what the server saw.
   */
  via?: readonly WireRequest[];
}

/** One request as a backend sent it on a caller's behalf. Times are `performance.now()` milliseconds. */
export interface WireRequest {
  method: 'HEAD' | 'GET';
  /** The range asked for (GET). */
  range?: ByteRange;
  status: number;
  /** Body bytes received. */
  bytes: number;
  start: number;
  end: number;
}

/** A resolved, bounded range: `[offset, offset + length)`. */
export interface ResolvedRange {
  offset: number;
  length: number;
}

export interface ReadResponse {
  /** The object's metadata; `size` comes from Content-Range when the server gives it. */
  meta: ObjectMeta;
  /** What was actually returned, after clamping at EOF: the body yields exactly `range.length` bytes. */
  range: ResolvedRange;
  /**
   * The bytes of `range`, in order. Iterate it to the end, or stop early with `break`/`return()`:
   * either releases the connection. A body that ends short or runs long throws a `ReaderError`
   * (`Interrupted`, retryable / `Unexpected`) instead of yielding wrong bytes.
   */
  body: AsyncIterable<Uint8Array>;
  /** The protocol status when there is one (HTTP 200/206); informational. */
  status?: number;
  /**
   * Body bytes read off the connection so far, when that can differ from what `body` yields: a server
   * that ignored Range (200 with the whole object) or sent a superset (206 with a wider Content-Range)
   * sends bytes the body skips. Absent: the same as the bytes `body` yielded.
   */
  wireBytes?: () => number;
  /** The server ignored the Range header and answered 200 with the whole object (catalogue case 6). */
  rangeIgnored?: boolean;
}

export interface StatOptions {
  signal?: AbortSignal;
}

export interface ReadOptions {
  /** Send as a precondition (HTTP `If-Match`); a different current ETag is `ConditionNotMatch`. */
  ifMatch?: string;
  signal?: AbortSignal;
}

export interface BackendCapabilities {
  /** Suffix ranges (`bytes=-N`) are served without knowing the size. */
  suffix: boolean;
  /** Objects carry an ETag. */
  etag: boolean;
  /** `ifMatch` is enforced by the backend. */
  ifMatch: boolean;
  /** Objects can be listed by prefix (`list`/`listPage`). Absent or false: no listing (HTTP). */
  list?: boolean;
}

/** One object of a listing. `path` is what `stat`/`read` take. */
export interface ListEntry {
  path: string;
  size: number;
  etag?: string;
  lastModified?: Date;
}

export interface ListOptions {
  /**
   * Everything under the prefix (default true). False: only objects directly under it, not those in
   * deeper "directories" (S3 `delimiter=/`).
   */
  recursive?: boolean;
  signal?: AbortSignal;
}

export interface ListPageOptions extends ListOptions {
  /** Where the previous page ended (its `cursor`); absent for the first page. */
  cursor?: string;
}

/** One listing request's answer: entries in ascending path order. */
export interface ListPage {
  entries: ListEntry[];
  /** Pass to the next `listPage`; absent on the last page. */
  cursor?: string;
}

export interface Backend {
  /** 'memory' | 'fs' | 'http' | 's3' | ... — layers report the kind of what they wrap. */
  readonly kind: string;
  readonly capabilities: BackendCapabilities;
  /** Size and version of an object (HTTP HEAD). */
  stat(path: string, opts?: StatOptions): Promise<ObjectMeta>;
  /** One ranged request (HTTP GET with `Range`). */
  read(path: string, range: ByteRange, opts?: ReadOptions): Promise<ReadResponse>;
  /**
   * One listing request (S3 ListObjectsV2: at most 1,000 keys): the objects whose path starts with
   * `prefix`, after `cursor`. Present when `capabilities.list` is true. Layers wrap this one, so a
   * page is counted, retried, limited and throttled like a GET.
   */
  listPage?(prefix: string, opts?: ListPageOptions): Promise<ListPage>;
  /** Every object under `prefix`, page after page (`listPage` until no cursor), in ascending path order. */
  list?(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
}
