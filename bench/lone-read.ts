/**
 * Micro-benchmark: what batching costs a lone `readAt` (issue 12: "not slower than before beyond one
 * event-loop turn"). Per call, median over many cold random 4 KiB reads on the memory backend:
 * - `direct`: the backend read itself (request + body), no reader;
 * - `turn`: one event-loop turn (`setImmediate`), what the default batch window waits;
 * - `readAt`: a BufferReader miss (batched with nobody, then fetched).
 * `overhead = readAt − direct − turn` is the reader's own bookkeeping on top of the one turn.
 * Run by bench/micro.ts (`npm run bench:micro`); nothing here asserts a speed.
 */
import { collectBody } from '../src/body.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { BufferReader } from '../src/buffer-reader/buffer-reader.js';

export interface LoneReadResult {
  reads: number;
  readBytes: number;
  /** Medians in microseconds. */
  directUs: number;
  turnUs: number;
  readAtUs: number;
  /** readAt − direct − turn. */
  overheadUs: number;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
};

export async function loneRead(data: Uint8Array, reads = 3000, readBytes = 4096): Promise<LoneReadResult> {
  const backend = memoryBackend({ obj: data });
  const reader = new BufferReader(backend, 'obj', { size: data.byteLength, readahead: false, adaptive: false, maxMemory: 4 * readBytes });
  let x = 12345;
  const offset = () => {
    x = (x * 1103515245 + 12345) >>> 0;
    return (x % Math.floor((data.byteLength - readBytes) / readBytes)) * readBytes;
  };
  const direct: number[] = [];
  const turn: number[] = [];
  const at: number[] = [];
  for (let i = 0; i < reads; i++) {
    // Interleaved, so drift hits all three alike.
    const o = offset();
    let t = performance.now();
    await collectBody((await backend.read('obj', { offset: o, length: readBytes })).body);
    direct.push(performance.now() - t);
    t = performance.now();
    await new Promise<void>((r) => setImmediate(r));
    turn.push(performance.now() - t);
    t = performance.now();
    await reader.readAt(offset(), readBytes); // a miss: the budget holds 4 reads, offsets are random
    at.push(performance.now() - t);
  }
  await reader.close();
  const us = (xs: number[]) => Math.round(median(xs.slice(reads / 10)) * 1000 * 10) / 10; // skip warm-up
  const r = { reads, readBytes, directUs: us(direct), turnUs: us(turn), readAtUs: us(at), overheadUs: 0 };
  r.overheadUs = Math.round((r.readAtUs - r.directUs - r.turnUs) * 10) / 10;
  return r;
}
