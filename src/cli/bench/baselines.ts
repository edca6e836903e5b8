/**
 * The baselines the benchmark compares against, built from our own parts so they are honest:
 * - a column-chunk reader that seeks and reads each chunk (what a simple Parquet reader does);
 * - `ClearingBufReader`: `std::io::BufReader` semantics (8 KiB buffer, cleared by every seek).
 */
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { ReaderError } from '../../errors.js';
import { SeekFrom } from '../../range-reader/seek-from.js';

export interface SeekRead {
  seek(to: SeekFrom): Promise<number>;
  read(buf: Uint8Array): Promise<number>;
}

/** std::io::BufReader's default capacity. */
export const STD_BUFREADER_CAPACITY = 8 * 1024;

/**
 * `std::io::BufReader`: reads through an 8 KiB buffer; reads at least as large as the buffer bypass
 * it; every seek discards the buffer and seeks the inner reader (the behaviour that turned each
 * Parquet chunk read into a new GET when the inner reader also dropped its stream on seek).
 */
export class ClearingBufReader implements SeekRead {
  private buf = new Uint8Array(STD_BUFREADER_CAPACITY);
  private pos = 0;
  private filled = 0;

  constructor(private readonly inner: SeekRead) {}

  async seek(to: SeekFrom): Promise<number> {
    const remaining = this.filled - this.pos;
    this.pos = this.filled = 0;
    // SeekFrom.current is relative to the logical position, which lags the inner one by what was buffered.
    return this.inner.seek(to.whence === 'current' ? SeekFrom.current(to.offset - remaining) : to);
  }

  async read(out: Uint8Array): Promise<number> {
    if (this.pos === this.filled && out.byteLength >= this.buf.byteLength) return this.inner.read(out);
    if (this.pos === this.filled) {
      this.filled = await this.inner.read(this.buf);
      this.pos = 0;
      if (this.filled === 0) return 0;
    }
    const n = Math.min(out.byteLength, this.filled - this.pos);
    out.set(this.buf.subarray(this.pos, this.pos + n));
    this.pos += n;
    return n;
  }
}

async function readExactly(r: SeekRead, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let at = 0;
  while (at < n) {
    const got = await r.read(out.subarray(at));
    if (got === 0) throw new ReaderError('Unexpected', `unexpected end after ${at} of ${n} bytes`, {}, { code: 'SHORT_BODY' });
    at += got;
  }
  return out;
}

/** Reads the footer the simple way: 8 bytes at the end, then the metadata before them. */
export async function readFooterBySeeks(r: SeekRead): Promise<FileMetaData> {
  await r.seek(SeekFrom.end(-8));
  const tail = await readExactly(r, 8);
  const len = new DataView(tail.buffer).getUint32(0, true);
  await r.seek(SeekFrom.end(-8 - len));
  const meta = await readExactly(r, len + 8);
  return parquetMetadata(meta);
}

/** One seek + read per column chunk, in the order given. Returns the bytes read. */
export async function readChunksBySeeks(r: SeekRead, chunks: readonly { offset: number; length: number }[]): Promise<number> {
  let bytes = 0;
  for (const c of chunks) {
    await r.seek(SeekFrom.start(c.offset));
    bytes += (await readExactly(r, c.length)).byteLength;
  }
  return bytes;
}
