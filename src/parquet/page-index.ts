/**
 * Page-level pruning with the page index (ColumnIndex: min/max per page; OffsetIndex: where each page
 * lies and its first row). Parsing takes the page index bytes; pruning is pure. A plan pruned to pages
 * suits decoders that read pages by row range (hyparquet with `useOffsetIndex`); decoders that read
 * whole column chunks (parquet-wasm) should plan chunks (`pages: false`).
 */
import { readColumnIndex, readOffsetIndex, type ColumnIndex, type FileMetaData, type OffsetIndex, type RowGroup, type SchemaTree } from 'hyparquet';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { ResolvedRange } from '../types.js';
import { mayMatch, type ColumnFilter, type RowGroupFilter } from './filter.js';
import type { ColumnChunkRange } from './metadata.js';

export interface ChunkPageIndex {
  columnIndex?: ColumnIndex;
  offsetIndex?: OffsetIndex;
}

/** Per row group, per column chunk (in the row group's column order). */
export type PageIndex = ChunkPageIndex[][];

/** Row intervals `[start, end)` within a row group, sorted and disjoint. */
export type RowRanges = [number, number][];

function leaf(tree: SchemaTree, path: readonly string[]): SchemaTree | undefined {
  let node: SchemaTree | undefined = tree;
  for (const part of path) node = node?.children.find((c) => c.element.name === part);
  return node;
}

/**
 * Parses every chunk's ColumnIndex and OffsetIndex from `bytes`, which hold the file's bytes from
 * `base` on (the page index region, or more). Corrupt entries are `InvalidData`.
 */
export function parsePageIndex(metadata: FileMetaData, tree: SchemaTree, bytes: Uint8Array, base: number, context: ErrorContext): PageIndex {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return metadata.row_groups.map((rg, g) =>
    rg.columns.map((chunk) => {
      const out: ChunkPageIndex = {};
      const path = chunk.meta_data?.path_in_schema ?? [];
      try {
        if (chunk.column_index_offset !== undefined && chunk.column_index_length) {
          const element = leaf(tree, path)?.element;
          if (element) out.columnIndex = readColumnIndex({ view, offset: Number(chunk.column_index_offset) - base }, element);
        }
        if (chunk.offset_index_offset !== undefined && chunk.offset_index_length) {
          out.offsetIndex = readOffsetIndex({ view, offset: Number(chunk.offset_index_offset) - base });
        }
      } catch (err) {
        throw new ReaderError('InvalidData', `corrupt page index for column ${path.join('.')} of row group ${g}`, { ...context, rowGroup: g }, { code: 'METADATA_CORRUPT', cause: err });
      }
      return out;
    }),
  );
}

function union(a: RowRanges, b: RowRanges): RowRanges {
  const all = [...a, ...b].sort((x, y) => x[0] - y[0]);
  const out: RowRanges = [];
  for (const [s, e] of all) {
    const last = out.at(-1);
    if (last && s <= last[1]) last[1] = Math.max(last[1], e);
    else out.push([s, e]);
  }
  return out;
}

function intersect(a: RowRanges, b: RowRanges): RowRanges {
  const out: RowRanges = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const [as, ae] = a[i] as [number, number];
    const [bs, be] = b[j] as [number, number];
    const s = Math.max(as, bs);
    const e = Math.min(ae, be);
    if (s < e) out.push([s, e]);
    if (ae < be) i++;
    else j++;
  }
  return out;
}

/** Rows of page `i` of an offset index: `[first_row_index, next page's first row or numRows)`. */
function pageRows(oi: OffsetIndex, i: number, numRows: number): [number, number] {
  const locs = oi.page_locations;
  return [Number(locs[i]?.first_row_index), i + 1 < locs.length ? Number(locs[i + 1]?.first_row_index) : numRows];
}

/**
 * The rows of a row group that may match `filter`, from page statistics. A column without a page
 * index (or a page without usable statistics) keeps its rows: never a missed row, only a missed saving.
 */
export function matchingRows(filter: RowGroupFilter, rowGroup: RowGroup, pages: readonly ChunkPageIndex[]): RowRanges {
  const numRows = Number(rowGroup.num_rows);
  const all: RowRanges = numRows > 0 ? [[0, numRows]] : [];
  if ('and' in filter) return filter.and.reduce((acc, f) => intersect(acc, matchingRows(f, rowGroup, pages)), all);
  if ('or' in filter) return filter.or.reduce((acc, f) => union(acc, matchingRows(f, rowGroup, pages)), [] as RowRanges);
  const f = filter as ColumnFilter;
  const i = rowGroup.columns.findIndex((c) => c.meta_data?.path_in_schema.join('.') === f.column);
  const ci = pages[i]?.columnIndex;
  const oi = pages[i]?.offsetIndex;
  if (i < 0 || !ci || !oi || ci.min_values.length !== oi.page_locations.length) return all;
  let out: RowRanges = [];
  oi.page_locations.forEach((_, p) => {
    if (ci.null_pages[p]) return; // only nulls: no comparison matches
    const min = ci.min_values[p];
    const max = ci.max_values[p];
    const keep = min === undefined || max === undefined || mayMatch(f, { min, max });
    if (keep) out = union(out, [pageRows(oi, p, numRows)]);
  });
  return out;
}

/**
 * The byte ranges of a column chunk that hold the rows in `rows`: the dictionary page (everything
 * before the first data page) and each data page overlapping the rows. Without an offset index: the chunk.
 */
export function chunkRangesForRows(chunk: ColumnChunkRange, pages: ChunkPageIndex | undefined, rows: RowRanges, numRows: number): ResolvedRange[] {
  const oi = pages?.offsetIndex;
  if (!oi || oi.page_locations.length === 0) return [{ offset: chunk.offset, length: chunk.length }];
  const out: ResolvedRange[] = [];
  const firstPage = Number(oi.page_locations[0]?.offset);
  if (firstPage > chunk.offset) out.push({ offset: chunk.offset, length: firstPage - chunk.offset });
  oi.page_locations.forEach((loc, p) => {
    const [s, e] = pageRows(oi, p, numRows);
    if (rows.some(([rs, re]) => rs < e && s < re)) out.push({ offset: Number(loc.offset), length: loc.compressed_page_size });
  });
  return out;
}
