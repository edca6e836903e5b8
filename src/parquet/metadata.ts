import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { ResolvedRange } from '../types.js';
import type { Tail } from './footer.js';

/** The bytes of one column chunk in one row group: `[offset, offset + length)`. */
export interface ColumnChunkRange extends ResolvedRange {
  rowGroup: number;
  /** Leaf column path joined with '.', e.g. `a`, `s.x`, `l.list.element`. */
  column: string;
}

/** Parses the Thrift FileMetaData held at the end of `tail` (hyparquet, which keeps real page offsets). */
export function parseMetadata(tail: Tail, context: ErrorContext): FileMetaData {
  const footer = tail.bytes.subarray(tail.bytes.byteLength - tail.metadataLength - 8);
  const metadataOffset = tail.meta.size - tail.metadataLength - 8;
  try {
    return parquetMetadata(footer);
  } catch (err) {
    throw new ReaderError(
      'InvalidData',
      `corrupt Parquet metadata (${tail.metadataLength} bytes at offset ${metadataOffset}): ${err instanceof Error ? err.message : String(err)}`,
      { ...context, metadataOffset, metadataLength: tail.metadataLength },
      { cause: err },
    );
  }
}

function toNumber(v: bigint | number | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/**
 * The byte range of every column chunk, by row group, checked against the file: a chunk outside
 * `[4, size - footer)` is `InvalidData` before any fetch (catalogue case 22).
 */
export function columnChunkRanges(metadata: FileMetaData, size: number, metadataLength: number, context: ErrorContext): ColumnChunkRange[][] {
  const dataEnd = size - metadataLength - 8;
  return metadata.row_groups.map((rg, rowGroup) =>
    rg.columns.map((chunk, i) => {
      const md = chunk.meta_data;
      if (!md) {
        throw new ReaderError('Unsupported', `row group ${rowGroup} column ${i} has no metadata (encrypted or external column)`, context);
      }
      if (chunk.file_path) {
        throw new ReaderError('Unsupported', `column chunks in other files (file_path ${JSON.stringify(chunk.file_path)}) are not supported`, context);
      }
      const column = md.path_in_schema.join('.');
      const dict = toNumber(md.dictionary_page_offset);
      const data = toNumber(md.data_page_offset) as number;
      // Some writers set dictionary_page_offset to 0 when there is none.
      const offset = dict !== undefined && dict > 0 && dict < data ? dict : data;
      const length = toNumber(md.total_compressed_size) as number;
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 4 || length < 0 || offset + length > dataEnd) {
        throw new ReaderError(
          'InvalidData',
          `corrupt Parquet metadata: column chunk ${column} of row group ${rowGroup} (bytes ${offset}+${length}) lies outside the data region [4, ${dataEnd})`,
          { ...context, rowGroup, column },
        );
      }
      return { rowGroup, column, offset, length };
    }),
  );
}

/** The byte span holding every column and offset index, if the file has a page index. */
export function pageIndexRange(metadata: FileMetaData): ResolvedRange | undefined {
  let lo = Infinity;
  let hi = -Infinity;
  for (const rg of metadata.row_groups) {
    for (const c of rg.columns) {
      for (const [off, len] of [
        [c.column_index_offset, c.column_index_length],
        [c.offset_index_offset, c.offset_index_length],
      ] as const) {
        if (off === undefined || len === undefined) continue;
        lo = Math.min(lo, Number(off));
        hi = Math.max(hi, Number(off) + len);
      }
    }
  }
  return lo < hi ? { offset: lo, length: hi - lo } : undefined;
}
