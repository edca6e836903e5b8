import type { Dispatcher } from 'undici';
import { ReaderError, throwIfAborted, type ErrorContext } from '../../errors.js';
import { rangeHeader, validateRange } from '../../range.js';
import { collectBody } from '../../body.js';
import { listFromPages } from '../../list.js';
import type { Backend, ByteRange, ListEntry, ListOptions, ListPage, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../../types.js';
import { runtime } from '../../runtime.js';
import { fetchTransport } from '../fetch/response.js';
import { discard, errorBodyText, header, interpretRangedResponse, statResponse, type HttpResult } from '../http/response.js';
import { STAT_RANGE_HEADER, statOfVersion, statOverHttp } from '../stat.js';
import { createCredentialSource, type ChainLoader, type CredentialSource, type S3CredentialsInput } from './credentials.js';
import { mapS3Error, mapS3TransportError, parseS3ErrorXml } from './errors.js';
import { listQuery, parseListPage } from './list.js';
import { PRESIGN_MAX_EXPIRES_SECONDS, encodeQuery, presignS3Request, signS3Request, type S3Credentials } from './signer.js';
import { bucketTarget, objectTarget, resolveS3Location, type S3Location, type S3Target } from './url.js';

export interface S3BackendOptions {
  bucket: string;
  /** Signing region; default `AWS_REGION`, then `AWS_DEFAULT_REGION`, then `S3_DEFAULT_REGION`. */
  region?: string;
  /**
   * `http(s)://host[:port][/prefix]` of an S3-compatible server; default `AWS_ENDPOINT_URL_S3`,
   * then `AWS_ENDPOINT_URL`, then AWS (`https://s3.<region>.amazonaws.com`).
   */
  endpoint?: string;
  /**
   * `/bucket/key` on the endpoint's host instead of `bucket.host/key`. Default: path style for a
   * custom endpoint, virtual-hosted on AWS when the bucket name allows it.
   */
  forcePathStyle?: boolean;
  /**
   * Keys, or a function returning them (called again when they near `expiration`). Default: the AWS
   * credential chain (environment, shared config/profile, SSO, web identity, container, instance
   * metadata), loaded on first use only.
   */
  credentials?: S3CredentialsInput;
  /** Session token for explicit temporary credentials (when `credentials` has none). */
  sessionToken?: string;
  /** Send unsigned requests (public buckets). */
  anonymous?: boolean;
  /** undici dispatcher (Node); defaults to the shared keep-alive pool (`sharedDispatcher()`). Elsewhere requests go through fetch. */
  dispatcher?: Dispatcher;
  /** Environment to read `AWS_*` settings from; defaults to `process.env`. */
  env?: Record<string, string | undefined>;
  /** Replaces the default credential chain loader (tests). */
  loadCredentialChain?: ChainLoader;
  /**
   * Set false where HEAD is refused (a policy that allows GetObject through a proxy that drops
   * HEAD, say): `stat` then sends `GET bytes=0-0`. Default true; a HEAD answered 403/405/501 falls
   * back by itself, and the endpoint is remembered.
   */
  head?: boolean;
}

export interface PresignOptions {
  /** How long the URL works, in seconds: an integer from 1 to PRESIGN_MAX_EXPIRES_SECONDS (7 days). */
  expiresInSeconds: number;
  /** The method the URL is good for (the signature covers it). Default GET. */
  method?: 'GET' | 'HEAD' | 'PUT';
  /** The signing time; default now (the URL works from then for `expiresInSeconds`). */
  date?: Date;
}

/** An S3 backend, with the addressing it resolved (for logs and tests). */
export interface S3Backend extends Backend {
  readonly kind: 's3';
  readonly bucket: string;
  readonly region: string;
  /** The endpoint requests go to (origin and optional prefix). */
  readonly endpoint: string;
  readonly pathStyle: boolean;
  /** Where the credentials come from, in words (`explicit credentials`, `anonymous (unsigned requests)`, ...). */
  readonly credentialSource: string;
  /**
   * A URL that reads (or, with `method`, HEADs or PUTs) one object without credentials: SigV4
   * query signing, as the AWS SDK's presigner does. Hand it to a browser, to another decoder, or to
   * `openParquet(url)` over plain HTTP. Only `host` is signed, so `Range` and `If-Match` may be
   * added. It stops working after `expiresInSeconds`, or earlier when the temporary credentials that
   * signed it expire. An anonymous backend returns the plain (unsigned) URL. The URL carries a
   * signature: treat it as a secret (this library's messages and logs redact its query).
   */
  presign(key: string, options: PresignOptions): Promise<string>;
  listPage(prefix: string, opts?: ListPageOptions): Promise<ListPage>;
  list(prefix: string, opts?: ListOptions): AsyncIterable<ListEntry>;
}

/** Where an S3 backend's requests go and who signs them. */
export interface S3Resolution {
  loc: S3Location;
  creds: CredentialSource;
}

/**
 * The addressing (bucket, region, endpoint, path style, from the options, then the `AWS_*`
 * environment, then AWS's defaults) and the credential source that `s3Backend(options)` uses: for
 * code that must sign its own requests exactly as the backend does (the benchmark's peers).
 */
export function resolveS3Backend(options: S3BackendOptions): S3Resolution {
  if (options === null || typeof options !== 'object') throw new ReaderError('InvalidInput', 's3Backend needs options with a bucket', { backend: 's3' }, { code: 'INVALID_ARGUMENT' });
  const loc = resolveS3Location(
    {
      bucket: options.bucket,
      ...(options.region !== undefined ? { region: options.region } : {}),
      ...(options.endpoint !== undefined ? { endpoint: options.endpoint } : {}),
      ...(options.forcePathStyle !== undefined ? { forcePathStyle: options.forcePathStyle } : {}),
      ...(options.env ? { env: options.env } : {}),
    },
    { backend: 's3' },
  );
  const creds = createCredentialSource({
    ...(options.credentials !== undefined ? { credentials: options.credentials } : {}),
    ...(options.sessionToken !== undefined ? { sessionToken: options.sessionToken } : {}),
    ...(options.anonymous !== undefined ? { anonymous: options.anonymous } : {}),
    ...(options.loadCredentialChain ? { loadChain: options.loadCredentialChain } : {}),
  });
  return { loc, creds };
}

/**
 * Objects in an S3 bucket (AWS or any S3-compatible server): HEAD for stat, GET with one `Range`
 * (bounded, open-ended or suffix) for reads, `If-Match` when asked, every request signed with SigV4
 * unless `anonymous`. Paths are object keys, taken literally: `a//b`, a leading `/`, spaces, `+`,
 * `%` and non-ASCII all name the key as written. Responses go through the same validation as the
 * HTTP backend (`interpretRangedResponse`): 206 must match the asked range, 200 is cut to it, 416 is
 * RangeNotSatisfied except for an empty object.
 */
export function s3Backend(options: S3BackendOptions): S3Backend {
  const { loc, creds } = resolveS3Backend(options);
  // undici's keep-alive pool on Node (the shared one unless `dispatcher` is given), fetch elsewhere.
  const transport = runtime.s3Transport ? runtime.s3Transport(options.dispatcher) : fetchTransport();

  function baseContext(op: string, path: string, range?: ByteRange): ErrorContext {
    return { backend: 's3', op, path, bucket: loc.bucket, ...(range ? { range } : {}) };
  }

  async function send(method: 'GET' | 'HEAD', key: string | S3Target, extra: Record<string, string>, context: ErrorContext, signal?: AbortSignal, query?: Record<string, string>) {
    const target = typeof key === 'string' ? objectTarget(loc, key, context) : key;
    const credentials = await creds.get(context);
    throwIfAborted(signal, context);
    const headers = credentials
      ? await signS3Request({ method, protocol: loc.endpoint.protocol, host: target.host, path: target.path, headers: extra, ...(query ? { query } : {}) }, credentials, loc.region)
      : extra;
    let res: HttpResult;
    try {
      res = await transport({ origin: target.origin, path: `${target.path}${encodeQuery(query)}`, method, headers, ...(signal ? { signal } : {}) });
    } catch (err) {
      throw mapS3TransportError(err, { ...context, url: `${target.origin}${target.path}` }, signal);
    }
    return { res, credentials };
  }

  async function failure(res: HttpResult, method: 'GET' | 'HEAD', context: ErrorContext, credentials: S3Credentials | undefined): Promise<ReaderError> {
    const body = method === 'HEAD' ? (await discard(res), undefined) : await errorBodyText(res);
    const retryAfter = header(res, 'retry-after');
    const bucketRegion = header(res, 'x-amz-bucket-region');
    const err = mapS3Error(
      { status: res.statusCode, ...(body !== undefined ? { body } : {}), ...(retryAfter ? { retryAfter } : {}), ...(bucketRegion ? { bucketRegion } : {}) },
      context,
      { credentials: creds.describe(), region: loc.region, refreshable: creds.refreshable, secrets: [credentials?.secretAccessKey, credentials?.sessionToken] },
    );
    if (err.context.code === 'ExpiredToken' || err.context.code === 'InvalidToken') creds.invalidate();
    return err;
  }

  /** HEAD, or `GET bytes=0-0` where HEAD is refused (403/405/501) or `head: false`: see `statOverHttp`. */
  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    return pinnedStat(path, undefined, opts.signal);
  }

  /** `stat`, sent with `If-Match: ifMatch` when given (S3 answers 412 for another version: ConditionNotMatch). */
  async function pinnedStat(path: string, ifMatch: string | undefined, signal?: AbortSignal): Promise<ObjectMeta> {
    const context = baseContext('stat', path);
    throwIfAborted(signal, context);
    const pinned: Record<string, string> = ifMatch === undefined ? {} : { 'if-match': ifMatch };
    const answer = async (method: 'HEAD' | 'GET', extra: Record<string, string>) => {
      const { res, credentials } = await send(method, path, { ...pinned, ...extra }, context, signal);
      return statResponse(res, (r) => failure(r, method, context, credentials));
    };
    return statOverHttp({
      origin: objectTarget(loc, path, context).origin,
      head: options.head ?? true,
      sendHead: () => answer('HEAD', {}),
      sendRangedGet: () => answer('GET', { range: STAT_RANGE_HEADER }),
      sizeFromErrorBody: (text) => parseS3ErrorXml(text).actualObjectSize,
      context,
    });
  }

  const statOf = statOfVersion(pinnedStat);

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    const context = baseContext('read', path, range);
    throwIfAborted(opts.signal, context);
    validateRange(range, context);
    const extra: Record<string, string> = { range: rangeHeader(range) };
    if (opts.ifMatch !== undefined) extra['if-match'] = opts.ifMatch;
    const sent = await send('GET', path, extra, context, opts.signal);
    const { credentials } = sent;
    let res = sent.res;
    let knownSize: number | undefined;
    if (res.statusCode === 416) {
      // S3 sends no Content-Range with a 416, but its InvalidRange body tells the object's size:
      // an empty object read from 0 then costs this one GET instead of GET + HEAD.
      knownSize = parseS3ErrorXml(await errorBodyText(res)).actualObjectSize;
      res = { ...res, body: emptyBody() };
    }
    return interpretRangedResponse(res, range, {
      context,
      ...(opts.signal ? { signal: opts.signal } : {}),
      statSize: async (etag) => (knownSize === undefined ? statOf(path, etag, opts.signal) : { size: knownSize }),
      ifMatch: opts.ifMatch,
      ...(knownSize === undefined ? {} : { sizeFrom416: knownSize }),
      mapStatus: (r) => failure(r, 'GET', context, credentials),
    });
  }

  async function presign(key: string, opts: PresignOptions): Promise<string> {
    const context = baseContext('presign', key);
    const expires = opts?.expiresInSeconds;
    if (!Number.isSafeInteger(expires) || expires < 1 || expires > PRESIGN_MAX_EXPIRES_SECONDS) {
      throw new ReaderError('InvalidInput', `expiresInSeconds must be an integer from 1 to ${PRESIGN_MAX_EXPIRES_SECONDS} (7 days, SigV4's limit)`, context, { code: 'INVALID_ARGUMENT' });
    }
    const method = opts.method ?? 'GET';
    if (method !== 'GET' && method !== 'HEAD' && method !== 'PUT') {
      throw new ReaderError('InvalidInput', `presign method must be GET, HEAD or PUT, got ${JSON.stringify(method)}`, context, { code: 'INVALID_ARGUMENT' });
    }
    const target = objectTarget(loc, key, context);
    const credentials = await creds.get(context);
    if (!credentials) return `${target.origin}${target.path}`;
    const query = await presignS3Request({ method, protocol: loc.endpoint.protocol, host: target.host, path: target.path }, credentials, loc.region, expires, opts.date);
    return `${target.origin}${target.path}${encodeQuery(query)}`;
  }

  /** One ListObjectsV2 request (signed like every request; its errors mapped by `failure`). */
  async function listPage(prefix: string, opts: ListPageOptions = {}): Promise<ListPage> {
    const context = baseContext('list', prefix);
    throwIfAborted(opts.signal, context);
    if (typeof prefix !== 'string') throw new ReaderError('InvalidInput', 'list prefix must be a string', context, { code: 'INVALID_ARGUMENT' });
    const { res, credentials } = await send('GET', bucketTarget(loc), {}, context, opts.signal, listQuery(prefix, opts));
    if (res.statusCode !== 200) throw await failure(res, 'GET', context, credentials);
    let xml: Uint8Array;
    try {
      xml = await collectBody(res.body);
    } catch (err) {
      throw mapS3TransportError(err, context, opts.signal); // a reset mid-page: retryable, the page is asked again
    }
    return parseListPage(new TextDecoder().decode(xml), context);
  }

  return {
    kind: 's3',
    capabilities: { suffix: true, etag: true, ifMatch: true, list: true },
    listPage,
    list: (prefix, opts) => listFromPages(listPage, prefix, opts),
    bucket: loc.bucket,
    region: loc.region,
    endpoint: `${loc.endpoint.origin}${loc.endpoint.pathname.replace(/\/+$/, '')}`,
    pathStyle: loc.pathStyle,
    get credentialSource() {
      return creds.describe();
    },
    stat,
    read,
    presign,
  };
}

async function* emptyBody(): AsyncGenerator<Uint8Array> {
  // the 416 body was read for its size; nothing is left
}
