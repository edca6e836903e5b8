import { describe, expect, it } from 'vitest';
import { collectBody, collectChunks, lastBytes, plainBytes, windowBody } from '../src/body.js';
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

