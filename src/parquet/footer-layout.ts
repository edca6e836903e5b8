/**
 * What planning needs from a Parquet footer, read in one skipping walk over the Thrift
 * FileMetaData: the schema, row counts, and each column chunk's path and byte offsets (data,
 * dictionary, page index, bloom filter). Statistics, encodings, key/value metadata and the rest are
 * walked over, not decoded: on a wide file (320 columns × 4 row groups, a 166 KiB footer) this takes
 * a fraction of hyparquet's full `parquetMetadata`, which is what lets an open send its data request
 * that much sooner. The full metadata is parsed later, on first use (see `ParsedFooter`). An open
 * skims (`skimFooterLayout`): each chunk's ColumnMetaData, most of the footer, is walked over and
 * read when a plan first takes the chunk (a projection of 2 of the wide file's 320 columns reads 8
 * of its 1,280); `readFooterLayout` reads them all.
 *
 * It is not a second Thrift decoder: it walks with hyparquet's primitives (src/parquet/thrift-walk.ts:
 * its varint and zigzag readers on the bytes, its own `readZigZagBigInt`), and the head of the FileMetaData (version, schema, num_rows,
 * key/value metadata, created_by) is converted by hyparquet's `parquetMetadata` itself, run on those
 * fields alone. The walk fails wherever hyparquet's parse of the same bytes would (truncation, an
 * unknown Thrift type, a struct without STOP, a value its conversion cannot take), and in a few more
 * places (a value of a nonsensical Thrift type that hyparquet would coerce): so a footer the walk
 * accepts is one `parquetMetadata` parses, with the same offsets (test/parquet/footer-layout.test.ts
 * checks both on every file in parquet-testing and on damaged copies). A skim checks the Thrift
 * structure of what it walks over, and a chunk's ColumnMetaData as the full walk does when it is read.
 */
import { parquetMetadata, type FileMetaData, type KeyValue, type SchemaElement } from 'hyparquet';
import { markGeoColumns } from 'hyparquet/src/geoparquet.js';
import { BINARY, LIST, listHeader, listSize, listType, nextField, readInt, readString, skip, skipElement, skipStructNoting, STOP, STRUCT, truthy, type ThriftCursor } from './thrift-walk.js';

/** A Thrift integer as hyparquet gives it (bigint for i64) or as the walk gives it (number). */
export type ThriftInt = number | bigint;

/** A column chunk's location fields (hyparquet's `ColumnChunk` is one). */
export interface ColumnChunkLayout {
  file_path?: string | undefined;
  meta_data?: ColumnMetaDataLayout | undefined;
  offset_index_offset?: ThriftInt | undefined;
  offset_index_length?: ThriftInt | undefined;
  column_index_offset?: ThriftInt | undefined;
  column_index_length?: ThriftInt | undefined;
  crypto_metadata?: unknown;
  encrypted_column_metadata?: unknown;
}

/** A column chunk's path and page offsets (hyparquet's `ColumnMetaData` is one). */
export interface ColumnMetaDataLayout {
  path_in_schema: string[];
  total_compressed_size: ThriftInt;
  data_page_offset: ThriftInt;
  dictionary_page_offset?: ThriftInt | undefined;
  bloom_filter_offset?: ThriftInt | undefined;
  bloom_filter_length?: ThriftInt | undefined;
}

export interface RowGroupLayout {
  columns: ColumnChunkLayout[];
  num_rows: ThriftInt;
}

/**
 * The planning part of a FileMetaData: a structural subset of hyparquet's `FileMetaData`, so the
 * functions that read chunk ranges, the page index region and bloom filter ranges take either.
 * `schema` and the other head fields are hyparquet's own conversion.
 */
export interface MetadataLayout {
  version?: number | undefined;
  schema: SchemaElement[];
  num_rows: ThriftInt;
  row_groups: RowGroupLayout[];
  key_value_metadata?: KeyValue[] | undefined;
  created_by?: string | undefined;
}

/** FileMetaData fields hyparquet converts besides row_groups (4): version, schema, num_rows, key_value_metadata, created_by. */
const HEAD_FIELDS = [1, 2, 3, 5, 6] as const;
const ROW_GROUPS_FIELD = 4;

interface Reader extends ThriftCursor {
  /** What the last ColumnMetaData read held as statistics. */
  chunkStats: ColumnStats;
  /** By column index, the first path_in_schema read there and its encoding (later row groups mostly repeat it). */
  paths: ({ value: string[]; start: number; length: number } | undefined)[];
}

/** A skimmed footer, kept by its chunks to read their ColumnMetaData later. */
interface Walk extends Reader {
  /** The schema's leaf elements (hyparquet converts a chunk's statistics by its column's). */
  leaves: SchemaElement[];
  /** What an error found reading a ColumnMetaData becomes (the open's `METADATA_CORRUPT`). */
  fail: (err: unknown) => unknown;
}

/**
 * The planning layout of a footer: `footer` is the Thrift FileMetaData followed by its 4-byte length
 * and `PAR1` (what hyparquet's `parquetMetadata` takes). Throws a plain `Error` (or hyparquet's)
 * when the bytes are not a FileMetaData hyparquet could parse; the caller types it. Every chunk is
 * read (plain objects): `skimFooterLayout`, then each chunk's ColumnMetaData.
 */
export function readFooterLayout(footer: Uint8Array): MetadataLayout {
  const skimmed = skimFooterLayout(footer, (err) => err);
  return { ...skimmed, row_groups: skimmed.row_groups.map((rg) => ({ num_rows: rg.num_rows, columns: rg.columns.map(plainChunk) })) };
}

/**
 * The layout of a footer as an open needs it first: the head converted, each row group's row count
 * and its column chunks located, with their top-level fields (page index offsets, file path,
 * encryption); each chunk's ColumnMetaData (path, offsets, statistics: most of a wide footer) is
 * walked over here, structure checked, and read on first use of its `meta_data`, once. A projection
 * of 2 of 320 columns reads 8 of 1,280 (the data request goes out that much sooner). An error found
 * then is passed through `fail` (the open types it `METADATA_CORRUPT`), so a chunk a read never
 * plans is never checked beyond its Thrift structure: that is hyparquet's full parse's work, on
 * first use of the full metadata.
 */
export function skimFooterLayout(footer: Uint8Array, fail: (err: unknown) => unknown): MetadataLayout {
  const view = new DataView(footer.buffer, footer.byteOffset, footer.byteLength);
  if (view.byteLength < 8) throw new Error('parquet file is too short');
  if (view.getUint32(view.byteLength - 4, true) !== 0x31524150) throw new Error('parquet file invalid (footer != PAR1)');
  const metadataLength = view.getUint32(view.byteLength - 8, true);
  if (metadataLength > view.byteLength - 8) throw new Error(`parquet metadata length ${metadataLength} exceeds available buffer ${view.byteLength - 8}`);
  const r: Walk = { view, bytes: footer, offset: view.byteLength - 8 - metadataLength, chunkStats: 'none', paths: [], leaves: [], fail };

  const head = new Map<number, { type: number; start: number; end: number }>();
  let rowGroups: RowGroupLayout[] | undefined;
  for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
    fid = h >> 4;
    const type = h & 0x0f;
    if (fid === ROW_GROUPS_FIELD) {
      if (type !== LIST) throw new Error('parquet metadata: row_groups is not a list');
      const header = listHeader(r);
      const elemType = listType(header);
      const size = listSize(header);
      if (size > 0 && elemType !== STRUCT) throw new Error('parquet metadata: a row group is not a struct');
      rowGroups = [];
      for (let i = 0; i < size; i++) rowGroups.push(readRowGroup(r));
    } else if ((HEAD_FIELDS as readonly number[]).includes(fid)) {
      const start = r.offset;
      skip(r, type);
      head.set(fid, { type, start, end: r.offset });
    } else {
      skip(r, type);
    }
  }
  if (!rowGroups) throw new Error('parquet metadata has no row_groups');

  const converted = hyparquetMetadata(headOnly(footer, head));
  // hyparquet converts a chunk's statistics with its column's schema element (`checkStats`).
  r.leaves = converted.schema.filter((e) => e.type);
  return {
    version: converted.version,
    schema: converted.schema,
    num_rows: converted.num_rows,
    row_groups: rowGroups,
    key_value_metadata: converted.key_value_metadata,
    created_by: converted.created_by,
  };
}

/**
 * hyparquet's `parquetMetadata`, guarded against one corrupt input: its GeoParquet pass loops forever
 * on a schema element with a negative `num_children` (a damaged footer did that). It runs with that
 * pass off, checks the counts, then runs the pass itself: the same result otherwise.
 */
export function hyparquetMetadata(footer: Uint8Array): FileMetaData {
  const metadata = parquetMetadata(footer, { geoparquet: false });
  for (const e of metadata.schema) {
    if (e.num_children !== undefined && e.num_children < 0) throw new Error(`parquet schema element ${JSON.stringify(e.name)} has ${e.num_children} children`);
  }
  markGeoColumns(metadata.schema, metadata.key_value_metadata);
  return metadata;
}

/**
 * A FileMetaData of the head fields alone (copied as they are) and an empty row_groups list, with
 * its length and magic: what `parquetMetadata` converts in no time.
 */
function headOnly(footer: Uint8Array, head: Map<number, { type: number; start: number; end: number }>): Uint8Array {
  const parts: Uint8Array[] = [];
  let last = 0;
  for (const fid of [1, 2, 3, ROW_GROUPS_FIELD, 5, 6]) {
    if (fid === ROW_GROUPS_FIELD) {
      parts.push(Uint8Array.of(((fid - last) << 4) | LIST, STRUCT)); // an empty list of structs
      last = fid;
      continue;
    }
    const f = head.get(fid);
    if (!f) continue;
    parts.push(Uint8Array.of(((fid - last) << 4) | f.type), footer.subarray(f.start, f.end));
    last = fid;
  }
  parts.push(Uint8Array.of(STOP));
  const length = parts.reduce((n, p) => n + p.byteLength, 0);
  const out = new Uint8Array(length + 8);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.byteLength;
  }
  const view = new DataView(out.buffer);
  view.setUint32(length, length, true);
  view.setUint32(length + 4, 0x31524150, true);
  return out;
}

function readRowGroup(r: Walk): RowGroupLayout {
  let columns: ColumnChunkLayout[] | undefined;
  let numRows: ThriftInt | undefined;
  for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
    fid = h >> 4;
    const type = h & 0x0f;
    if (fid === 1) {
      if (type !== LIST) throw new Error("parquet metadata: a row group's columns is not a list");
      const header = listHeader(r);
      const elemType = listType(header);
      const size = listSize(header);
      columns = [];
      // hyparquet reads an element that is not a struct as a chunk with no fields.
      for (let i = 0; i < size; i++) columns.push(elemType === STRUCT ? skimColumnChunk(r, i) : (skipElement(r, elemType), {}));
    } else if (fid === 3) numRows = readInt(r, type);
    else if (fid === 4) mappable(r, type, 'sorting_columns');
    else skip(r, type);
  }
  if (!columns) throw new Error('parquet metadata: a row group has no columns');
  return { columns, num_rows: numRows as ThriftInt };
}

/**
 * A column chunk of a skimmed footer: its own fields read, its ColumnMetaData (`meta_data`) read
 * from the footer on first use, then kept.
 */
class SkimmedChunk implements ColumnChunkLayout {
  file_path: string | undefined = undefined;
  offset_index_offset: ThriftInt | undefined = undefined;
  offset_index_length: ThriftInt | undefined = undefined;
  column_index_offset: ThriftInt | undefined = undefined;
  column_index_length: ThriftInt | undefined = undefined;
  crypto_metadata: unknown = undefined;
  encrypted_column_metadata: unknown = undefined;
  /** Where its ColumnMetaData struct starts in the footer; -1 for none. */
  metaAt = -1;
  private meta: ColumnMetaDataLayout | undefined = undefined;

  constructor(
    private readonly walk: Walk,
    /** Its index in the row group (its column's, in a file in schema order). */
    private readonly column: number,
  ) {}

  get meta_data(): ColumnMetaDataLayout | undefined {
    if (this.metaAt < 0) return undefined;
    if (this.meta) return this.meta;
    const r = this.walk;
    const at = r.offset;
    r.offset = this.metaAt;
    try {
      const meta = readColumnMetaData(r, this.column);
      checkStats(r.chunkStats, this.column, r.leaves);
      this.meta = meta;
      return meta;
    } catch (err) {
      throw r.fail(err);
    } finally {
      r.offset = at;
    }
  }
}

/** Whether a chunk has a ColumnMetaData, without reading a skimmed one's. */
export function hasColumnMetaData(chunk: ColumnChunkLayout): boolean {
  return chunk instanceof SkimmedChunk ? chunk.metaAt >= 0 : chunk.meta_data !== undefined;
}

/** A chunk as a plain object (a skimmed one's ColumnMetaData read). */
function plainChunk(c: ColumnChunkLayout): ColumnChunkLayout {
  if (!(c instanceof SkimmedChunk)) return c;
  return {
    file_path: c.file_path,
    meta_data: c.meta_data,
    offset_index_offset: c.offset_index_offset,
    offset_index_length: c.offset_index_length,
    column_index_offset: c.column_index_offset,
    column_index_length: c.column_index_length,
    crypto_metadata: c.crypto_metadata,
    encrypted_column_metadata: c.encrypted_column_metadata,
  };
}

function skimColumnChunk(r: Walk, column: number): ColumnChunkLayout {
  const chunk = new SkimmedChunk(r, column);
  for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
    fid = h >> 4;
    const type = h & 0x0f;
    switch (fid) {
      case 1:
        chunk.file_path = readString(r, type, 'file_path');
        break;
      case 3:
        if (type === STRUCT) {
          chunk.metaAt = r.offset;
          skip(r, STRUCT);
        } else if (truthy(r, type)) throw new Error("parquet metadata: a column chunk's meta_data is not a struct");
        else chunk.metaAt = -1;
        break;
      case 4:
        chunk.offset_index_offset = readInt(r, type);
        break;
      case 5:
        chunk.offset_index_length = readInt(r, type);
        break;
      case 6:
        chunk.column_index_offset = readInt(r, type);
        break;
      case 7:
        chunk.column_index_length = readInt(r, type);
        break;
      case 8:
        chunk.crypto_metadata = truthy(r, type) || undefined;
        break;
      case 9:
        chunk.encrypted_column_metadata = truthy(r, type) || undefined;
        break;
      default:
        skip(r, type);
    }
  }
  return chunk;
}

/** hyparquet converts a chunk's statistics by its column's schema element: it must exist, and a min/max that is not bytes only converts for a BOOLEAN column. */
function checkStats(stats: ColumnStats, column: number, leaves: readonly SchemaElement[]): void {
  if (stats === 'none') return;
  if (column >= leaves.length) throw new Error(`parquet metadata: statistics for column ${column}, but the schema has ${leaves.length} leaf columns`);
  if (stats === 'other' && leaves[column]?.type !== 'BOOLEAN') throw new Error(`parquet metadata: a min/max statistic of column ${column} is not binary`);
}

/**
 * What hyparquet's statistics conversion will meet: no statistics, statistics it converts by the
 * column's schema element (which must exist), or a min/max that is not bytes (only a BOOLEAN column
 * converts that).
 */
type ColumnStats = 'none' | 'bytes' | 'other';

function readColumnMetaData(r: Reader, column: number): ColumnMetaDataLayout {
  r.chunkStats = 'none';
  let path: string[] | undefined;
  // Missing required fields stay undefined, as in hyparquet's parse (the range checks then reject the chunk).
  const meta = {} as ColumnMetaDataLayout;
  for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
    fid = h >> 4;
    const type = h & 0x0f;
    switch (fid) {
      case 2:
        mappable(r, type, 'encodings');
        break;
      case 3:
        if (type !== LIST) throw new Error('parquet metadata: path_in_schema is not a list');
        path = readPath(r, column);
        break;
      case 7:
        meta.total_compressed_size = readInt(r, type);
        break;
      case 8:
        keyValues(r, type);
        break;
      case 9:
        meta.data_page_offset = readInt(r, type);
        break;
      case 11:
        meta.dictionary_page_offset = readInt(r, type);
        break;
      case 12:
        r.chunkStats = type === STRUCT ? statistics(r) : truthy(r, type) ? 'bytes' : 'none';
        break;
      case 13:
        mappable(r, type, 'encoding_stats');
        break;
      case 14:
        meta.bloom_filter_offset = readInt(r, type);
        break;
      case 15:
        meta.bloom_filter_length = readInt(r, type);
        break;
      default:
        skip(r, type);
    }
  }
  if (!path) throw new Error('parquet metadata: a column chunk has no path_in_schema');
  meta.path_in_schema = path;
  return meta;
}

/**
 * A path_in_schema list. The encoding is self-delimiting, so bytes equal to the first path read for
 * this column index are that path: later row groups share its array instead of decoding it again.
 */
function readPath(r: Reader, column: number): string[] {
  const start = r.offset;
  const seen = r.paths[column];
  if (seen && start + seen.length <= r.bytes.byteLength) {
    const bytes = r.bytes;
    let same = true;
    for (let i = 0; i < seen.length; i++) {
      if (bytes[start + i] !== bytes[seen.start + i]) {
        same = false;
        break;
      }
    }
    if (same) {
      r.offset += seen.length;
      return seen.value;
    }
  }
  const header = listHeader(r);
  const elemType = listType(header);
  const size = listSize(header);
  if (size > 0 && elemType !== BINARY) throw new Error('parquet metadata: path_in_schema is not a list of strings');
  const path: string[] = [];
  for (let i = 0; i < size; i++) path.push(readString(r, BINARY, 'path_in_schema') as string);
  r.paths[column] ??= { value: path, start, length: r.offset - start };
  return path;
}

/** Statistics fields holding a min/max value: max (1), min (2), max_value (5), min_value (6). */
const MIN_MAX_FIELDS = (1 << 1) | (1 << 2) | (1 << 5) | (1 << 6);

/** Walks a Statistics struct: whether its min/max values (fields 1, 2, 5, 6) are all bytes. */
function statistics(r: Reader): ColumnStats {
  return skipStructNoting(r, MIN_MAX_FIELDS, BINARY) ? 'other' : 'bytes';
}

/** A list of KeyValue structs: hyparquet decodes each key and value as a string. */
function keyValues(r: Reader, type: number): void {
  if (type !== LIST) return mappable(r, type, 'key_value_metadata');
  const header = listHeader(r);
  const elemType = listType(header);
  const size = listSize(header);
  for (let i = 0; i < size; i++) {
    if (elemType !== STRUCT) {
      skipElement(r, elemType);
      continue;
    }
    for (let fid = 0, h = nextField(r, 0); h !== STOP; h = nextField(r, fid)) {
      fid = h >> 4;
      const t = h & 0x0f;
      if (fid === 1 || fid === 2) readString(r, t, 'key_value_metadata');
      else skip(r, t);
    }
  }
}

/** A field hyparquet calls `.map` on: a list (or bytes); anything else makes it throw. */
function mappable(r: Reader, type: number, name: string): void {
  if (type !== LIST && type !== BINARY) throw new Error(`parquet metadata: ${name} is not a list`);
  skip(r, type);
}

