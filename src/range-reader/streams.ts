/** Web and Node streams over a reader's chunk iterator (shared by RangeReader and BufferReader). */
import type { Readable } from 'node:stream';
import { ReaderError } from '../errors.js';
import { runtime } from '../runtime.js';

/** A Web ReadableStream pulling from `source`; cancelling it ends the iteration (the reader stays open). */
export function webStreamOf(source: AsyncIterable<Uint8Array>): ReadableStream<Uint8Array> {
  const it = source[Symbol.asyncIterator]();
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const step = await it.next();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    async cancel() {
      await it.return?.();
    },
  });
}

/** A Node Readable of the bytes `source` yields (Node entry only: `Readable.from`). */
export function nodeStreamOf(source: AsyncIterable<Uint8Array>): Readable {
  if (!runtime.nodeStream) {
    throw new ReaderError('Unsupported', 'toNodeReadable needs Node streams: import from "buffered-range-reader/node" (or use toReadableStream)', {}, { code: 'UNSUPPORTED' });
  }
  return runtime.nodeStream(source) as Readable;
}
