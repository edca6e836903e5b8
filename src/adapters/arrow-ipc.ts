import { SeekFrom } from '../range-reader/seek-from.js';

/**
 * A Node `FileHandle`-like object that apache-arrow's `RecordBatchReader.from()` accepts as a
 * random-access file: it must have `stat()` and a numeric `fd`, or arrow silently reads it as a
 * stream. `fd` is -1: there is no real descriptor behind it.
 */
export interface ArrowFileHandle {
  readonly fd: number;
  stat(): Promise<{ size: number }>;
  read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<{ bytesRead: number; buffer: Uint8Array }>;
  close(): Promise<void>;
}

/** A seekable reader with a size (a BufferReader, a RangeReader). */
export interface SizedReader {
  size(): Promise<number>;
  seek(to: SeekFrom): Promise<number>;
  read(buf: Uint8Array): Promise<number>;
  close?(): Promise<void>;
}

/**
 * An Arrow IPC file over a reader: `await RecordBatchReader.from(arrowFileHandle(reader))`. Arrow
 * makes ~4 small reads per record batch, moving forward through the file; they go through the
 * reader's `seek` + `read`, so a BufferReader sees a sequential scan and its growing read-ahead
 * serves them in a few requests. `close()` closes the reader too.
 */
export function arrowFileHandle(reader: SizedReader): ArrowFileHandle {
  return {
    fd: -1,
    stat: async () => ({ size: await reader.size() }),
    async read(buffer, offset, length, position) {
      const size = await reader.size();
      const n = Math.max(0, Math.min(length, buffer.byteLength - offset, size - position));
      if (n === 0) return { bytesRead: 0, buffer };
      await reader.seek(SeekFrom.start(position));
      let got = 0;
      while (got < n) {
        const k = await reader.read(buffer.subarray(offset + got, offset + n));
        if (k === 0) break;
        got += k;
      }
      return { bytesRead: got, buffer };
    },
    close: async () => {
      await reader.close?.();
    },
  };
}
