/**
 * Split-block bloom filters (parquet-format BloomFilter.md): where they lie, parsing (hyparquet's
 * `readBloomFilter`) and membership for `eq`/`in` (hyparquet's `hashParquetValue` + `sbbfContains`).
 * A bloom filter proves absence, never presence: a row group whose filters rule out every value of
 * an `eq`/`in` is pruned. Parsing takes bytes; pruning is pure.
 */
import type { SchemaTree } from 'hyparquet';
import { hashParquetValue, readBloomFilter, sbbfContains } from 'hyparquet/src/bloom.js';
import { ReaderError, type ErrorContext } from '../errors.js';
import type { MetadataLayout } from './footer-layout.js';
import type { ResolvedRange } from '../types.js';
import type { RowGroupFilter, Value } from './filter.js';

/** A parsed split-block bloom filter (hyparquet's). */
export type BloomFilter = NonNullable<ReturnType<typeof readBloomFilter>>;

/** Per row group, by leaf column path: the parsed bloom filters. */
export type BloomIndex = Map<string, BloomFilter>[];

/** One column chunk's bloom filter bytes. */
export interface BloomRange extends ResolvedRange {
  rowGroup: number;
  column: string;
}

/**
 * The bloom filters whose length the metadata gives (writers before parquet-format 2.10 wrote only
 * the offset: those are not used). Ranges outside the data region are `InvalidData`.
 */
export function bloomRanges(metadata: MetadataLayout, dataEnd: number, context: ErrorContext): BloomRange[] {
  const out: BloomRange[] = [];
  metadata.row_groups.forEach((rg, rowGroup) => {
    for (const chunk of rg.columns) {
      const md = chunk.meta_data;
      if (!md || md.bloom_filter_offset === undefined || !md.bloom_filter_length) continue;
      const offset = Number(md.bloom_filter_offset);
      const length = Number(md.bloom_filter_length);
      const column = md.path_in_schema.join('.');
      if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || length < 0 || offset < 4 || offset + length > dataEnd) {
        throw new ReaderError('InvalidData', `corrupt Parquet metadata: the bloom filter of column ${column} in row group ${rowGroup} (bytes ${offset}+${length}) lies outside the data region [4, ${dataEnd})`, { ...context, rowGroup, column }, { code: 'CHUNK_OUT_OF_FILE' });
      }
      out.push({ rowGroup, column, offset, length });
    }
  });
  return out;
}

/** Parses the bloom filters in `ranges` from their bytes (same order); an unusable header is skipped. */
export function parseBlooms(groups: number, ranges: readonly BloomRange[], bytes: readonly Uint8Array[], context: ErrorContext): BloomIndex {
  const index: BloomIndex = Array.from({ length: groups }, () => new Map());
  ranges.forEach((r, i) => {
    const b = bytes[i] as Uint8Array;
    try {
      const bloom = readBloomFilter({ view: new DataView(b.buffer, b.byteOffset, b.byteLength), offset: 0 });
      if (bloom) index[r.rowGroup]?.set(r.column, bloom);
    } catch (err) {
      throw new ReaderError('InvalidData', `corrupt bloom filter for column ${r.column} of row group ${r.rowGroup}`, { ...context, rowGroup: r.rowGroup, column: r.column }, { code: 'METADATA_CORRUPT', cause: err });
    }
  });
  return index;
}

function leafElement(tree: SchemaTree, column: string) {
  let node: SchemaTree | undefined = tree;
  for (const part of column.split('.')) node = node?.children.find((c) => c.element.name === part);
  return node?.element;
}

/** May the bloom filter hold `v`? True when it cannot tell (a type hyparquet cannot hash, e.g. dates). */
function mayHold(bloom: BloomFilter, v: Value, tree: SchemaTree, column: string): boolean {
  const element = leafElement(tree, column);
  if (!element) return true;
  const hash = hashParquetValue(v, element);
  return hash === undefined || sbbfContains(bloom.blocks, hash);
}

/** Whether row group `g` may hold rows matching `filter`, by its bloom filters (true without them). */
export function bloomMayMatch(filter: RowGroupFilter, blooms: ReadonlyMap<string, BloomFilter> | undefined, tree: SchemaTree): boolean {
  if (!blooms || blooms.size === 0) return true;
  if ('and' in filter) return filter.and.every((f) => bloomMayMatch(f, blooms, tree));
  if ('or' in filter) return filter.or.some((f) => bloomMayMatch(f, blooms, tree));
  const bloom = blooms.get(filter.column);
  if (!bloom) return true;
  if (filter.eq !== undefined && !mayHold(bloom, filter.eq, tree, filter.column)) return false;
  if (filter.in !== undefined && filter.in.length > 0 && filter.in.every((v) => !mayHold(bloom, v, tree, filter.column))) return false;
  return true;
}
