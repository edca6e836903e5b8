import type { AsyncBuffer } from 'hyparquet';
import { toArrayBuffer, type RandomAccess } from './random-access.js';

/**
 * hyparquet's `AsyncBuffer` (`byteLength` + `slice(start, end) → ArrayBuffer`) over a reader. Every
 * slice goes through the reader's buffer, so what a plan prefetched costs nothing, and hyparquet's
 * own parallel fetches are bounded by the reader's concurrency.
 */
export function toAsyncBuffer(source: RandomAccess, byteLength: number): AsyncBuffer {
  return {
    byteLength,
    async slice(start: number, end?: number): Promise<ArrayBuffer> {
      const stop = Math.min(end ?? byteLength, byteLength);
      if (stop <= start) return new ArrayBuffer(0);
      return toArrayBuffer(await source.readAt(start, stop - start));
    },
  };
}
