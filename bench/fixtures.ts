/**
 * Benchmark and test fixtures, generated deterministically (a seeded PRNG) with apache-arrow and
 * parquet-wasm's writer, and cached in a git-ignored folder. Never committed.
 *
 * - `seed`: the real case — ~800 KiB, 50 row groups × 12 columns of mixed types.
 * - `seedPlus`: the same shape with 75 row groups (~1.1 MB), just over the open's tail window.
 * - `wide`: 320 columns × 4 row groups: a footer over 128 KiB.
 * - `big`: ≥ 128 MiB, 16 row groups.
 * - `small`: one row group × 12 columns (~20 KiB), for "open 2,000 files".
 * - `filterRows`: 4 row groups × 130,000 rows × 8 mixed columns, for `bench:filter`.
 * - `ipc`: an Arrow IPC file with 48 record batches.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  Bool,
  Float64,
  RecordBatch,
  Table,
  TimestampMillisecond,
  Utf8,
  makeVector,
  tableToIPC,
  vectorFromArray,
  type Vector,
} from 'apache-arrow';
import { Compression, Table as WasmTable, WriterPropertiesBuilder, writeParquet } from 'parquet-wasm';

export const FIXTURE_DIR = join(dirname(fileURLToPath(import.meta.url)), '.fixtures');

/** Deterministic PRNG (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ['alpha', 'bravo', 'charlie', 'delta', 'echo', 'foxtrot', 'golf', 'hotel', 'india', 'juliet', 'kilo', 'lima'];

/** One column of `rows` values of the i-th mixed type; `base` keeps ids increasing across row groups. */
function mixedColumn(i: number, rows: number, base: number, rnd: () => number): Vector {
  switch (i % 12) {
    case 0:
      return makeVector(BigInt64Array.from({ length: rows }, (_, r) => BigInt(base + r)));
    case 1:
      return makeVector(Int32Array.from({ length: rows }, () => Math.floor(rnd() * 1_000_000)));
    case 2:
      return makeVector(Float64Array.from({ length: rows }, () => rnd() * 1000));
    case 3:
      return makeVector(Float32Array.from({ length: rows }, () => rnd()));
    case 4:
      return vectorFromArray(Array.from({ length: rows }, () => rnd() < 0.5), new Bool());
    case 5:
      return vectorFromArray(Array.from({ length: rows }, () => WORDS[Math.floor(rnd() * WORDS.length)] as string), new Utf8());
    case 6:
      return vectorFromArray(Array.from({ length: rows }, () => Math.floor(rnd() * 2 ** 40).toString(36)), new Utf8());
    case 7:
      return vectorFromArray(Array.from({ length: rows }, (_, r) => 1_700_000_000_000 + (base + r) * 1000), new TimestampMillisecond());
    case 8:
      return makeVector(Int16Array.from({ length: rows }, () => Math.floor(rnd() * 30_000)));
    case 9:
      return vectorFromArray(Array.from({ length: rows }, () => (rnd() < 0.1 ? null : rnd() * 10)), new Float64());
    case 10:
      return vectorFromArray(Array.from({ length: rows }, (_, r) => `row-${base + r}-${WORDS[r % WORDS.length]}`), new Utf8());
    default:
      return makeVector(Int32Array.from({ length: rows }, (_, r) => (base + r) % 97));
  }
}

const COLUMN_NAMES = ['id', 'qty', 'price', 'ratio', 'flag', 'word', 'token', 'ts', 'small', 'maybe', 'label', 'bucket'];

function columnName(i: number): string {
  return i < 12 ? (COLUMN_NAMES[i] as string) : `c${String(i).padStart(3, '0')}_${COLUMN_NAMES[i % 12]}`;
}

/** An Arrow table of `groups × rowsPerGroup` rows and `columns` mixed-type columns, one batch per group. */
export function mixedTable(columns: number, groups: number, rowsPerGroup: number, seed: number): Table {
  const rnd = prng(seed);
  const batches: RecordBatch[] = [];
  for (let g = 0; g < groups; g++) {
    const vectors: Record<string, Vector> = {};
    for (let c = 0; c < columns; c++) vectors[columnName(c)] = mixedColumn(c, rowsPerGroup, g * rowsPerGroup, rnd);
    batches.push(new Table(vectors).batches[0] as RecordBatch);
  }
  return new Table(batches);
}

/** Writes an Arrow table as Parquet with `rowsPerGroup` rows per row group (SNAPPY, statistics on). */
export function toParquet(table: Table, rowsPerGroup: number): Uint8Array {
  const wasm = WasmTable.fromIPCStream(tableToIPC(table, 'stream'));
  const props = new WriterPropertiesBuilder().setCompression(Compression.SNAPPY).setMaxRowGroupSize(rowsPerGroup).build();
  return writeParquet(wasm, props);
}

export interface FixtureSpec {
  name: string;
  file: string;
  make: () => Uint8Array;
}

export const FIXTURES = {
  /** The real case from DESIGN.md: ~760 KB, 50 row groups × 12 mixed columns (600 column chunks). */
  seed: { name: 'seed', file: 'seed-50rg-12col-v3.parquet', make: () => toParquet(mixedTable(12, 50, 200, 1), 200) },
  /** Like `seed` with 75 row groups (~1.1 MB): just over the open's tail window (786 KiB). */
  seedPlus: { name: 'seedPlus', file: 'seed-75rg-12col.parquet', make: () => toParquet(mixedTable(12, 75, 200, 6), 200) },
  /** 320 columns × 4 row groups: the footer alone is > 128 KiB. */
  wide: { name: 'wide', file: 'wide-320col.parquet', make: () => toParquet(mixedTable(320, 4, 200, 2), 200) },
  /** ≥ 128 MiB in 16 row groups of random doubles and strings. */
  big: { name: 'big', file: 'big-16rg.parquet', make: () => toParquet(bigTable(16, 3), BIG_ROWS_PER_GROUP) },
  /** A small file (1 row group × 12 columns, ~20 KiB), served under 2,000 keys for the "many files" case. */
  small: { name: 'small', file: 'small-1rg-12col.parquet', make: () => toParquet(mixedTable(12, 1, 300, 5), 300) },
  /** 4 row groups × 130,000 rows of 8 mixed columns (id, qty, price, ratio, flag, word, token, ts): the row-filter benchmark's file. */
  filterRows: { name: 'filterRows', file: 'filter-rows-4rg-8col.parquet', make: () => toParquet(mixedTable(8, 4, 130_000, 9), 130_000) },
  /** An Arrow IPC file of 48 record batches. */
  ipc: { name: 'ipc', file: 'batches-48.arrow', make: () => tableToIPC(mixedTable(12, 48, 500, 4), 'file') },
} satisfies Record<string, FixtureSpec>;

const BIG_ROWS_PER_GROUP = 130_000;

function bigTable(groups: number, seed: number): Table {
  const rnd = prng(seed);
  const batches: RecordBatch[] = [];
  for (let g = 0; g < groups; g++) {
    const n = BIG_ROWS_PER_GROUP;
    const vectors: Record<string, Vector> = {
      id: makeVector(BigInt64Array.from({ length: n }, (_, r) => BigInt(g * n + r))),
    };
    for (let c = 0; c < 8; c++) vectors[`x${c}`] = makeVector(Float64Array.from({ length: n }, () => rnd()));
    batches.push(new Table(vectors).batches[0] as RecordBatch);
  }
  return new Table(batches);
}

/** The bytes of a fixture: from the cache folder, or generated and cached (atomically) on first use. */
export async function fixture(spec: FixtureSpec): Promise<Uint8Array> {
  const path = join(FIXTURE_DIR, spec.file);
  try {
    return new Uint8Array(await readFile(path));
  } catch {
    const bytes = spec.make();
    await mkdir(FIXTURE_DIR, { recursive: true });
    const tmp = `${path}.${process.pid}.tmp`;
    await writeFile(tmp, bytes);
    await rename(tmp, path);
    return bytes;
  }
}
