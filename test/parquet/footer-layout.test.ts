/**
 * The footer layout walk (src/parquet/footer-layout.ts) against hyparquet's full parse: on every file
 * in parquet-testing's data/ and bad_data/, and on seeded damaged copies of their footers, a footer
 * the walk accepts is one `parquetMetadata` parses, with the same schema, row counts and offsets —
 * and a footer hyparquet rejects, the walk rejects too.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FileMetaData } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { bloomRanges } from '../../src/parquet/bloom.js';
// The reference: hyparquet's parquetMetadata, guarded against the one input it loops on (tested below).
import { hyparquetMetadata as parquetMetadata, readFooterLayout, type MetadataLayout } from '../../src/parquet/footer-layout.js';
import { columnChunkRanges, pageIndexRange } from '../../src/parquet/metadata.js';
import { prng } from '../support/data.js';
import { PARQUET_TESTING_DIR } from '../support/parquet-testing.js';

/** Damaged copies of each footer for the seeded cases: enough to reach every field kind of a small footer. */
const DAMAGE_PER_FILE = 40;

function filesIn(dir: string): string[] {
  return readdirSync(join(PARQUET_TESTING_DIR, dir)).filter((f) => f.endsWith('.parquet')).sort().map((f) => join(dir, f));
}
const FILES = [...filesIn('data'), ...filesIn('bad_data')];

/** The footer of a file: its Thrift metadata, length and magic (what `parquetMetadata` takes). */
function footerOf(bytes: Uint8Array): Uint8Array {
  if (bytes.byteLength < 8) return bytes;
  const length = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
  return bytes.slice(Math.max(0, bytes.byteLength - 8 - length));
}

type Parsed<T> = { ok: true; value: T } | { ok: false; error: unknown };
function attempt<T>(f: () => T): Parsed<T> {
  try {
    return { ok: true, value: f() };
  } catch (error) {
    return { ok: false, error };
  }
}

/** What a function of the layout gives: its value, or the code of the ReaderError it throws. */
function outcome<T>(f: () => T): T | { throws: string } {
  try {
    return f();
  } catch (err) {
    return { throws: (err as { code?: string }).code ?? String(err) };
  }
}

/** Asserts the layout holds exactly what hyparquet's full parse holds, for every field it has. */
function expectSameLayout(layout: MetadataLayout, full: FileMetaData, size: number): void {
  expect(layout.schema).toEqual(full.schema);
  expect(layout.num_rows).toEqual(full.num_rows);
  expect(layout.version).toEqual(full.version);
  expect(layout.key_value_metadata).toEqual(full.key_value_metadata);
  expect(layout.created_by).toEqual(full.created_by);
  expect(layout.row_groups.length).toBe(full.row_groups.length);
  layout.row_groups.forEach((rg, g) => {
    const ref = full.row_groups[g] as FileMetaData['row_groups'][number];
    expect(Number(rg.num_rows)).toEqual(Number(ref.num_rows));
    expect(rg.columns.length).toBe(ref.columns.length);
    rg.columns.forEach((c, i) => {
      const r = ref.columns[i] as (typeof ref.columns)[number];
      expect(c.file_path || undefined).toEqual(r.file_path || undefined);
      expect(Boolean(c.crypto_metadata || c.encrypted_column_metadata)).toBe(Boolean(r.crypto_metadata || r.encrypted_column_metadata));
      for (const k of ['offset_index_offset', 'offset_index_length', 'column_index_offset', 'column_index_length'] as const) {
        expect([k, c[k] === undefined ? undefined : Number(c[k])]).toEqual([k, r[k] === undefined ? undefined : Number(r[k])]);
      }
      expect(Boolean(c.meta_data)).toBe(Boolean(r.meta_data));
      if (!c.meta_data || !r.meta_data) return;
      expect(c.meta_data.path_in_schema).toEqual(r.meta_data.path_in_schema);
      for (const k of ['total_compressed_size', 'data_page_offset', 'dictionary_page_offset', 'bloom_filter_offset', 'bloom_filter_length'] as const) {
        const mine = c.meta_data[k];
        const theirs = r.meta_data[k];
        expect([k, mine === undefined ? undefined : Number(mine)]).toEqual([k, theirs === undefined ? undefined : Number(theirs)]);
      }
    });
  });
  // What the open derives from either: the same ranges, or the same typed error.
  const metadataLength = Number(full.metadata_length);
  expect(outcome(() => columnChunkRanges(layout, size, metadataLength, {}))).toEqual(outcome(() => columnChunkRanges(full, size, metadataLength, {})));
  expect(outcome(() => pageIndexRange(layout, size, metadataLength, {}))).toEqual(outcome(() => pageIndexRange(full, size, metadataLength, {})));
  expect(outcome(() => bloomRanges(layout, size - metadataLength - 8, {}))).toEqual(outcome(() => bloomRanges(full, size - metadataLength - 8, {})));
}

/** The walk accepts only what hyparquet parses, and then agrees with it. */
function expectAgreement(footer: Uint8Array, size: number): 'both' | 'neither' | 'hyparquet only' {
  const full = attempt(() => parquetMetadata(footer));
  const layout = attempt(() => readFooterLayout(footer));
  if (layout.ok) {
    expect(full).toMatchObject({ ok: true });
    expectSameLayout(layout.value, (full as { value: FileMetaData }).value, size);
    return 'both';
  }
  expect(layout.error).toBeInstanceOf(Error);
  return full.ok ? 'hyparquet only' : 'neither';
}

describe('readFooterLayout agrees with hyparquet on every parquet-testing file', () => {
  it('finds the corpus', () => {
    expect(FILES.length).toBeGreaterThan(70);
  });

  it.each(FILES)('%s', (name) => {
    const bytes = new Uint8Array(readFileSync(join(PARQUET_TESTING_DIR, name)));
    const result = expectAgreement(footerOf(bytes), bytes.byteLength);
    // A footer hyparquet parses, the walk reads too: it never fails where the full parse works.
    expect(result).not.toBe('hyparquet only');
  });

  it('the wide fixture (320 columns × 4 row groups, a 166 KiB footer)', async () => {
    const bytes = await fixture(FIXTURES.wide);
    expect(expectAgreement(footerOf(bytes), bytes.byteLength)).toBe('both');
  });
});

/** Seeded damage to a footer's Thrift bytes: bit flips, a byte set to a Thrift type nibble, and cuts (the length and magic kept). */
function damaged(footer: Uint8Array, seed: number): { what: string; bytes: Uint8Array }[] {
  const rand = prng(seed);
  const thrift = footer.byteLength - 8;
  const int = (n: number) => Math.floor(rand() * n);
  const out: { what: string; bytes: Uint8Array }[] = [];
  for (let i = 0; i < DAMAGE_PER_FILE; i++) {
    const bytes = footer.slice();
    const at = int(thrift);
    const kind = i % 4;
    if (kind === 0 || kind === 1) {
      bytes[at] = (bytes[at] as number) ^ (1 << int(8));
      out.push({ what: `bit flipped at ${at}`, bytes });
    } else if (kind === 2) {
      bytes[at] = ((bytes[at] as number) & 0xf0) | int(16); // another Thrift type in a field header
      out.push({ what: `type nibble set at ${at}`, bytes });
    } else {
      // Drop `cut` bytes at `at`: the struct ends early or reads on into the length.
      const cut = 1 + int(Math.min(16, thrift - at));
      const shorter = new Uint8Array(footer.byteLength - cut);
      shorter.set(footer.subarray(0, at));
      shorter.set(footer.subarray(at + cut), at);
      new DataView(shorter.buffer).setUint32(shorter.byteLength - 8, thrift - cut, true);
      out.push({ what: `${cut} bytes cut at ${at}`, bytes: shorter });
    }
  }
  return out;
}

describe('readFooterLayout on damaged footers (seeded): accepted only where hyparquet parses, and then the same', () => {
  const good = filesIn('data').filter((f) => !f.includes('encrypt'));
  it.each(good.map((f, i) => [f, i] as const))('%s', (name, i) => {
    const bytes = new Uint8Array(readFileSync(join(PARQUET_TESTING_DIR, name)));
    const footer = footerOf(bytes);
    if (!attempt(() => parquetMetadata(footer)).ok) return; // not a footer hyparquet reads (checked above)
    const seen = { both: 0, neither: 0, 'hyparquet only': 0 };
    for (const d of damaged(footer, 7000 + i)) seen[expectAgreement(d.bytes, bytes.byteLength - footer.byteLength + d.bytes.byteLength)]++;
    expect(seen.both + seen.neither + seen['hyparquet only']).toBe(DAMAGE_PER_FILE);
  });
});

/** Compact-protocol bytes of a FileMetaData whose second schema element says it has -1 children, as its footer. */
function negativeChildren(): Uint8Array {
  const name = (s: string) => [s.length, ...new TextEncoder().encode(s)];
  const thrift = [
    0x15, 0x02, // 1: version = 1
    0x19, 0x2c, // 2: schema, a list of 2 structs
    0x48, ...name('root'), 0x15, 0x02, 0x00, // { 4: name, 5: num_children = 1 }
    0x48, ...name('a'), 0x15, 0x01, 0x00, // { 4: name, 5: num_children = -1 }
    0x16, 0x00, // 3: num_rows = 0
    0x19, 0x0c, // 4: row_groups, empty
    0x00,
  ];
  const footer = new Uint8Array(thrift.length + 8);
  footer.set(thrift);
  const view = new DataView(footer.buffer);
  view.setUint32(thrift.length, thrift.length, true);
  view.setUint32(thrift.length + 4, 0x31524150, true);
  return footer;
}

describe('a schema element with a negative num_children (a damaged footer had one)', () => {
  it('is an error for the walk and the full parse, not the endless loop of hyparquet\'s GeoParquet pass', () => {
    const footer = negativeChildren();
    expect(() => readFooterLayout(footer)).toThrow(/-1 children/);
    expect(() => parquetMetadata(footer)).toThrow(/-1 children/);
  });
});
