/**
 * The Arrow IPC file footer: `ARROW1` + padding, the schema and batches as stream messages, then
 * the footer (a flatbuffer naming every dictionary and record batch block: offset, metadata length,
 * body length), its int32 length and `ARROW1` again. Parsed here from the tail of the file, so the
 * blocks can be planned before apache-arrow asks for them. apache-arrow's own decoder is loaded on
 * first use.
 */
import { ReaderError, type ErrorContext } from '../errors.js';
import type { Span } from '../buffer-reader/coalesce.js';

/** `ARROW1`, at both ends of an Arrow IPC file. */
const MAGIC = [0x41, 0x52, 0x52, 0x4f, 0x57, 0x31];
/** Bytes after the footer: its int32 length and the trailing magic. */
export const ARROW_FOOTER_TRAILER = 4 + MAGIC.length;
/** Smallest IPC file: leading magic padded to 8, the trailer (apache-arrow's `magicX2AndPadding`). */
export const ARROW_MIN_SIZE = 2 * MAGIC.length + 2;

export interface ArrowFooter {
  /** Bytes of the footer flatbuffer plus the trailer. */
  length: number;
  /** Every dictionary and record batch block (metadata + body), in file order. */
  blocks: Span[];
  dictionaries: number;
  recordBatches: number;
}

/** The footer's length from the last 10 bytes; typed errors for a file that is not an Arrow IPC file. */
export function arrowFooterLength(last10: Uint8Array, size: number, context: ErrorContext): number {
  if (size < ARROW_MIN_SIZE || last10.byteLength < ARROW_FOOTER_TRAILER) {
    throw new ReaderError('InvalidData', `not an Arrow IPC file: ${size} bytes is smaller than the ${ARROW_MIN_SIZE}-byte minimum`, { ...context, size }, { code: 'FOOTER_TOO_SHORT' });
  }
  const tail = last10.subarray(last10.byteLength - ARROW_FOOTER_TRAILER);
  if (!MAGIC.every((b, i) => tail[4 + i] === b)) {
    throw new ReaderError('InvalidData', 'not an Arrow IPC file: the last 6 bytes are not "ARROW1"', context, { code: 'BAD_MAGIC' });
  }
  const length = new DataView(tail.buffer, tail.byteOffset, 4).getInt32(0, true);
  if (length <= 0 || length > size - ARROW_MIN_SIZE) {
    throw new ReaderError('InvalidData', `corrupt Arrow IPC footer: length ${length} does not fit the file (size ${size})`, { ...context, size }, { code: 'METADATA_TOO_LONG' });
  }
  return length + ARROW_FOOTER_TRAILER;
}

/**
 * Parses the footer held in `bytes` (which end at the end of the object, `size`). Blocks that lie
 * outside the file are `InvalidData` before any fetch.
 */
export async function parseArrowFooter(bytes: Uint8Array, size: number, context: ErrorContext): Promise<ArrowFooter> {
  const length = arrowFooterLength(bytes.subarray(Math.max(0, bytes.byteLength - ARROW_FOOTER_TRAILER)), size, context);
  const flat = bytes.subarray(bytes.byteLength - length, bytes.byteLength - ARROW_FOOTER_TRAILER);
  const { Footer } = await import('apache-arrow/ipc/metadata/file');
  let blocks: Span[];
  let dictionaries: number;
  let recordBatches: number;
  try {
    const footer = Footer.decode(flat);
    const list = (n: number, get: (i: number) => { offset: number; metaDataLength: number; bodyLength: number } | null) =>
      Array.from({ length: n }, (_, i) => get(i)).filter((b) => b !== null).map((b) => ({ offset: b.offset, length: b.metaDataLength + b.bodyLength }));
    dictionaries = footer.numDictionaries;
    recordBatches = footer.numRecordBatches;
    blocks = [...list(dictionaries, (i) => footer.getDictionaryBatch(i)), ...list(recordBatches, (i) => footer.getRecordBatch(i))];
  } catch (err) {
    throw new ReaderError('InvalidData', `corrupt Arrow IPC footer: ${err instanceof Error ? err.message : String(err)}`, context, { code: 'METADATA_CORRUPT', cause: err });
  }
  const dataEnd = size - length;
  for (const b of blocks) {
    if (!Number.isSafeInteger(b.offset) || !Number.isSafeInteger(b.length) || b.offset < 0 || b.length < 0 || b.offset + b.length > dataEnd) {
      throw new ReaderError('InvalidData', `corrupt Arrow IPC footer: a block at ${b.offset} (${b.length} bytes) lies outside the file`, { ...context, size }, { code: 'CHUNK_OUT_OF_FILE' });
    }
  }
  blocks.sort((a, b) => a.offset - b.offset);
  return { length, blocks, dictionaries, recordBatches };
}
