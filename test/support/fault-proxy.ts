/**
 * A socket-level fault-injecting HTTP/1.1 proxy for tests. It sits in front of a real server (the
 * ObjectServer, moto) and, per request and by a script, passes the exchange through or breaks it the
 * way networks and servers do: truncates a body, resets the connection mid-body, stalls, answers a
 * Range with 200 and the whole body, rewrites Content-Range or Content-Length, answers 503 SlowDown /
 * 500 / 429 with Retry-After by itself, or swaps the object upstream before forwarding.
 *
 * How: it parses just enough HTTP/1.1 — request heads (and a Content-Length request body) from the
 * client, the response head from upstream — and forwards the rest as raw bytes. Each request goes
 * upstream on a fresh connection with `Connection: close`, and the whole response is collected before
 * any of it is written (test objects are small): the upstream closing marks the end of the response
 * without parsing its framing, and a fault lands at an exact byte. The client connection stays alive
 * after a clean exchange and is closed after a faulted one (it is in no known state then).
 *
 * ```ts
 * const proxy = await FaultProxy.start(server.url);
 * proxy.script([{ match: 'GET', action: 'truncate', after: 1000 }, { match: 'GET', action: 'status', status: 503 }]);
 * ```
 * Each request takes the first unused step that matches it (a step with `times: n` serves n requests);
 * a request no step matches asks `policy` (random faults), else passes through.
 */
import { connect, createServer, type Server, type Socket } from 'node:net';

/** What to do with one request. `after` counts response body bytes forwarded before the fault. */
export type FaultAction =
  | { action: 'pass' }
  /** Forward `after` body bytes, then close the connection (FIN): a body shorter than its Content-Length. */
  | { action: 'truncate'; after: number }
  /** Forward `after` body bytes, then reset the connection (RST). */
  | { action: 'reset'; after: number }
  /** Reset the connection without answering at all. */
  | { action: 'drop' }
  /** Forward `after` body bytes (-1: not even the headers), then nothing for `ms` (default: until the client gives up). */
  | { action: 'stall'; after: number; ms?: number }
  /** Answer by itself, without asking upstream (503 SlowDown, 500, 429 + Retry-After...). */
  | { action: 'status'; status: number; headers?: Record<string, string>; body?: string }
  /** Strip the Range header: the upstream answers 200 with the whole body. */
  | { action: 'ignore-range' }
  /** Ask upstream for `bytes=<from>-<end>` instead: a 206 that is a superset of what was asked. */
  | { action: 'widen-range'; from?: number }
  /** Replace the response's Content-Range (a function gets the upstream value). */
  | { action: 'content-range'; value: string | ((upstream: string | undefined) => string) }
  /** Add `delta` to the response's Content-Length (the body is forwarded unchanged). */
  | { action: 'content-length'; delta: number }
  /** Rewrite the response headers (lower-case names; delete to drop one). */
  | { action: 'headers'; rewrite: (headers: Map<string, string>) => void };

export type RequestMatch = 'GET' | 'HEAD' | { method?: string; path?: string | RegExp; range?: RegExp } | ((req: ProxyRequest) => boolean);

export type FaultStep = FaultAction & {
  match?: RequestMatch;
  /** Requests this step serves (default 1). */
  times?: number;
  /** Runs before the request is forwarded (e.g. replace the object upstream: a new ETag). */
  before?: () => void | Promise<void>;
  /** Delay before forwarding, in ms. */
  delayMs?: number;
  /** Rewrites the response headers along with any action (e.g. weaken or drop the ETag of a truncated response). */
  rewrite?: (headers: Map<string, string>) => void;
};

export interface ProxyRequest {
  method: string;
  target: string;
  /** Lower-case header names, in order. */
  headers: [string, string][];
  header(name: string): string | undefined;
}

export interface ProxyLogEntry {
  method: string;
  target: string;
  range?: string;
  ifMatch?: string;
  /** The action applied (`pass` when none). */
  action: FaultAction['action'];
  /** Status sent to the client (0 when none was). */
  status: number;
  /** Response body bytes sent to the client. */
  bytes: number;
}

const CRLF2 = Buffer.from('\r\n\r\n');
/** Actions that leave a well-framed response, after which the client connection stays usable. */
const CLEAN = new Set<FaultAction['action']>(['pass', 'ignore-range', 'widen-range']);

function parseHead(buf: Buffer): { lines: string[]; end: number } | undefined {
  const at = buf.indexOf(CRLF2);
  if (at < 0) return undefined;
  return { lines: buf.subarray(0, at).toString('latin1').split('\r\n'), end: at + 4 };
}

function parseHeaders(lines: string[]): [string, string][] {
  return lines.map((l) => {
    const i = l.indexOf(':');
    return [l.slice(0, i).trim().toLowerCase(), l.slice(i + 1).trim()] as [string, string];
  });
}

function matches(m: RequestMatch | undefined, req: ProxyRequest): boolean {
  if (m === undefined) return true;
  if (typeof m === 'function') return m(req);
  if (typeof m === 'string') return req.method === m;
  if (m.method !== undefined && req.method !== m.method) return false;
  const path = req.target.split('?')[0] ?? '';
  if (m.path !== undefined && !(typeof m.path === 'string' ? path === m.path || decodeURIComponent(path) === m.path : m.path.test(decodeURIComponent(path)))) return false;
  if (m.range !== undefined && !m.range.test(req.header('range') ?? '')) return false;
  return true;
}

export class FaultProxy {
  readonly log: ProxyLogEntry[] = [];
  /** Decides for requests no script step matches (e.g. random faults); undefined passes them through. */
  policy: ((req: ProxyRequest) => FaultStep | undefined) | undefined;
  /** Client connections accepted in total, open now, and at most at once. */
  connections = 0;
  open = 0;
  peakOpen = 0;
  /** Exchanges in progress (a stalled one ends when the client gives up on it). */
  active = 0;
  private steps: (FaultStep & { left: number })[] = [];
  private readonly sockets = new Set<Socket>();
  private server: Server | undefined;
  private port = 0;

  private constructor(
    readonly upstreamHost: string,
    readonly upstreamPort: number,
  ) {}

  /** Starts a proxy on 127.0.0.1 in front of `upstream` (`http://host:port`). */
  static async start(upstream: string): Promise<FaultProxy> {
    const u = new URL(upstream);
    const proxy = new FaultProxy(u.hostname, Number(u.port || 80));
    const server = createServer((s) => proxy.accept(s));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
    proxy.server = server;
    proxy.port = (server.address() as { port: number }).port;
    return proxy;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Replaces the script. */
  script(steps: FaultStep[]): this {
    this.steps = steps.map((s) => ({ ...s, left: s.times ?? 1 }));
    return this;
  }

  /** Script steps not used up yet. */
  get pending(): number {
    return this.steps.reduce((n, s) => n + s.left, 0);
  }

  /** Forgets the script, the policy and the log. */
  reset(): void {
    this.steps = [];
    this.policy = undefined;
    this.log.length = 0;
  }

  async stop(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((r) => server.close(() => r()));
  }

  private take(req: ProxyRequest): FaultStep {
    const step = this.steps.find((s) => s.left > 0 && matches(s.match, req));
    if (step) {
      step.left--;
      return step;
    }
    return this.policy?.(req) ?? { action: 'pass' };
  }

  private accept(client: Socket): void {
    this.connections++;
    this.open++;
    this.peakOpen = Math.max(this.peakOpen, this.open);
    this.sockets.add(client);
    let buf = Buffer.alloc(0);
    let busy = false;
    let closed = false;
    client.on('error', () => undefined);
    client.on('close', () => {
      closed = true;
      this.open--;
      this.sockets.delete(client);
    });
    const pump = async (): Promise<void> => {
      if (busy) return;
      busy = true;
      try {
        while (!closed) {
          const head = parseHead(buf);
          if (!head) return;
          const [method = '', target = ''] = (head.lines[0] ?? '').split(' ');
          const headers = parseHeaders(head.lines.slice(1));
          const bodyLength = Number(headers.find(([k]) => k === 'content-length')?.[1] ?? 0);
          if (buf.byteLength < head.end + bodyLength) return;
          const body = buf.subarray(head.end, head.end + bodyLength);
          buf = buf.subarray(head.end + bodyLength);
          const req: ProxyRequest = { method, target, headers, header: (n) => headers.find(([k]) => k === n)?.[1] };
          this.active++;
          let keep: boolean;
          try {
            keep = await this.exchange(client, req, body, () => closed);
          } finally {
            this.active--;
          }
          if (!keep) {
            client.destroy();
            return;
          }
        }
      } catch {
        client.destroy();
      } finally {
        busy = false;
      }
    };
    client.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      void pump();
    });
  }

  /** Serves one request; resolves whether the client connection may serve another. */
  private async exchange(client: Socket, req: ProxyRequest, body: Buffer, clientClosed: () => boolean): Promise<boolean> {
    const step = this.take(req);
    const entry: ProxyLogEntry = {
      method: req.method,
      target: req.target,
      ...(req.header('range') ? { range: req.header('range') as string } : {}),
      ...(req.header('if-match') ? { ifMatch: req.header('if-match') as string } : {}),
      action: step.action,
      status: 0,
      bytes: 0,
    };
    this.log.push(entry);
    if (step.before) await step.before();
    if (step.delayMs) await sleep(step.delayMs);
    if (clientClosed()) return false;

    if (step.action === 'drop') {
      client.resetAndDestroy();
      return false;
    }
    if (step.action === 'status') {
      const text = Buffer.from(step.body ?? '');
      const extra = Object.entries(step.headers ?? {}).map(([k, v]) => `${k}: ${v}\r\n`).join('');
      client.write(`HTTP/1.1 ${step.status} Fault\r\ncontent-length: ${req.method === 'HEAD' ? 0 : text.byteLength}\r\nconnection: close\r\n${extra}\r\n`);
      if (req.method !== 'HEAD') client.write(text);
      entry.status = step.status;
      await new Promise<void>((r) => client.end(r));
      return false;
    }

    let headers = req.headers.filter(([k]) => k !== 'connection' && k !== 'keep-alive');
    if (step.action === 'ignore-range') headers = headers.filter(([k]) => k !== 'range');
    if (step.action === 'widen-range') {
      headers = headers.map(([k, v]) => (k === 'range' ? [k, v.replace(/^bytes=\d+-/, `bytes=${step.from ?? 0}-`)] : [k, v]));
    }
    const head = `${req.method} ${req.target} HTTP/1.1\r\n${headers.map(([k, v]) => `${k}: ${v}\r\n`).join('')}connection: close\r\n\r\n`;
    const raw = await this.fetchUpstream(Buffer.concat([Buffer.from(head, 'latin1'), body]));
    const parsed = raw && parseHead(raw);
    if (!parsed || clientClosed()) {
      client.destroy();
      return false;
    }
    const statusLine = parsed.lines[0] ?? '';
    const status = Number(statusLine.split(' ')[1]);
    const map = new Map(parseHeaders(parsed.lines.slice(1)));
    map.delete('connection');
    map.delete('keep-alive');
    step.rewrite?.(map);
    if (step.action === 'content-range') {
      map.set('content-range', typeof step.value === 'function' ? step.value(map.get('content-range')) : step.value);
    } else if (step.action === 'content-length') {
      map.set('content-length', String(Number(map.get('content-length') ?? 0) + step.delta));
    } else if (step.action === 'headers') {
      step.rewrite(map);
    }
    const noBody = req.method === 'HEAD' || status === 204 || status === 304;
    const framed = noBody || map.has('content-length') || /chunked/i.test(map.get('transfer-encoding') ?? '');
    const keep = CLEAN.has(step.action) && framed;
    if (!keep) map.set('connection', 'close');
    const respHead = Buffer.from(`${statusLine}\r\n${[...map].map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`, 'latin1');
    const rest = raw.subarray(parsed.end);
    entry.status = status;

    if (step.action === 'stall' && step.after < 0) {
      // Not even the headers: nothing for `ms`, or until the client gives up.
      if (!(await this.waitOrClose(client, step.ms, clientClosed))) return false;
      entry.bytes = rest.byteLength;
      await write(client, Buffer.concat([respHead, rest]));
      await new Promise<void>((r) => client.end(r));
      return false;
    }
    if (step.action === 'truncate' || step.action === 'reset' || step.action === 'stall') {
      const n = Math.min(step.after, rest.byteLength);
      entry.bytes = n;
      await write(client, Buffer.concat([respHead, rest.subarray(0, n)]));
      if (step.action === 'truncate') {
        await new Promise<void>((r) => client.end(r));
        return false;
      }
      if (step.action === 'reset') {
        client.resetAndDestroy();
        return false;
      }
      if (!(await this.waitOrClose(client, step.ms, clientClosed))) return false;
      entry.bytes = rest.byteLength;
      await write(client, rest.subarray(n));
      await new Promise<void>((r) => client.end(r));
      return false;
    }
    entry.bytes = noBody ? 0 : rest.byteLength;
    await write(client, Buffer.concat([respHead, rest]));
    if (!keep) await new Promise<void>((r) => client.end(r));
    return keep;
  }

  /** Sends a request upstream on a fresh connection and collects the whole response (until it closes). */
  private fetchUpstream(request: Buffer): Promise<Buffer | undefined> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const upstream = connect(this.upstreamPort, this.upstreamHost);
      upstream.on('data', (d: Buffer) => chunks.push(d));
      upstream.on('error', () => undefined);
      upstream.on('close', () => resolve(chunks.length ? Buffer.concat(chunks) : undefined));
      upstream.write(request);
    });
  }

  /** Resolves true after `ms`, or false as soon as the client closes (without `ms`: only then). */
  private waitOrClose(client: Socket, ms: number | undefined, clientClosed: () => boolean): Promise<boolean> {
    if (clientClosed()) return Promise.resolve(false);
    return new Promise((resolve) => {
      const timer = ms === undefined ? undefined : setTimeout(() => {
        client.off('close', onClose);
        resolve(!clientClosed());
      }, ms);
      const onClose = (): void => {
        clearTimeout(timer);
        resolve(false);
      };
      client.once('close', onClose);
    });
  }
}

function write(socket: Socket, bytes: Buffer): Promise<void> {
  return new Promise((resolve) => {
    if (socket.destroyed) return resolve();
    socket.write(bytes, () => resolve());
  });
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
