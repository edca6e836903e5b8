/**
 * `brr inspect`'s per-column facts (`columnInfo`) on footers whose row groups do not list their
 * chunks in schema order: each column's sizes are its own chunks', found by path.
 */
import { describe, expect, it } from 'vitest';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { columnInfo } from '../../src/cli/inspect.js';
import { openParquet } from '../../src/parquet/source.js';
import { shapedParquet } from '../support/parquet-files.js';

describe('columnInfo', () => {
  it("a row group with its chunks out of schema order: each column's compressed and uncompressed bytes are its own chunks'", async () => {
    // Row group 0 lists b before a, the others keep schema order; b (DOUBLE) has larger chunks than a (INT32).
    const file = shapedParquet((f) => f.row_groups[0]?.columns.reverse());
    const source = await openParquet(memoryBackend({ f: file }), 'f', { metadataCache: false });
    const byPath = (column: string, field: 'total_compressed_size' | 'total_uncompressed_size') =>
      source.metadata.row_groups.reduce((n, rg) => n + Number(rg.columns.find((c) => c.meta_data?.path_in_schema.join('.') === column)?.meta_data?.[field] ?? 0), 0);
    const info = columnInfo(source);
    expect(info.map((c) => c.name)).toEqual(['a', 'b']);
    for (const c of info) {
      expect(c.compressedBytes).toBe(byPath(c.name, 'total_compressed_size'));
      expect(c.uncompressedBytes).toBe(byPath(c.name, 'total_uncompressed_size'));
    }
    expect(info.map((c) => c.type)).toEqual(['INT32', 'DOUBLE']);
    expect(info[0]?.compressedBytes).not.toBe(info[1]?.compressedBytes);
    await source.close();
  });
});
