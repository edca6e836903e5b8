import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent, request } from 'undici';
import { describe, expect, it } from 'vitest';
import { withFlowingBody, type FlowableBody } from '../src/backends/http/undici-body.js';
import { collectBody, collectChunks, lastBytes, observeBody, plainBytes, readAheadWhile, windowBody } from '../src/body.js';
import type { ReaderError } from '../src/errors.js';
import { sliceOrCopy } from '../src/buffer-reader/assemble.js';
import { memoryBackend } from '../src/backends/memory/backend.js';

async function* chunks(...parts: Uint8Array[]) {
  yield* parts;
}

describe('bytes handed on are plain Uint8Arrays, so slice() copies', () => {
  it('plainBytes turns a Buffer into a plain view of the same memory', () => {
    const buf = Buffer.from('hello world');
    const plain = plainBytes(buf);
    expect(Buffer.isBuffer(plain)).toBe(false);
    expect(plain.buffer).toBe(buf.buffer);
    const copy = plain.slice(0, 5);
    copy[0] = 0x48;
    expect(buf[0]).toBe(0x68); // the copy is its own memory
  });

  it('windowBody yields plain views of Buffer chunks', async () => {
    const out: Uint8Array[] = [];
    for await (const c of windowBody(chunks(Buffer.from('abc'), Buffer.from('def')), { skip: 1, take: 4, context: {} })) out.push(c);
    expect(out.every((c) => !Buffer.isBuffer(c))).toBe(true);
    expect(Buffer.concat(out).toString()).toBe('bcde');
  });

  it('memoryBackend stores Buffers as plain bytes', async () => {
    const b = memoryBackend({ f: Buffer.from('0123456789') });
    const body = await collectBody((await b.read('f', { offset: 2, length: 3 })).body);
    expect(Buffer.isBuffer(body)).toBe(false);
    expect(new TextDecoder().decode(body)).toBe('234');
  });

  it('sliceOrCopy copies a small part even of a Buffer (no pinning of the big buffer)', () => {
    const big = Buffer.alloc(1 << 20, 7);
    const small = sliceOrCopy(big, 10, 20);
    expect(small.buffer.byteLength).toBe(10);
  });
});

describe('collectChunks and lastBytes: a body kept in the chunks it arrived in', () => {
  it('keeps each chunk as a plain view of its own memory (no copy, no joined buffer), and drops empty ones', async () => {
    const a = Buffer.from('abc');
    const b = Buffer.from('defg');
    const out = await collectChunks(chunks(a, new Uint8Array(0), b));
    expect(out.map((c) => c.buffer)).toEqual([a.buffer, b.buffer]);
    expect(out.every((c) => !Buffer.isBuffer(c))).toBe(true);
    expect(Buffer.concat(out).toString()).toBe('abcdefg');
  });

  it('lastBytes copies just the last n bytes, across chunk boundaries, into a buffer of their own', () => {
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4]), new Uint8Array([5, 6])];
    for (let n = 0; n <= 6; n++) {
      const got = lastBytes(parts, n);
      expect([...got]).toEqual([1, 2, 3, 4, 5, 6].slice(6 - n));
      expect(got.buffer.byteLength).toBe(n);
    }
    expect(() => lastBytes(parts, 7)).toThrow(RangeError);
  });
});

/** A source that records how it was used: chunks pulled and whether it was closed (`return()`). */
function tracked(parts: string[]) {
  const log = { pulled: 0, closed: 0 };
  const source: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      next: async () => (log.pulled < parts.length ? { done: false, value: new TextEncoder().encode(parts[log.pulled++] as string) } : { done: true, value: undefined }),
      return: async () => (log.closed++, { done: true, value: undefined }),
    }),
  };
  return { source, log };
}
const text = (cs: Uint8Array[]) => Buffer.concat(cs).toString();
const failure = (p: Promise<unknown>) => p.then(() => undefined, (e: unknown) => e as ReaderError);

describe('windowBody', () => {
  it('skips whole chunks before the window, cuts the first and last, and closes the source once the window is complete', async () => {
    const { source, log } = tracked(['ab', 'cd', 'efgh', 'ij', 'kl']);
    let closes = 0;
    let wire = 0;
    const out = await collectBody(windowBody(source, { skip: 3, take: 4, context: {}, onClose: () => closes++, onWire: (n) => void (wire += n) }));
    expect([text([out]), log.pulled, log.closed, closes, wire]).toEqual(['defg', 3, 1, 1, 8]);
  });

  it('reads to the end to check the announced length: short is Interrupted, long is Unexpected', async () => {
    const short = tracked(['abc']);
    const s = await failure(collectBody(windowBody(short.source, { skip: 0, take: 4, expected: 4, context: { path: 'p' } })));
    expect([s?.kind, s?.code, s?.context.received]).toEqual(['Interrupted', 'SHORT_BODY', 3]);
    const long = tracked(['ab', 'cde']);
    const l = await failure(collectBody(windowBody(long.source, { skip: 0, take: 4, expected: 4, context: {} })));
    expect([l?.kind, l?.code, long.log.closed]).toEqual(['Unexpected', 'LONG_BODY', 1]);
  });

  it('return() before the first chunk still closes the source and calls onClose', async () => {
    const { source, log } = tracked(['abcd']);
    let closes = 0;
    const body = windowBody(source, { skip: 0, take: 4, context: {}, onClose: () => closes++ });
    await body.return?.();
    expect([log.pulled, log.closed, closes, (await body.next()).done]).toEqual([0, 1, 1, true]);
  });

  it('a next() in flight when return() is called ends (done), not as a short body (a real HTTP body that holds its rest back)', async () => {
    let closed!: () => void;
    const gone = new Promise<void>((r) => (closed = r));
    const server = createServer((_req, res) => {
      res.socket?.once('close', closed);
      res.writeHead(200, { 'content-length': '1000' });
      res.write(Buffer.alloc(100, 7)); // and the other 900 never come
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const dispatcher = new Agent({ connections: 1 });
    try {
      const res = await request(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`, { dispatcher });
      let closes = 0;
      const body = windowBody(withFlowingBody(res.body as unknown as FlowableBody), { skip: 0, take: 1000, expected: 1000, context: {}, onClose: () => closes++ });
      let got = 0;
      while (got < 100) got += ((await body.next()).value as Uint8Array).byteLength;
      const pending = body.next(); // waits for bytes the server holds back
      await body.return?.();
      expect(await pending).toEqual({ done: true, value: undefined }); // it used to reject SHORT_BODY
      expect(closes).toBe(1);
      await gone; // the connection was closed
    } finally {
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it('an aborted signal stops it with Aborted at the next chunk', async () => {
    const { source, log } = tracked(['ab', 'cd']);
    const ac = new AbortController();
    const body = windowBody(source, { skip: 0, take: 4, context: {}, signal: ac.signal });
    expect(text([(await body.next()).value as Uint8Array])).toBe('ab');
    ac.abort();
    expect([(await failure(body.next()))?.kind, log.closed]).toEqual(['Aborted', 1]);
  });
});

describe('observeBody', () => {
  it('hears every chunk, then close("end") once', async () => {
    const { source } = tracked(['ab', 'cde']);
    const heard: unknown[] = [];
    const out = await collectBody(observeBody(source, { chunk: (n) => heard.push(n), close: (how) => heard.push(how) }));
    expect([text([out]), heard]).toEqual(['abcde', [2, 3, 'end']]);
  });

  it('close("return") when the consumer breaks, also before the first chunk; the source is closed', async () => {
    for (const before of [true, false]) {
      const { source, log } = tracked(['ab', 'cd']);
      const heard: string[] = [];
      const body = observeBody(source, { close: (how) => heard.push(how) });
      if (!before) for await (const _ of body) break;
      else await body.return?.();
      expect([heard, log.closed]).toEqual([['return'], 1]);
    }
  });

  it('close("error") with what the source threw, which is passed on', async () => {
    const boom = new Error('boom');
    const source: AsyncIterable<Uint8Array> = { [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(boom) }) };
    const heard: unknown[] = [];
    const err = await failure(collectBody(observeBody(source, { close: (how, e) => heard.push(how, e) })));
    expect([err, heard]).toEqual([boom, ['error', boom]]);
  });
});

describe('readAheadWhile: a body read ahead while something else is asked first', () => {
  /** A source of `n` chunks of 4 bytes, counting what was pulled and whether it was closed; it fails after `failAt` chunks. */
  function source(n: number, failAt = Infinity) {
    const state = { pulled: 0, closed: false };
    const body = (async function* () {
      try {
        for (let i = 0; i < n; i++) {
          if (i === failAt) throw new Error('reset');
          state.pulled++;
          await new Promise((r) => setTimeout(r, 1));
          yield Uint8Array.of(i, i, i, i);
        }
      } finally {
        state.closed = true;
      }
    })();
    return { body, state };
  }

  it('reads ahead until the promise settles (at most maxBytes), then yields everything in order', async () => {
    let settle!: () => void;
    const until = new Promise<void>((r) => (settle = r));
    const s = source(20);
    const body = readAheadWhile(s.body, until, 1000);
    await new Promise((r) => setTimeout(r, 40));
    expect(s.state.pulled).toBeGreaterThan(3); // pulled while nobody read
    settle();
    const all = await collectBody(body);
    expect([...all]).toEqual(Array.from({ length: 20 }, (_, i) => [i, i, i, i]).flat());
    // The bound: no more than maxBytes (rounded up to a chunk) read ahead.
    const capped = source(50);
    readAheadWhile(capped.body, new Promise(() => undefined), 8);
    await new Promise((r) => setTimeout(r, 80));
    expect(capped.state.pulled).toBe(2);
  });

  it('a source that fails while read ahead fails where its consumer gets there; return() closes the source', async () => {
    const failing = source(10, 3);
    const body = readAheadWhile(failing.body, new Promise((r) => setTimeout(r, 50)), 1000);
    const got: number[] = [];
    await expect(
      (async () => {
        for await (const c of body) got.push(c[0] as number);
      })(),
    ).rejects.toThrow('reset');
    expect(got).toEqual([0, 1, 2]);
    const s = source(100);
    const it = readAheadWhile(s.body, Promise.resolve(), 1000)[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(Uint8Array.of(0, 0, 0, 0));
    await it.return?.();
    expect(s.state.closed).toBe(true);
    expect(s.state.pulled).toBeLessThan(100);
  });

  it('a source that stalls mid-body is released by dump() at once, without waiting for the chunk being read ahead', async () => {
    let dumped = false;
    const stalled = {
      async *[Symbol.asyncIterator]() {
        yield Uint8Array.of(1);
        await new Promise(() => undefined); // never another byte
      },
      async dump() {
        dumped = true;
      },
    };
    const body = readAheadWhile(stalled, new Promise(() => undefined), 1000);
    await new Promise((r) => setTimeout(r, 10));
    await body.dump?.();
    expect(dumped).toBe(true);
    expect(readAheadWhile({ async *[Symbol.asyncIterator]() {} }, Promise.resolve(), 1).dump).toBeUndefined(); // only where the source has one
  });
});
