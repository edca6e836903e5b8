/**
 * withFlowingBody (src/backends/http/undici-body.ts) on real undici responses from a real local
 * server: the socket flows into a queue that stays within BODY_QUEUE_BYTES while the consumer
 * waits (and the server is held back), giving up a body closes its connection, and a body cut
 * mid-way fails as a typed error after the bytes that came before it.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Agent, request } from 'undici';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { collectBody } from '../../../src/body.js';
import { httpBackend } from '../../../src/backends/http/backend.js';
import { BODY_QUEUE_BYTES, withFlowingBody, type FlowableBody } from '../../../src/backends/http/undici-body.js';
import type { ReaderError } from '../../../src/errors.js';

const MiB = 1024 * 1024;
/** Bytes the server writes at a time (and so the largest chunk undici hands on here). */
const WRITE = 64 * 1024;
/** The big body: larger than the loopback socket's buffers, so a consumer that waits holds the server back. */
const BIG = 48 * MiB;

/** Byte `i` of every body: a pattern that shows a lost, repeated or reordered chunk. */
const byteAt = (i: number): number => (i * 7 + (i >> 16)) & 0xff;
function pattern(from: number, length: number): Buffer {
  const b = Buffer.allocUnsafe(length);
  for (let i = 0; i < length; i++) b[i] = byteAt(from + i);
  return b;
}

interface Sent {
  /** Bytes the server wrote so far. */
  bytes: number;
  /** Resolves when a write found the connection full (the client stopped reading). */
  blocked: Promise<void>;
  /** Resolves when the server's socket for this response closed. */
  closed: Promise<void>;
}

let server: Server;
let base: string;
let sent: Sent[] = [];
const sockets = new Set<Socket>();

/** Bytes `/held` sends of the HELD_TOTAL it announces before it waits (for ever) with the rest. */
const HELD_SENT = 100;
const HELD_TOTAL = 1000;

/**
 * `/big`: BIG bytes, paced by backpressure. `/cut`: announces 1 MiB, sends 256 KiB, then destroys
 * the socket. `/held`: announces HELD_TOTAL bytes, sends HELD_SENT and holds the rest back.
 */
function handle(req: IncomingMessage, res: ServerResponse): void {
  let unblock!: () => void;
  let close!: () => void;
  const s: Sent = { bytes: 0, blocked: new Promise((r) => (unblock = r)), closed: new Promise((r) => (close = r)) };
  sent.push(s);
  res.socket?.once('close', close);
  if (req.url === '/held') {
    res.writeHead(200, { 'content-length': String(HELD_TOTAL) });
    res.write(pattern(0, HELD_SENT));
    s.bytes = HELD_SENT;
    return;
  }
  const total = req.url === '/cut' ? MiB : BIG;
  const stopAt = req.url === '/cut' ? 256 * 1024 : total;
  res.writeHead(200, { 'content-length': String(total) });
  const pump = (): void => {
    while (s.bytes < stopAt) {
      const n = Math.min(WRITE, stopAt - s.bytes);
      const ok = res.write(pattern(s.bytes, n));
      s.bytes += n;
      if (!ok) {
        unblock();
        res.once('drain', pump);
        return;
      }
    }
    if (stopAt < total) res.socket?.destroy();
    else res.end();
  };
  pump();
}

beforeAll(async () => {
  server = createServer(handle);
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterEach(() => {
  sent = [];
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  await new Promise((ok) => server.close(ok));
});

/** Waits (bounded, so a failure is an assertion and never a hang) until `cond` holds. */
async function until(cond: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 5));
  if (!cond()) throw new Error(`gave up waiting: ${what}`);
}

const fails = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ReaderError);

describe('withFlowingBody', () => {
  it('flows ahead of a waiting consumer up to BODY_QUEUE_BYTES (plus one chunk), holds the server back, then yields every byte in order', async () => {
    const dispatcher = new Agent({ connections: 1 });
    try {
      const res = await request(`${base}/big`, { dispatcher });
      const body = withFlowingBody(res.body as unknown as FlowableBody);
      const first = await body.next();
      expect(first.done).toBe(false);
      await until(() => body.queuedBytes >= BODY_QUEUE_BYTES, 'the queue to fill'); // it read ahead by itself
      const s = sent[0] as Sent;
      await s.blocked; // the connection is full: the client stopped reading the socket
      const atBlock = s.bytes;
      expect(body.queuedBytes).toBeLessThanOrEqual(BODY_QUEUE_BYTES + WRITE);
      expect(atBlock).toBeLessThan(BIG); // backpressure reached the server
      let at = (first.value as Uint8Array).byteLength;
      expect(Buffer.from(first.value as Uint8Array).equals(pattern(0, at))).toBe(true);
      let peak = 0;
      for await (const chunk of body) {
        expect(Buffer.from(chunk).equals(pattern(at, chunk.byteLength))).toBe(true);
        at += chunk.byteLength;
        peak = Math.max(peak, body.queuedBytes);
      }
      expect([at, body.queuedBytes]).toEqual([BIG, 0]);
      expect(peak).toBeLessThanOrEqual(BODY_QUEUE_BYTES + WRITE);
    } finally {
      await dispatcher.close();
    }
  });

  it('return() (a break) closes the connection, and the one connection serves the next request', async () => {
    const dispatcher = new Agent({ connections: 1 });
    try {
      const res = await request(`${base}/big`, { dispatcher });
      const body = withFlowingBody(res.body as unknown as FlowableBody);
      for await (const _ of body) break;
      await (sent[0] as Sent).closed; // the server saw its socket go
      expect([(await body.next()).done, body.queuedBytes]).toEqual([true, 0]);
      const b = httpBackend({ baseUrl: base, dispatcher });
      const r = await b.read('cut', { offset: 0, length: 1000 }, { signal: AbortSignal.timeout(10_000) });
      expect(Buffer.from(await collectBody(r.body)).equals(pattern(0, 1000))).toBe(true);
    } finally {
      await dispatcher.close();
    }
  });

  it('return() before the first chunk closes the connection too', async () => {
    const dispatcher = new Agent({ connections: 1 });
    try {
      const res = await request(`${base}/big`, { dispatcher });
      await withFlowingBody(res.body as unknown as FlowableBody).return?.();
      await (sent[0] as Sent).closed;
    } finally {
      await dispatcher.close();
    }
  });

  it('a next() in flight when return() is called ends (done), and the connection closes', async () => {
    const dispatcher = new Agent({ connections: 1 });
    try {
      const res = await request(`${base}/held`, { dispatcher });
      const body = withFlowingBody(res.body as unknown as FlowableBody);
      let got = 0;
      while (got < HELD_SENT) got += ((await body.next()).value as Uint8Array).byteLength;
      const pending = body.next(); // the server holds the rest: this waits
      expect(await body.return?.()).toEqual({ done: true, value: undefined });
      expect(await pending).toEqual({ done: true, value: undefined }); // it used to stay pending for ever
      await (sent[0] as Sent).closed;
    } finally {
      await dispatcher.close();
    }
  });

  it('a body cut mid-way: the bytes before the cut, then the error (typed Interrupted through the HTTP backend)', async () => {
    const dispatcher = new Agent({ connections: 2 });
    try {
      const res = await request(`${base}/cut`, { dispatcher });
      const body = withFlowingBody(res.body as unknown as FlowableBody);
      let got = 0;
      const err = await fails(
        (async () => {
          for await (const chunk of body) {
            expect(Buffer.from(chunk).equals(pattern(got, chunk.byteLength))).toBe(true);
            got += chunk.byteLength;
          }
        })(),
      );
      expect(err).toBeInstanceOf(Error);
      expect(got).toBeLessThanOrEqual(256 * 1024);
      const b = httpBackend({ baseUrl: base, dispatcher });
      const typed = await fails(b.read('cut', { offset: 0 }).then((r) => collectBody(r.body)));
      expect([typed?.name, typed?.kind, typed?.retryable]).toEqual(['ReaderError', 'Interrupted', true]);
      expect(['SHORT_BODY', 'CONNECTION_RESET']).toContain(typed?.code);
    } finally {
      await dispatcher.close();
    }
  });

  it("the caller's abort mid-body ends it with Aborted and closes the connection", async () => {
    const dispatcher = new Agent({ connections: 1 });
    try {
      const ac = new AbortController();
      const r = await httpBackend({ baseUrl: base, dispatcher }).read('big', { offset: 0 }, { signal: ac.signal });
      const it = r.body[Symbol.asyncIterator]();
      expect((await it.next()).done).toBe(false);
      ac.abort();
      const err = await fails((async () => {
        for (;;) if ((await it.next()).done) return;
      })());
      expect([err?.kind, err?.code]).toEqual(['Aborted', 'ABORTED']);
      await (sent[0] as Sent).closed;
    } finally {
      await dispatcher.close();
    }
  });
});
