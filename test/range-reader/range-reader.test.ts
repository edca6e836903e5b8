import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { describe, expect, it } from 'vitest';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { withRetry } from '../../src/layers/retry.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { RangeReader, type RangeReaderState } from '../../src/range-reader/range-reader.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { randomBytes } from '../support/data.js';

const SIZE = 100_000;
const data = randomBytes(SIZE, 3);

function setup(opts: ConstructorParameters<typeof RangeReader>[2] = {}) {
  // 4 KiB chunks: the body arrives in pieces, as from a socket.
  const backend = withMetrics(memoryBackend({ 'obj.bin': data, 'empty.bin': new Uint8Array(0) }, { chunkSize: 4096 }));
  const states: RangeReaderState[] = [];
  const reader = new RangeReader(backend, 'obj.bin', { ...opts, onStateChange: (s) => states.push(s) });
  const requests = () => backend.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
  return { backend, reader, states, requests };
}

async function readExactly(reader: RangeReader, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const got = await reader.read(out.subarray(at));
    if (got === 0) break;
    at += got;
  }
  return out.subarray(0, at);
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

describe('RangeReader state machine', () => {
  it('Idle → SendRead → Read on the first read, and back to Idle when the body is consumed', async () => {
    const { reader, states, requests } = setup();
    expect(reader.state).toBe('Idle');
    const got = await readExactly(reader, SIZE);
    expect(same(got, data)).toBe(true);
    expect(states).toEqual(['SendRead', 'Read', 'Idle']);
    expect(reader.state).toBe('Idle');
    expect(await reader.read(new Uint8Array(10))).toBe(0);
    expect(requests()).toEqual(['GET bytes=0-']);
  });

  it('SendStat only for a seek relative to an unknown end', async () => {
    const { reader, states, requests } = setup();
    expect(await reader.seek(SeekFrom.end(-8))).toBe(SIZE - 8);
    expect(states).toEqual(['SendStat', 'Idle']);
    const tail = await readExactly(reader, 8);
    expect(same(tail, data.subarray(SIZE - 8))).toBe(true);
    expect(states).toEqual(['SendStat', 'Idle', 'SendRead', 'Read', 'Idle']);
    expect(requests()).toEqual(['HEAD', 'GET bytes=99992-']);
  });

  it('no SendStat when the size is given', async () => {
    const { reader, states, requests } = setup({ size: SIZE });
    await reader.seek(SeekFrom.end(-8));
    await readExactly(reader, 8);
    expect(states).toEqual(['SendRead', 'Read', 'Idle']);
    expect(requests()).toEqual(['GET bytes=99992-']);
  });

  it('a seek outside the open body drops it: Read → Idle', async () => {
    const { reader, states } = setup();
    await reader.read(new Uint8Array(10));
    expect(reader.state).toBe('Read');
    await reader.seek(SeekFrom.start(90_000));
    expect(reader.state).toBe('Idle');
    expect(states).toEqual(['SendRead', 'Read', 'Idle']);
  });

  it('a seek inside the open body keeps it: the state stays Read', async () => {
    const { reader, states } = setup();
    await reader.read(new Uint8Array(10));
    await reader.seek(SeekFrom.start(2)); // back into the received chunk
    await reader.seek(SeekFrom.current(1000)); // forward within the skip limit
    expect(reader.state).toBe('Read');
    expect(states).toEqual(['SendRead', 'Read']);
  });

  it('goes back to Idle when a request fails', async () => {
    const backend = memoryBackend({});
    const states: RangeReaderState[] = [];
    const reader = new RangeReader(backend, 'missing', { onStateChange: (s) => states.push(s) });
    await expect(reader.read(new Uint8Array(4))).rejects.toMatchObject({ kind: 'NotFound' });
    expect(states).toEqual(['SendRead', 'Idle']);
  });
});

describe('RangeReader request counts (the honest baseline)', () => {
  it('a scripted seek/read sequence issues exactly these GETs', async () => {
    const { reader, requests, backend } = setup();
    expect(same(await readExactly(reader, 10), data.subarray(0, 10))).toBe(true); // GET bytes=0-
    await reader.seek(SeekFrom.start(5)); // inside the chunk already received
    expect(same(await readExactly(reader, 10), data.subarray(5, 15))).toBe(true);
    await reader.seek(SeekFrom.current(6000)); // forward past the chunk, within the skip limit: read through
    expect(same(await readExactly(reader, 100), data.subarray(6015, 6115))).toBe(true);
    await reader.seek(SeekFrom.start(50_000)); // far: drops the body
    expect(same(await readExactly(reader, 100), data.subarray(50_000, 50_100))).toBe(true); // GET bytes=50000-
    await reader.seek(SeekFrom.current(-40_000)); // backward out of the chunk: drops the body
    expect(same(await readExactly(reader, 100), data.subarray(10_100, 10_200))).toBe(true); // GET bytes=10100-
    await reader.seek(SeekFrom.current(-50)); // backward, still inside the last chunk received: free
    expect(same(await readExactly(reader, 10), data.subarray(10_150, 10_160))).toBe(true);
    await reader.seek(SeekFrom.end(-8)); // size known from the responses: no HEAD
    expect(same(await readExactly(reader, 100), data.subarray(SIZE - 8))).toBe(true); // GET bytes=99992-
    await reader.seek(SeekFrom.start(SIZE + 10)); // past the end is allowed
    expect(await reader.read(new Uint8Array(10))).toBe(0); // and costs nothing
    expect(requests()).toEqual(['GET bytes=0-', 'GET bytes=50000-', 'GET bytes=10100-', 'GET bytes=99992-']);
    expect(backend.metrics.snapshot()).toMatchObject({ gets: 4, heads: 0, roundTrips: 4 });
  });

  it('one seek + read per column chunk costs one GET per chunk when chunks are far apart', async () => {
    const { reader, requests } = setup({ size: SIZE });
    const chunks = [0, 20_000, 40_000, 60_000, 80_000];
    for (const offset of chunks) {
      await reader.seek(SeekFrom.start(offset));
      expect(same(await readExactly(reader, 1000), data.subarray(offset, offset + 1000))).toBe(true);
    }
    expect(requests()).toEqual(chunks.map((o) => `GET bytes=${o}-`));
  });

  it('reads a window of the object with positions relative to it', async () => {
    const { reader, requests } = setup({ range: { offset: 1000, length: 500 } });
    expect(await reader.size()).toBe(500);
    const all = await readExactly(reader, 10_000);
    expect(same(all, data.subarray(1000, 1500))).toBe(true);
    await reader.seek(SeekFrom.end(-100)); // inside the last chunk: no request
    expect(same(await readExactly(reader, 1000), data.subarray(1400, 1500))).toBe(true);
    await reader.seek(SeekFrom.start(0));
    await reader.seek(SeekFrom.end(-100));
    expect(requests()).toEqual(['HEAD', 'GET bytes=1000-1499']);
    const { reader: r2, requests: req2 } = setup({ range: { offset: 1000, length: 50_000 } });
    await r2.seek(SeekFrom.end(-100));
    expect(same(await readExactly(r2, 1000), data.subarray(50_900, 51_000))).toBe(true);
    expect(req2()).toEqual(['HEAD', 'GET bytes=50900-50999']);
  });

  it('never requests an empty object', async () => {
    const backend = withMetrics(memoryBackend({ 'empty.bin': new Uint8Array(0) }));
    const reader = new RangeReader(backend, 'empty.bin', { size: 0 });
    expect(await reader.read(new Uint8Array(4))).toBe(0);
    expect(backend.metrics.snapshot().requests).toEqual([]);
  });
});

describe('RangeReader edges', () => {
  it('seek before 0 is InvalidInput and leaves the position alone', async () => {
    const { reader } = setup();
    await reader.seek(SeekFrom.start(10));
    await expect(reader.seek(SeekFrom.current(-11))).rejects.toMatchObject({ kind: 'InvalidInput' });
    await expect(reader.seek(SeekFrom.start(-1))).rejects.toBeInstanceOf(ReaderError);
    expect(reader.position).toBe(10);
  });

  it('seek past the end with an unknown size: read returns 0', async () => {
    const { reader, requests } = setup();
    await reader.seek(SeekFrom.start(SIZE + 5));
    expect(await reader.read(new Uint8Array(4))).toBe(0);
    expect(requests()).toEqual([`GET bytes=${SIZE + 5}-`]);
    expect(reader.state).toBe('Idle');
  });

  it('a zero-length buffer reads 0 without a request', async () => {
    const { reader, requests } = setup();
    expect(await reader.read(new Uint8Array(0))).toBe(0);
    expect(requests()).toEqual([]);
  });

  it('close drops the body; later calls are InvalidInput; asyncDispose closes', async () => {
    const { reader } = setup();
    await reader.read(new Uint8Array(4));
    await reader.close();
    expect(reader.state).toBe('Idle');
    await expect(reader.read(new Uint8Array(4))).rejects.toMatchObject({ kind: 'InvalidInput' });
    const { reader: r2 } = setup();
    {
      await using r = r2;
      await r.read(new Uint8Array(4));
    }
    await expect(r2.seek(SeekFrom.start(0))).rejects.toMatchObject({ kind: 'InvalidInput' });
  });

  it('a read in flight when close() is called rejects READER_CLOSED, and the connection closes (HTTP, bare and under withRetry)', async () => {
    // the server sends 100 of 1000 bytes and holds the rest: the second read waits for them
    const held: ServerResponse[] = [];
    const closed: Promise<void>[] = [];
    const server = createServer((req, res) => {
      held.push(res);
      closed.push(new Promise((r) => req.socket.once('close', () => r())));
      res.writeHead(206, { 'content-length': '1000', 'content-range': 'bytes 0-999/1000', etag: '"v1"' });
      res.write(Buffer.alloc(100, 1));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', () => ok()));
    const dispatcher = new Agent({ connections: 2 });
    try {
      const http = httpBackend({ baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, dispatcher });
      for (const [i, backend] of [http, withRetry(http, { stallMs: 0 })].entries()) {
        const reader = new RangeReader(backend, 'f', { size: 1000 });
        const buf = new Uint8Array(1000);
        expect(await reader.read(buf)).toBe(100);
        const pending = reader.read(buf).then(
          (n) => n,
          (e: ReaderError) => e.code,
        );
        await reader.close(); // before the fix the read stayed pending for ever
        expect(await pending).toBe('READER_CLOSED');
        await closed[i];
      }
      expect(held.length).toBe(2); // one GET each: nothing resumed after the close
    } finally {
      await dispatcher.close();
      server.closeAllConnections();
      await new Promise((ok) => server.close(ok));
    }
  });

  it('streams the rest of the object as a Web ReadableStream and a Node Readable', async () => {
    const { reader } = setup();
    await reader.seek(SeekFrom.start(1234));
    const web = new Uint8Array(await new Response(reader.toReadableStream()).arrayBuffer());
    expect(same(web, data.subarray(1234))).toBe(true);
    const { reader: r2 } = setup();
    await r2.seek(SeekFrom.start(99_000));
    const chunks: Buffer[] = [];
    for await (const c of r2.toNodeReadable()) chunks.push(Buffer.from(c));
    expect(same(Buffer.concat(chunks), data.subarray(99_000))).toBe(true);
  });

  it('aborts in-flight work through its signal', async () => {
    const ac = new AbortController();
    const { reader } = setup({ signal: ac.signal });
    await reader.read(new Uint8Array(4));
    ac.abort();
    await reader.seek(SeekFrom.start(80_000));
    await expect(reader.read(new Uint8Array(4))).rejects.toMatchObject({ kind: 'Aborted', name: 'AbortError' });
  });
});

describe('RangeReader dropOnSeek (the old OpenDAL baseline)', () => {
  it('every seek, even to the current position, drops the body: one GET per seek + read', async () => {
    const { reader, requests } = setup({ dropOnSeek: true, size: SIZE });
    for (const offset of [0, 100, 200]) {
      await reader.seek(SeekFrom.start(offset));
      expect(same(await readExactly(reader, 100), data.subarray(offset, offset + 100))).toBe(true);
    }
    expect(requests()).toEqual(['GET bytes=0-', 'GET bytes=100-', 'GET bytes=200-']);
  });
});
