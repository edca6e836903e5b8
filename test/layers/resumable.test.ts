/**
 * resumableBody (src/layers/resumable.ts, withRetry's body) given up (`return()`) while it resumes,
 * on a real local HTTP server: the resume stops where it is (no new request, or the one under way is
 * aborted and its connection closed), and the next() in flight ends (done). Ordered by the server's
 * and `onRetry`'s own events, never by the clock.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { httpBackend } from '../../src/backends/http/backend.js';
import { withRetry, type RetryOptions } from '../../src/layers/retry.js';

/** The object's size, and the bytes its first response sends before its socket is reset. */
const SIZE = 1000;
const FIRST = 100;

interface Get {
  range: string | undefined;
  /** Resolves when the server's socket for this request closed. */
  closed: Promise<void>;
}

let server: Server;
let base: string;
let agent: Agent;
let gets: Get[] = [];
/** What the server does with a resumed (second or later) GET. */
let onResumed: (res: ServerResponse, start: number) => void = () => undefined;

function handle(req: IncomingMessage, res: ServerResponse): void {
  let closed!: () => void;
  gets.push({ range: req.headers.range, closed: new Promise((r) => (closed = r)) });
  req.socket.once('close', closed);
  const m = /bytes=(\d+)-(\d*)/.exec(req.headers.range ?? '');
  const start = m ? Number(m[1]) : 0;
  if (gets.length > 1) return onResumed(res, start);
  res.writeHead(206, { 'content-length': String(SIZE - start), 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, etag: '"v1"' });
  res.write(Buffer.alloc(FIRST, 1), () => req.socket.destroy()); // then the connection is reset
}

beforeAll(async () => {
  server = createServer(handle);
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  agent = new Agent({ connections: 4 });
});
beforeEach(() => {
  gets = [];
  onResumed = () => undefined;
});
afterAll(async () => {
  await agent.close();
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

/** withRetry over the HTTP backend; `onRetry` resolves `retrying` (the backoff is about to sleep). */
function retrying(opts: RetryOptions) {
  let heard!: () => void;
  const retrying = new Promise<void>((r) => (heard = r));
  const be = withRetry(httpBackend({ baseUrl: base, dispatcher: agent }), { stallMs: 0, ...opts, onRetry: () => heard() });
  return { be, retrying };
}

/** Reads the first response's FIRST bytes, then asks for more (the reset makes that next() resume). */
async function openCut(be: ReturnType<typeof retrying>['be']) {
  const res = await be.read('f', { offset: 0, length: SIZE });
  const it = res.body[Symbol.asyncIterator]();
  let got = 0;
  while (got < FIRST) got += ((await it.next()).value as Uint8Array).byteLength;
  return { it, pending: it.next() };
}

describe('resumableBody given up while it resumes', () => {
  it('return() during the backoff sleep: the sleep ends, no new request is sent, and the next() in flight ends (done)', async () => {
    // a minute's backoff: before the fix the pending next() waited it out and then sent a GET nobody closed
    const { be, retrying: inBackoff } = retrying({ baseMs: 60_000, capMs: 60_000, random: () => 0.99 });
    const { it: body, pending } = await openCut(be);
    await inBackoff;
    await body.return?.();
    expect(await pending).toEqual({ done: true, value: undefined });
    expect([be.retryCounters().attempts, gets.length]).toEqual([1, 1]);
  });

  it('return() while the resumed GET is under way: that request is aborted and its connection closed, and the next() in flight ends (done)', async () => {
    let arrived!: (answer: () => void) => void;
    const resumed = new Promise<() => void>((r) => (arrived = r));
    onResumed = (res, start) =>
      arrived(() => {
        // the same version, healthy but slow: sends a little and holds the rest
        res.writeHead(206, { 'content-length': String(SIZE - start), 'content-range': `bytes ${start}-${SIZE - 1}/${SIZE}`, etag: '"v1"' });
        res.write(Buffer.alloc(FIRST, 2));
      });
    const { be } = retrying({ baseMs: 1, capMs: 1 });
    const { it: body, pending } = await openCut(be);
    const answer = await resumed; // the resumed GET reached the server
    await body.return?.();
    answer(); // before the fix its response was taken up and never released
    expect(await pending).toEqual({ done: true, value: undefined });
    expect(gets.map((g) => g.range)).toEqual(['bytes=0-999', `bytes=${FIRST}-999`]);
    await (gets[1] as Get).closed;
  });
});
