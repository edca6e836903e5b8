import { parquetSchema, type FileMetaData, type SchemaElement, type SchemaTree } from 'hyparquet';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { ResolvedRange } from '../types.js';
import type { Tail } from './footer.js';
import { hasColumnMetaData, hyparquetMetadata, skimFooterLayout, type ColumnChunkLayout, type ColumnMetaDataLayout, type MetadataLayout } from './footer-layout.js';

/** The bytes of one column chunk in one row group: `[offset, offset + length)`. */
export interface ColumnChunkRange extends ResolvedRange {
  rowGroup: number;
  /** Leaf column path joined with '.', e.g. `a`, `s.x`, `l.list.element`. */
  column: string;
}

/**
 * Every column chunk must name a node of the schema. hyparquet resolves these paths while it starts
 * its column reads, so a dangling one (bad_data/ARROW-GH-41317) makes it throw with reads already in
 * flight, whose rejections then escape as an unhandled rejection: catch it here, before any read.
 */
const schemas = new WeakMap<{ schema: SchemaElement[] }, SchemaTree>();

/**
 * Leaf column paths (`a`, `s.x`, `l.list.element`) of a schema tree, in schema order: what each row
 * group's chunks are, in order. A leaf is a typed element (as hyparquet decides): an empty group
 * (`num_children: 0`, no type) has no chunks and is no column.
 */
export function leafColumns(schema: SchemaTree): string[] {
  const out: string[] = [];
  const walk = (node: SchemaTree, path: string[]): void => {
    if (node.children.length === 0 && node.element.type !== undefined) out.push(path.join('.'));
    for (const child of node.children) walk(child, [...path, child.element.name]);
  };
  walk(schema, []);
  return out;
}

/** hyparquet's schema tree for a metadata object (or a footer's layout), built once. */
export function schemaOf(metadata: { schema: SchemaElement[] }): SchemaTree {
  let tree = schemas.get(metadata);
  if (!tree) {
    tree = parquetSchema(metadata);
    schemas.set(metadata, tree);
  }
  return tree;
}

/** Every path of a schema tree from its root, as one key each (names joined by NUL), made once per tree. */
const schemaPaths = new WeakMap<SchemaTree, Set<string>>();

/** Path arrays found in their schema (a footer layout shares one array across row groups). */
const pathsInSchema = new WeakSet<string[]>();

/** Throws when a chunk's path names no node of the schema (the message `checkedParse` and `columnChunkRange` report). */
function checkSchemaPath(path: string[], tree: SchemaTree, rowGroup: number): void {
  if (pathsInSchema.has(path)) return;
  let paths = schemaPaths.get(tree);
  if (!paths) {
    const all = new Set<string>();
    const walk = (node: SchemaTree, prefix: string): void => {
      for (const child of node.children) {
        const key = prefix === '' ? child.element.name : `${prefix}\u0000${child.element.name}`;
        all.add(key);
        walk(child, key);
      }
    };
    walk(tree, '');
    schemaPaths.set(tree, (paths = all));
  }
  if (!paths.has(path.join('\u0000'))) throw new Error(`column chunk ${path.join('.')} of row group ${rowGroup} is not in the schema`);
  pathsInSchema.add(path);
}

function checkSchemaPaths(metadata: MetadataLayout, tree: SchemaTree): void {
  metadata.row_groups.forEach((rg, rowGroup) => {
    for (const chunk of rg.columns) {
      const path = chunk.meta_data?.path_in_schema;
      if (path) checkSchemaPath(path, tree, rowGroup); // no metadata: reported by columnChunkRanges
    }
  });
}

/**
 * Parses the Thrift FileMetaData held at the end of `tail` (hyparquet, which keeps real page offsets),
 * and checks that its schema builds and that every column chunk names a schema node.
 */
export function parseMetadata(tail: Tail, context: ErrorContext): FileMetaData {
  return checkedParse(tail, context, hyparquetMetadata);
}

/** The footer (metadata, length and magic) at the end of a tail. */
function footerOf(tail: Tail): Uint8Array {
  return tail.bytes.subarray(tail.bytes.byteLength - tail.metadataLength - 8);
}

/** Runs a parse of the footer in `tail` and the schema path check; any failure is `METADATA_CORRUPT`. */
function checkedParse<T extends MetadataLayout>(tail: Tail, context: ErrorContext, parse: (footer: Uint8Array) => T): T {
  try {
    const metadata = parse(footerOf(tail));
    checkSchemaPaths(metadata, schemaOf(metadata));
    return metadata;
  } catch (err) {
    throw corruptMetadata(err, tail.meta.size, tail.metadataLength, context);
  }
}

/** The `METADATA_CORRUPT` error of a footer (`metadataLength` bytes before the file's last 8) that a parse or a check rejected with `err`. */
function corruptMetadata(err: unknown, size: number, metadataLength: number, context: ErrorContext): ReaderError {
  if (err instanceof ReaderError) return err;
  const metadataOffset = size - metadataLength - 8;
  return new ReaderError(
    'InvalidData',
    `corrupt Parquet metadata (${metadataLength} bytes at offset ${metadataOffset}): ${err instanceof Error ? err.message : String(err)}`,
    { ...context, metadataOffset, metadataLength },
    { code: 'METADATA_CORRUPT', cause: err },
  );
}

/**
 * A footer read for planning first: its layout (schema, row counts, chunk offsets: see
 * footer-layout.ts) at once, the full hyparquet `FileMetaData` on first use of `metadata`. The
 * open's skim checks each ColumnMetaData's Thrift structure but reads its fields only when a plan
 * takes the chunk, so a footer the skim accepts may still fail hyparquet's full parse (a bad value
 * in a chunk no plan took: 76 of 2,000 seeded damaged footers): `metadata` then throws the same
 * `METADATA_CORRUPT` as an eager parse would have at open.
 */
export class ParsedFooter {
  private full: FileMetaData | undefined;
  private readonly tail: Tail;

  private constructor(
    readonly layout: MetadataLayout,
    /** The footer: Thrift metadata + length + magic (its own copy when the tail held more). */
    readonly bytes: Uint8Array,
    readonly metadataLength: number,
    size: number,
    private readonly context: ErrorContext,
  ) {
    this.tail = { meta: { size }, bytes, offset: size - bytes.byteLength, metadataLength, requests: 0 };
  }

  /**
   * Skims the layout of the footer at the end of `tail` (`METADATA_CORRUPT` if it is not one; see
   * `skimFooterLayout`): a chunk's ColumnMetaData is read, and checked, on first use, and a failure
   * then is the same `METADATA_CORRUPT`.
   */
  static read(tail: Tail, context: ErrorContext): ParsedFooter {
    const footer = footerOf(tail);
    // A copy of only the footer when the bytes are a view of more (the tail window may be a whole
    // small file, or a view of a larger buffer); a footer in its own buffer is kept as it is. The
    // layout reads its chunks from it later.
    const own = footer.byteOffset === 0 && footer.byteLength === footer.buffer.byteLength;
    const bytes = own ? footer : new Uint8Array(footer);
    const fail = (err: unknown) => corruptMetadata(err, tail.meta.size, tail.metadataLength, context);
    let layout: MetadataLayout;
    try {
      layout = skimFooterLayout(bytes, fail);
    } catch (err) {
      throw fail(err);
    }
    return new ParsedFooter(layout, bytes, tail.metadataLength, tail.meta.size, context);
  }

  /** A footer whose full metadata is already parsed (e.g. a cache entry made elsewhere). */
  static of(metadata: FileMetaData, bytes: Uint8Array, metadataLength: number, size: number, context: ErrorContext): ParsedFooter {
    const footer = new ParsedFooter(metadata, bytes, metadataLength, size, context);
    footer.full = metadata;
    return footer;
  }

  /** Whether the full metadata has been parsed yet. */
  get parsed(): boolean {
    return this.full !== undefined;
  }

  /** hyparquet's full FileMetaData, parsed on first use (then kept). */
  get metadata(): FileMetaData {
    this.full ??= parseMetadata(this.tail, this.context);
    return this.full;
  }
}

function toNumber(v: bigint | number | undefined): number | undefined {
  return v === undefined ? undefined : Number(v);
}

/**
 * The byte range of every column chunk, by row group (`columnChunkRange` of each). A footer layout
 * read by an open reads every chunk's ColumnMetaData for this: a plan asks `columnChunkRange` of the
 * chunks it reads.
 */
export function columnChunkRanges(metadata: MetadataLayout, size: number, metadataLength: number, context: ErrorContext): ColumnChunkRange[][] {
  return metadata.row_groups.map((rg, rowGroup) => rg.columns.map((chunk, i) => columnChunkRange(metadata, chunk, rowGroup, i, size, metadataLength, context)));
}

/** What a column's chunks are named: the path joined with '.', made once per path array (a footer layout shares one across row groups). */
const pathNames = new WeakMap<string[], string>();

function nameOf(path: string[]): string {
  let name = pathNames.get(path);
  if (name === undefined) pathNames.set(path, (name = path.join('.')));
  return name;
}

/**
 * A chunk's encryption or external file, which no read supports: `Unsupported` (the open checks every
 * chunk, `checkChunksReadable`), without reading a skimmed chunk's ColumnMetaData unless it has to
 * name the column.
 */
function unreadableChunk(chunk: ColumnChunkLayout, rowGroup: number, i: number, context: ErrorContext): ReaderError | undefined {
  if (!hasColumnMetaData(chunk)) {
    return new ReaderError('Unsupported', `row group ${rowGroup} column ${i} has no metadata (encrypted or external column)`, context, { code: 'ENCRYPTED' });
  }
  if (chunk.crypto_metadata || chunk.encrypted_column_metadata) {
    // An encrypted file with a plaintext footer (its magic is PAR1, not PARE): still encrypted.
    return new ReaderError('Unsupported', `encrypted Parquet files are not supported (column ${chunkName(chunk, `${i}`)} is encrypted)`, context, { code: 'ENCRYPTED' });
  }
  if (chunk.file_path) {
    return new ReaderError('Unsupported', `column chunks in other files (file_path ${JSON.stringify(chunk.file_path)}) are not supported`, context, { code: 'EXTERNAL_COLUMN_CHUNK' });
  }
  return undefined;
}

/**
 * A chunk's column path for a message, without letting its read fail the message: a skimmed chunk's
 * ColumnMetaData is read here first, and may not read; then `fallback` (its index, or '?') names it.
 */
function chunkName(chunk: ColumnChunkLayout, fallback: string): string {
  try {
    return (chunk.meta_data as ColumnMetaDataLayout | undefined)?.path_in_schema.join('.') ?? fallback;
  } catch {
    return fallback;
  }
}

/** Every chunk is one a read can take (`unreadableChunk`): what an open checks of all of them, their ColumnMetaData unread. */
export function checkChunksReadable(metadata: MetadataLayout, context: ErrorContext): void {
  const groups = metadata.row_groups;
  for (let rowGroup = 0; rowGroup < groups.length; rowGroup++) {
    const columns = (groups[rowGroup] as MetadataLayout['row_groups'][number]).columns;
    for (let i = 0; i < columns.length; i++) {
      const err = unreadableChunk(columns[i] as ColumnChunkLayout, rowGroup, i, context);
      if (err) throw err;
    }
  }
}

/**
 * The byte range of chunk `i` of a row group, checked: a chunk that is encrypted or in another file
 * is `Unsupported`; a path that names no schema node is `METADATA_CORRUPT` (hyparquet would throw
 * with reads in flight); a chunk outside `[4, size - footer)` is `InvalidData` before any fetch
 * (catalogue case 22). A chunk of 0 bytes is valid at any offset (it is fetched never), and
 * reported clamped into the file.
 */
export function columnChunkRange(metadata: MetadataLayout, chunk: ColumnChunkLayout, rowGroup: number, i: number, size: number, metadataLength: number, context: ErrorContext): ColumnChunkRange {
  const dataEnd = size - metadataLength - 8;
  const unreadable = unreadableChunk(chunk, rowGroup, i, context);
  if (unreadable) throw unreadable;
  const md = chunk.meta_data as ColumnMetaDataLayout;
  try {
    checkSchemaPath(md.path_in_schema, schemaOf(metadata), rowGroup);
  } catch (err) {
    throw corruptMetadata(err, size, metadataLength, context);
  }
  const column = nameOf(md.path_in_schema);
  const dict = toNumber(md.dictionary_page_offset);
  const data = toNumber(md.data_page_offset) as number;
  // The chunk starts at its first page: the dictionary page when there is one. Some writers set
  // dictionary_page_offset to 0 when there is none (dict-page-offset-zero.parquet); a chunk of
  // only a dictionary page has data_page_offset 0 (column_chunk_key_value_metadata.parquet).
  const offset = dict !== undefined && dict > 0 && (dict < data || data === 0) ? dict : data;
  const length = toNumber(md.total_compressed_size) as number;
  // A 0-byte chunk (a row group of 0 rows, as some writers leave) holds nothing to fetch: its
  // offset means nothing, and is often 0. It is valid wherever it points.
  if (length === 0 && Number.isSafeInteger(offset)) return { rowGroup, column, offset: Math.min(Math.max(offset, 0), Math.max(dataEnd, 0)), length: 0 };
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 4 || length < 0 || offset + length > dataEnd) {
    throw new ReaderError(
      'InvalidData',
      `corrupt Parquet metadata: column chunk ${column} of row group ${rowGroup} (bytes ${offset}+${length}) lies outside the data region [4, ${dataEnd})`,
      { ...context, rowGroup, column },
      { code: 'CHUNK_OUT_OF_FILE' },
    );
  }
  return { rowGroup, column, offset, length };
}

/**
 * The byte span holding every column and offset index, if the file has a page index. An index entry
 * that is not a safe integer or lies outside the data region `[4, size - footer)` is `InvalidData`
 * (like a column chunk outside the file: catalogue case 22), before anything is fetched. One pass
 * over the chunks with no allocation per chunk (a wide file has thousands): only the min and max.
 */
export function pageIndexRange(metadata: MetadataLayout, size: number, metadataLength: number, context: ErrorContext): ResolvedRange | undefined {
  const dataEnd = size - metadataLength - 8;
  let lo = Infinity;
  let hi = -Infinity;
  type Chunk = MetadataLayout['row_groups'][number]['columns'][number];
  /** Widens [lo, hi) by one index of a chunk, checked to lie in the data. */
  const add = (kind: string, c: Chunk, rowGroup: number, at: bigint | number | undefined, len: bigint | number | undefined): void => {
    if (at === undefined || len === undefined) return;
    const offset = Number(at);
    if (!indexInData(offset, Number(len), dataEnd)) throw indexOutOfFile(kind, c, rowGroup, at, len, dataEnd, context);
    if (offset < lo) lo = offset;
    if (offset + Number(len) > hi) hi = offset + Number(len);
  };
  const groups = metadata.row_groups;
  for (let rowGroup = 0; rowGroup < groups.length; rowGroup++) {
    const columns = (groups[rowGroup] as MetadataLayout['row_groups'][number]).columns;
    for (let i = 0; i < columns.length; i++) {
      const c = columns[i] as Chunk;
      add('column index', c, rowGroup, c.column_index_offset, c.column_index_length);
      add('offset index', c, rowGroup, c.offset_index_offset, c.offset_index_length);
    }
  }
  return lo < hi ? { offset: lo, length: hi - lo } : undefined;
}

function indexInData(offset: number, length: number, dataEnd: number): boolean {
  return Number.isSafeInteger(offset) && Number.isSafeInteger(length) && offset >= 4 && length >= 0 && offset + length <= dataEnd;
}

function indexOutOfFile(
  what: string,
  c: MetadataLayout['row_groups'][number]['columns'][number],
  rowGroup: number,
  off: unknown,
  len: unknown,
  dataEnd: number,
  context: ErrorContext,
): ReaderError {
  const column = chunkName(c, '?');
  return new ReaderError(
    'InvalidData',
    `corrupt Parquet metadata: the ${what} of column ${column} in row group ${rowGroup} (bytes ${String(off)}+${String(len)}) lies outside the data region [4, ${dataEnd})`,
    { ...context, rowGroup, column },
    { code: 'CHUNK_OUT_OF_FILE' },
  );
}
