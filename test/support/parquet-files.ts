/**
 * Parquet files written for tests by hyparquet-writer: two columns (`id` INT32 required, `word`
 * UTF8 optional), `rows` rows in row groups of `rowGroupSize`, and optionally empty row groups
 * (num_rows 0, every column chunk 0 bytes) spliced into the footer at the given positions — some
 * writers produce those, and both decoders read them as empty. `emptyChunkOffset` says where their
 * 0-byte chunks point: `'zero'` (offset 0, inside the leading magic) or `'end'` (the end of the data).
 */
import { ByteWriter, ParquetWriter } from 'hyparquet-writer';
import type { RowGroup, SchemaElement } from 'hyparquet';

export interface TestParquetOptions {
  rows: number;
  rowGroupSize?: number;
  /** Indices in the final row group list where empty row groups go (e.g. [0] first, [1] second). */
  emptyRowGroups?: number[];
  emptyChunkOffset?: 'zero' | 'end';
  /** Added to every id: two versions of one file with different content (same size when equal widths). */
  idBase?: number;
}

const SCHEMA: SchemaElement[] = [
  { name: 'root', num_children: 2 },
  { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' },
  { name: 'word', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
];

/** The rows such a file holds, as `readObjects` returns them. */
export function testRows(rows: number, idBase = 0): { id: number; word: string }[] {
  return Array.from({ length: rows }, (_, i) => ({ id: idBase + i, word: `w${(idBase + i) % 1000}` }));
}

export function testParquet(opts: TestParquetOptions): Uint8Array {
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: SCHEMA, statistics: false });
  const rows = testRows(opts.rows, opts.idBase ?? 0);
  if (rows.length > 0) {
    pw.write({
      columnData: [
        { name: 'id', data: Int32Array.from(rows, (r) => r.id) },
        { name: 'word', data: rows.map((r) => r.word) },
      ],
      rowGroupSize: opts.rowGroupSize ?? 1000,
    });
  }
  const offset = opts.emptyChunkOffset === 'end' ? BigInt(writer.offset) : 0n;
  for (const at of opts.emptyRowGroups ?? []) {
    const empty: RowGroup = {
      num_rows: 0n,
      total_byte_size: 0n,
      columns: SCHEMA.slice(1).map((e) => ({
        file_offset: 0n,
        meta_data: {
          type: e.type as NonNullable<SchemaElement['type']>,
          encodings: ['PLAIN'],
          path_in_schema: [e.name],
          codec: 'SNAPPY',
          num_values: 0n,
          total_uncompressed_size: 0n,
          total_compressed_size: 0n,
          data_page_offset: offset,
        },
      })),
    };
    pw.row_groups.splice(at, 0, empty);
  }
  pw.finish();
  return new Uint8Array(writer.getBuffer());
}

/**
 * A Parquet file whose size is set by its rows: `id` INT32 and `blob`, a BYTE_ARRAY of `rowBytes`
 * seeded pseudo-random bytes each (incompressible), in row groups of `rowGroupSize`. Sizes come out
 * at `rows × rowBytes` plus a few KiB: fast to write (no string building), for tests about windows.
 */
export function blobParquet(rows: number, rowBytes = 1000, rowGroupSize = 500, seed = 1): Uint8Array {
  let a = seed >>> 0;
  const next = (): number => {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0; // LCG: any fixed bytes will do
    return a;
  };
  const blobs = Array.from({ length: rows }, () => {
    const u = new Uint8Array(rowBytes);
    for (let i = 0; i < rowBytes; i++) u[i] = next() >>> 24;
    return u;
  });
  const writer = new ByteWriter();
  const pw = new ParquetWriter({ writer, schema: [{ name: 'root', num_children: 2 }, { name: 'id', type: 'INT32', repetition_type: 'REQUIRED' }, { name: 'blob', type: 'BYTE_ARRAY', repetition_type: 'REQUIRED' }], statistics: false });
  if (rows > 0) pw.write({ columnData: [{ name: 'id', data: Int32Array.from({ length: rows }, (_, i) => i) }, { name: 'blob', data: blobs }], rowGroupSize });
  pw.finish();
  return new Uint8Array(writer.getBuffer());
}

/** The rows of `shapedParquet`: `a` = i, `b` = 1000 + i. */
export const SHAPED_ROWS = Array.from({ length: 40 }, (_, i) => ({ a: i, b: 1000 + i }));

/**
 * A small file of two columns, `a` INT32 and `b` DOUBLE (their chunks differ in size; SHAPED_ROWS,
 * row groups of 10), whose footer
 * `shape` rewrites before it is written — shapes other writers produce: a row group listing its
 * chunks out of schema order, an empty group (`num_children: 0`) in the schema.
 */
export function shapedParquet(shape: (footer: { schema: SchemaElement[]; row_groups: RowGroup[] }) => void): Uint8Array {
  const writer = new ByteWriter();
  const schema: SchemaElement[] = [
    { name: 'root', num_children: 2 },
    { name: 'a', type: 'INT32', repetition_type: 'REQUIRED' },
    { name: 'b', type: 'DOUBLE', repetition_type: 'REQUIRED' },
  ];
  const pw = new ParquetWriter({ writer, schema, statistics: false });
  pw.write({ columnData: [{ name: 'a', data: Int32Array.from(SHAPED_ROWS, (r) => r.a) }, { name: 'b', data: Float64Array.from(SHAPED_ROWS, (r) => r.b) }], rowGroupSize: 10 });
  shape(pw);
  pw.finish();
  return new Uint8Array(writer.getBuffer());
}
