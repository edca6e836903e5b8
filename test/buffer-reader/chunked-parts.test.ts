/**
 * A scan's background parts are kept in the chunks their bodies arrived in (part.ts): `read(buf)`
 * copies out of them across chunk boundaries, the iterator yields the chunks themselves (no part-sized
 * buffer is ever made for them), and anything that needs such a part in one buffer (`readAt`,
 * `readRanges`) still gets the right bytes. Over a real HTTP server, whose bodies arrive in socket
 * chunks; the request lists are asserted exactly.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { Part } from '../../src/buffer-reader/part.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { SeekFrom } from '../../src/range-reader/seek-from.js';
import { MiB, KiB, patternBytes, same, sortedGets } from './helpers.js';

const bytes = (...xs: number[][]) => xs.map((x) => Uint8Array.from(x));

describe('Part', () => {
  it('serves views within one chunk, copies across chunks, and joins only when asked for data', () => {
    const chunks = bytes([0, 1, 2], [], [3, 4], [5, 6, 7, 8]);
    const part = Part.chunked(chunks);
    expect(part.byteLength).toBe(9);
    expect(part.contiguous).toBe(false);
    // A view never crosses a chunk: from 1, at most the rest of the first chunk.
    const v = part.view(1, 100);
    expect([...v]).toEqual([1, 2]);
    expect(v.buffer).toBe(chunks[0]?.buffer); // a view of the chunk, not a copy
    expect([...part.view(3, 1)]).toEqual([3]);
    expect([...part.view(8, 5)]).toEqual([8]);
    // Backwards after forwards (the lookup hint is only a hint).
    expect([...part.view(0, 2)]).toEqual([0, 1]);
    const into = new Uint8Array(5).fill(99);
    expect(part.copyTo(2, into)).toBe(5);
    expect([...into]).toEqual([2, 3, 4, 5, 6]);
    const tail = new Uint8Array(10).fill(99);
    expect(part.copyTo(6, tail)).toBe(3);
    expect([...tail.subarray(0, 4)]).toEqual([6, 7, 8, 99]);
    // `data` joins once and keeps the joined buffer; views and copies go on from it.
    const joined = part.data;
    expect([...joined]).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    expect(part.contiguous).toBe(true);
    expect(part.data).toBe(joined);
    expect([...part.view(1, 100)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
    expect(part.view(1, 100).buffer).toBe(joined.buffer);
  });

  it('a one-buffer part is that buffer; an all-empty chunk list is an empty part', () => {
    const data = Uint8Array.from([7, 8, 9]);
    const one = Part.of(data);
    expect(one.data).toBe(data);
    expect(one.contiguous).toBe(true);
    const out = new Uint8Array(2);
    expect(one.copyTo(1, out)).toBe(2);
    expect([...out]).toEqual([8, 9]);
    const empty = Part.chunked(bytes([], []));
    expect(empty.byteLength).toBe(0);
    expect(empty.data.byteLength).toBe(0);
  });
});

describe('scan parts over HTTP, kept as chunks', () => {
  // 12 MiB under an 8 MiB budget: a 4 MiB window of 1 MiB parts (SCAN_MIN_PART), 12 of them.
  const size = 12 * MiB;
  const data = patternBytes(size, 5);
  const server = new ObjectServer();
  let url = '';
  beforeAll(async () => {
    url = (await server.start()).url;
    server.put('obj.bin', data);
  });
  afterAll(() => server.stop());

  const open = () => {
    const backend = withMetrics(httpBackend({ baseUrl: url }));
    const reader = new BufferReader(backend, 'obj.bin', { size, maxMemory: 8 * MiB });
    return { backend, reader };
  };
  const partList = Array.from({ length: 12 }, (_, i) => [i * MiB, MiB] as [number, number]);

  it('for await yields the bodies chunks themselves after the first part: no part-sized buffer, same bytes, same requests', async () => {
    const { backend, reader } = open();
    const got: Uint8Array[] = [];
    let at = 0;
    let backing = 0;
    for await (const chunk of reader) {
      if (at >= MiB) backing = Math.max(backing, chunk.buffer.byteLength); // past the first (waited-for) part
      got.push(chunk.slice());
      at += chunk.byteLength;
    }
    await reader.close();
    expect(at).toBe(size);
    expect(same(Buffer.concat(got), data)).toBe(true);
    // Socket chunks (64 KiB reads), not the 1 MiB part a join would have made.
    expect(backing).toBeGreaterThan(0);
    expect(backing).toBeLessThan(MiB);
    expect(sortedGets(backend.metrics.snapshot().requests)).toEqual(partList);
  });

  it('read(buf) fills the buffer across chunk boundaries and stops only at a part end', async () => {
    const { backend, reader } = open();
    const buf = new Uint8Array(300 * KiB); // not a multiple of any chunk size
    const counts: number[] = [];
    const out = new Uint8Array(size);
    let at = 0;
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) {
      out.set(buf.subarray(0, n), at);
      at += n;
      counts.push(n);
    }
    await reader.close();
    expect(at).toBe(size);
    expect(same(out, data)).toBe(true);
    // Within each 1 MiB part: 3 full reads and the part's last 124 KiB (a read never spans two parts).
    const perPart = [300 * KiB, 300 * KiB, 300 * KiB, 124 * KiB];
    expect(counts).toEqual(Array.from({ length: 12 }, () => perPart).flat());
    expect(sortedGets(backend.metrics.snapshot().requests)).toEqual(partList);
  });

  it('readAt and readRanges of bytes in a chunked part (across its chunks) are right, and the scan goes on right after them', async () => {
    const { backend, reader } = open();
    const buf = new Uint8Array(256 * KiB);
    let at = 0;
    const out = new Uint8Array(size);
    // Scan into the third part, so parts behind it and ahead of it have landed as chunks.
    while (at < 2 * MiB + 100) {
      const n = await reader.read(buf);
      out.set(buf.subarray(0, n), at);
      at += n;
    }
    // 5 MiB ± 200 KiB: inside one part, across many of its socket chunks.
    const a = await reader.readAt(5 * MiB - 200 * KiB, 150 * KiB);
    expect(same(a, data.subarray(5 * MiB - 200 * KiB, 5 * MiB - 50 * KiB))).toBe(true);
    const [r1, r2] = await reader.readRanges([
      { offset: 3 * MiB + 1, length: 70 * KiB },
      { offset: 4 * MiB - 10, length: 20 }, // across two parts
    ]);
    expect(same(r1 as Uint8Array, data.subarray(3 * MiB + 1, 3 * MiB + 1 + 70 * KiB))).toBe(true);
    expect(same(r2 as Uint8Array, data.subarray(4 * MiB - 10, 4 * MiB + 10))).toBe(true);
    for (let n = await reader.read(buf); n > 0; n = await reader.read(buf)) {
      out.set(buf.subarray(0, n), at);
      at += n;
    }
    const memory = reader.stats().memory;
    await reader.close();
    expect(at).toBe(size);
    expect(same(out, data)).toBe(true);
    expect(memory.peak).toBeLessThanOrEqual(8 * MiB);
    // Nothing fetched twice: the reads were served by the scan's parts.
    expect(sortedGets(backend.metrics.snapshot().requests)).toEqual(partList);
  });

  it('a for await left mid-part leaves the position after the last chunk it yielded; a seek into the part, and read() after it, go on with the right bytes', async () => {
    const { backend, reader } = open();
    let at = 0;
    for await (const chunk of reader) {
      expect(same(chunk, data.subarray(at, at + chunk.byteLength))).toBe(true);
      at += chunk.byteLength;
      if (at > 2 * MiB + 100 * KiB) break; // inside the third part, a few chunks in
    }
    expect(reader.position).toBe(at);
    const buf = new Uint8Array(40 * KiB);
    const n = await reader.read(buf);
    expect(same(buf.subarray(0, n), data.subarray(at, at + n))).toBe(true);
    // Back into the same part, then forward through the rest: the iterator does not take the seek for its next chunk.
    await reader.seek(SeekFrom.start(2 * MiB + 7));
    let from = 2 * MiB + 7;
    for await (const chunk of reader) {
      expect(same(chunk, data.subarray(from, from + chunk.byteLength))).toBe(true);
      from += chunk.byteLength;
    }
    await reader.close();
    expect(from).toBe(size);
    // Where the scan starts over after the seek depends on how far its window had got: the list is
    // whole parts up to there, then parts from the new start; no byte asked for twice, none missed.
    const list = sortedGets(backend.metrics.snapshot().requests);
    let end = 0;
    for (const [offset, length] of list) {
      expect(offset).toBe(end);
      expect(length).toBeLessThanOrEqual(MiB);
      end = offset + length;
    }
    expect(end).toBe(size);
  });
});
