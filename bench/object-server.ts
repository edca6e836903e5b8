/**
 * An embedded S3-style object server over real HTTP, for tests, the demo and the benchmark.
 *
 * GET and HEAD with single bounded, open-ended and suffix ranges (`bytes=a-b`, `bytes=a-`, `bytes=-n`),
 * `Content-Range`, `ETag` (quoted MD5), `If-Match` (412) and `If-None-Match` (304). Like S3, it ignores
 * multi-range and inverted ranges (200 with the whole body) and answers a start at or past the end
 * with 416. Optional time to first byte and per-connection bandwidth model remote storage, and every
 * request is logged on the server side, independently of the client's own counting.
 *
 * With `upstream` it is instead a latency-modelling proxy in front of a real server (moto): each
 * GET/HEAD is forwarded with its headers as sent (Host included, so a SigV4 signature made for this
 * address still checks out upstream), the answer is held until the modelled first byte, then its
 * body is paced and logged exactly as the server's own objects are.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';

/** Sockets to the upstream in proxy mode: as many as a reader's widest wave (64 parallel GETs). */
const UPSTREAM_CONNECTIONS = 64;

/** Deliberate protocol faults, for testing how clients cope (the fault proxy of later issues goes further). */
export type ServerFault =
  | 'ignore-range' // answer every ranged GET with 200 and the whole body
  | 'short-body' // announce the full Content-Length, send half, then end the connection
  | 'wrong-content-range' // answer 206 with bytes shifted by one
  | 'long-body' // a chunked 206 (no Content-Length) whose body runs one byte past its Content-Range
  | 'no-total'; // a 206 whose Content-Range gives no total (`bytes 0-99/*`), as servers of generated content do

export interface ObjectServerOptions {
  /** Delay before the response headers, in ms. */
  ttfbMs?: number;
  /** Body bandwidth per response, in bytes per second. */
  bytesPerSecond?: number;
  /** Serve suffix ranges (default true); when false `bytes=-n` is ignored like a bad range. */
  suffix?: boolean;
  /** `http://host:port` of a server to forward every request to (the objects map is then unused). */
  upstream?: string;
  /** Answer cross-origin requests from browsers (CORS); off by default, like a bucket without a CORS configuration. */
  cors?: CorsOptions;
  /**
   * Send ETags (default true). false plays a server that only knows modification times (a plain
   * static file server): no ETag header, so versions are told apart by size and Last-Modified alone.
   */
  etags?: boolean;
}

/** A bucket's CORS configuration, as S3 has it (AllowedOrigins, AllowedHeaders, ExposeHeaders, MaxAgeSeconds). */
export interface CorsOptions {
  /** `Access-Control-Allow-Origin`; default `*`. */
  allowOrigin?: string;
  /** Request headers a preflight allows; default `range, if-match, if-none-match, authorization`. */
  allowHeaders?: string[];
  /** Response headers scripts may see besides the safelisted ones; default `Content-Range, ETag, Content-Length`. */
  exposeHeaders?: string[];
  /** How long a browser may cache a preflight (`Access-Control-Max-Age`); default 0: every preflight is sent. */
  maxAgeSeconds?: number;
}

/** Headers that belong to one connection, not to the message: never forwarded either way. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

export interface ServerRequestLog {
  method: string;
  path: string;
  range?: string;
  ifMatch?: string;
  /** A preflight's `Access-Control-Request-Headers` (the headers the browser asks to send). */
  preflightHeaders?: string;
  status: number;
  bytes: number;
  start: number;
  end: number;
}

interface StoredObject {
  data: Uint8Array;
  etag: string;
  lastModified: Date;
}

/** Pieces a paced body is written in: small enough that pacing is smooth. */
const PACE_PIECE = 16 * 1024;

export interface ParsedRange {
  start: number;
  end: number; // inclusive
}

/** Parses one Range header against a size, the way S3 does. `undefined`: ignore (200); `'unsatisfiable'`: 416. */
export function parseRangeHeader(value: string | undefined, size: number, suffix = true): ParsedRange | 'unsatisfiable' | undefined {
  if (!value) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(value.trim());
  if (!m) return undefined; // multi-range, other units, garbage: ignored
  const [, a, b] = m;
  if (a === '' && b === '') return undefined;
  if (a === '') {
    if (!suffix) return undefined;
    const n = Number(b);
    if (n === 0) return 'unsatisfiable';
    if (size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - n), end: size - 1 };
  }
  const start = Number(a);
  const end = b === '' ? size - 1 : Number(b);
  if (b !== '' && end < start) return undefined; // inverted: ignored
  if (start >= size) return 'unsatisfiable';
  return { start, end: Math.min(end, size - 1) };
}

export class ObjectServer {
  readonly requests: ServerRequestLog[] = [];
  fault: ServerFault | undefined;
  private readonly objects = new Map<string, StoredObject>();
  private server: Server | undefined;
  private base = '';
  private readonly upstreamPool = new Agent({ connections: UPSTREAM_CONNECTIONS });
  private hold: { done: Promise<void>; arrived: () => void } | undefined;

  constructor(readonly options: ObjectServerOptions = {}) {}

  /** Base URL, e.g. `http://127.0.0.1:40123`; objects live at `${url}/${key}`. */
  get url(): string {
    return this.base;
  }

  /** Stores an object; `lastModified` (default now) is sent at HTTP-date precision: whole seconds. */
  put(key: string, data: Uint8Array | string, lastModified = new Date()): string {
    const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
    const etag = `"${createHash('md5').update(bytes).digest('hex')}"`;
    this.objects.set(key.replace(/^\/+/, ''), { data: bytes, etag, lastModified });
    return etag;
  }

  delete(key: string): void {
    this.objects.delete(key.replace(/^\/+/, ''));
  }

  resetLog(): void {
    this.requests.length = 0;
  }

  /**
   * Holds every answer (before its headers) until `count` requests have arrived since this call, or
   * `maxMs` have passed; then answers go out as usual. Tests use it to tell "the client sent these
   * requests without waiting for an answer" from the machine's load: a client that waits for one
   * answer before sending the next sends one, waits `maxMs`, and the log shows it.
   */
  holdUntil(count: number, maxMs: number): void {
    let arrived = 0; // counted here, not from the log: resetLog() during a hold changes nothing
    let release: () => void = () => undefined;
    const released = new Promise<void>((r) => (release = r));
    const timer = setTimeout(release, maxMs);
    timer.unref();
    const hold = {
      done: released,
      arrived: () => {
        if (++arrived < count) return;
        clearTimeout(timer);
        release();
      },
    };
    this.hold = hold;
    void released.then(() => {
      if (this.hold === hold) this.hold = undefined; // a newer hold stays
    });
  }

  async start(port = 0): Promise<this> {
    const server = createServer((req, res) => {
      this.handle(req, res).catch(() => res.destroy());
    });
    server.keepAliveTimeout = 30_000;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => resolve());
    });
    this.server = server;
    this.base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    await this.upstreamPool.close().catch(() => undefined);
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const key = decodeURIComponent(url.pathname).replace(/^\/+/, '');
    const rangeHeader = req.headers.range;
    const ifMatch = req.headers['if-match'];
    const log: ServerRequestLog = {
      method: req.method ?? '',
      path: key,
      ...(rangeHeader ? { range: rangeHeader } : {}),
      ...(typeof ifMatch === 'string' ? { ifMatch } : {}),
      status: 0,
      bytes: 0,
      start: performance.now(),
      end: 0,
    };
    this.requests.push(log);
    const finish = (status: number) => {
      log.status = status;
      log.end = performance.now();
    };
    res.on('close', () => {
      if (!log.end) finish(res.statusCode);
    });
    const hold = this.hold;
    if (hold) {
      hold.arrived();
      await hold.done;
    }
    if (this.options.upstream) return this.forward(req, res, log, finish);
    if (this.options.ttfbMs) await sleep(this.options.ttfbMs);

    const cors = this.options.cors;
    if (cors) {
      res.setHeader('access-control-allow-origin', cors.allowOrigin ?? '*');
      const expose = cors.exposeHeaders ?? ['Content-Range', 'ETag', 'Content-Length'];
      if (expose.length) res.setHeader('access-control-expose-headers', expose.join(', '));
      if (req.method === 'OPTIONS') {
        const asked = req.headers['access-control-request-headers'];
        if (typeof asked === 'string') log.preflightHeaders = asked;
        res
          .writeHead(204, {
            'access-control-allow-methods': 'GET, HEAD',
            'access-control-allow-headers': (cors.allowHeaders ?? ['range', 'if-match', 'if-none-match', 'authorization']).join(', '),
            'access-control-max-age': String(cors.maxAgeSeconds ?? 0),
          })
          .end();
        return finish(204);
      }
    }

    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return finish(405);
    }
    const obj = this.objects.get(key);
    if (!obj) {
      res.writeHead(404, { 'content-type': 'application/xml' }).end(req.method === 'HEAD' ? undefined : '<Error><Code>NoSuchKey</Code></Error>');
      return finish(404);
    }
    const common = { ...(this.options.etags === false ? {} : { etag: obj.etag }), 'last-modified': obj.lastModified.toUTCString(), 'accept-ranges': 'bytes' };
    if (typeof ifMatch === 'string' && ifMatch !== '*' && ifMatch !== obj.etag) {
      res.writeHead(412, { 'content-type': 'application/xml' }).end('<Error><Code>PreconditionFailed</Code></Error>');
      return finish(412);
    }
    if (req.headers['if-none-match'] === obj.etag) {
      res.writeHead(304, common).end();
      return finish(304);
    }
    const size = obj.data.byteLength;
    if (req.method === 'HEAD') {
      res.writeHead(200, { ...common, 'content-length': String(size) }).end();
      return finish(200);
    }
    let range = parseRangeHeader(rangeHeader, size, this.options.suffix ?? true);
    if (range === 'unsatisfiable') {
      res.writeHead(416, { 'content-range': `bytes */${size}`, 'content-type': 'application/xml' }).end('<Error><Code>InvalidRange</Code></Error>');
      return finish(416);
    }
    if (this.fault === 'ignore-range') range = undefined;
    let status = 200;
    let bytes = obj.data;
    const headers: Record<string, string> = { ...common };
    if (range) {
      status = 206;
      let { start, end } = range;
      if (this.fault === 'wrong-content-range') {
        // Claim (and send) the bytes one further on: a client must not take them for the ones it asked.
        start = Math.min(start + 1, size - 1);
        end = Math.min(end + 1, size - 1);
      }
      bytes = obj.data.subarray(start, end + 1);
      headers['content-range'] = `bytes ${start}-${end}/${this.fault === 'no-total' ? '*' : size}`;
    }
    if (this.fault === 'long-body') {
      res.writeHead(status, headers); // no Content-Length: chunked, so only Content-Range frames the bytes
      res.end(Buffer.concat([bytes, Buffer.from([0x21])]));
      log.bytes = bytes.byteLength + 1;
      return finish(status);
    }
    headers['content-length'] = String(bytes.byteLength);
    res.writeHead(status, headers);
    if (this.fault === 'short-body') {
      const half = bytes.subarray(0, Math.floor(bytes.byteLength / 2));
      log.bytes = half.byteLength;
      res.write(half, () => res.destroy());
      return finish(status);
    }
    await this.writePaced(res, bytes, log);
    finish(status);
  }

  /** Proxy mode: the upstream's answer, whole, after at least the modelled first-byte time, then paced. */
  private async forward(req: IncomingMessage, res: ServerResponse, log: ServerRequestLog, finish: (status: number) => void): Promise<void> {
    const started = performance.now();
    const headers: Record<string, string> = {};
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined && !HOP_BY_HOP.has(name)) headers[name] = Array.isArray(value) ? value.join(', ') : value;
    }
    const method = req.method === 'HEAD' ? 'HEAD' : 'GET';
    const up = await request(`${this.options.upstream}${req.url ?? '/'}`, { method, headers, dispatcher: this.upstreamPool });
    const body = new Uint8Array(await up.body.arrayBuffer());
    const wait = (this.options.ttfbMs ?? 0) - (performance.now() - started);
    if (wait > 1) await sleep(wait);
    const out: Record<string, string | string[]> = {};
    for (const [name, value] of Object.entries(up.headers)) if (value !== undefined && !HOP_BY_HOP.has(name)) out[name] = value;
    res.writeHead(up.statusCode, out);
    if (method === 'HEAD') res.end();
    else await this.writePaced(res, body, log);
    finish(up.statusCode);
  }

  private async writePaced(res: ServerResponse, bytes: Uint8Array, log: ServerRequestLog): Promise<void> {
    const bps = this.options.bytesPerSecond;
    if (!bps) {
      log.bytes = bytes.byteLength;
      res.end(bytes);
      return;
    }
    const started = performance.now();
    for (let at = 0; at < bytes.byteLength; at += PACE_PIECE) {
      if (res.destroyed) return;
      const piece = bytes.subarray(at, at + PACE_PIECE);
      const due = started + ((at + piece.byteLength) / bps) * 1000;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      if (!res.write(piece)) await new Promise((r) => res.once('drain', r));
      log.bytes += piece.byteLength;
    }
    res.end();
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
