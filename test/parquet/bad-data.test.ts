/**
 * Corrupt input never crashes the process and never hangs: every file in parquet-testing's bad_data/,
 * and seeded truncated, cut and bit-flipped variants of good files, served over real HTTP, settle
 * within CASE_BOUND_MS through both decoders (parquet-wasm in its worker via `readTable`, hyparquet via
 * `readObjects`) with a typed ReaderError (or, for a variant whose damage the format cannot detect, a
 * result). A process-level listener proves no uncaught exception or unhandled rejection escaped.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tableFromIPC } from 'apache-arrow';
import { parquetMetadata, parquetReadObjects } from 'hyparquet';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { ReaderError, type ReaderErrorCode, type ReaderErrorKind } from '../../src/errors.js';
import { pageIndexRange } from '../../src/parquet/metadata.js';
import { openParquet, type ParquetSource } from '../../src/parquet/source.js';
import { PARQUET_TESTING_DIR } from '../support/parquet-testing.js';
import { prng } from '../support/data.js';
import { watchUncaught } from '../support/uncaught.js';

/** A case that has not settled after this long is a hang. A bound on settling, not a speed target. */
const CASE_BOUND_MS = 5_000;

const BAD_DIR = join(PARQUET_TESTING_DIR, 'bad_data');
const DATA_DIR = join(PARQUET_TESTING_DIR, 'data');
const BAD_FILES = readdirSync(BAD_DIR).filter((f) => f.endsWith('.parquet')).sort();

/** A kind and the code (or, where the decoder's path decides, one of the codes) of the error. */
type Failure = { kind: ReaderErrorKind; code: ReaderErrorCode | readonly ReaderErrorCode[] };
type Expect = Failure | 'same-as-memory';
interface BadCase {
  /** The open fails (the footer or metadata is corrupt): neither decoder gets to run. */
  open?: Failure;
  /**
   * The open succeeds (it reads a chunk's ColumnMetaData when a plan takes it), but every read of
   * the chunks fails so, before any request after the open's: neither decoder gets to run.
   */
  read?: Failure;
  readTable?: Expect;
  readObjects?: Failure;
}
/** parquet-wasm either panics (caught in its worker) or reports the error, depending on the file. */
const WASM_FAILS = ['DECODER_PANIC', 'DECODE_FAILED'] as const;

/** What each bad_data file gives, exactly. */
const BAD_DATA: Record<string, BadCase> = {
  // The schema lacks a column the row groups name: caught before hyparquet starts reads whose
  // rejections it would leave unhandled.
  'ARROW-GH-41317.parquet': { read: { kind: 'InvalidData', code: 'METADATA_CORRUPT' } },
  'ARROW-GH-41321.parquet': {
    readTable: { kind: 'InvalidData', code: WASM_FAILS },
    readObjects: { kind: 'InvalidData', code: 'DECODE_FAILED' },
  },
  // A 0 bit-width RLE dictionary index: Arrow C++'s bug; arrow-rs (inside parquet-wasm) decodes it,
  // in memory too, so our read must give exactly that table. hyparquet lacks ZSTD.
  'ARROW-GH-43605.parquet': {
    readTable: 'same-as-memory',
    readObjects: { kind: 'Unsupported', code: 'UNSUPPORTED_CODEC' },
  },
  'ARROW-GH-45185.parquet': {
    readTable: { kind: 'InvalidData', code: WASM_FAILS },
    readObjects: { kind: 'InvalidData', code: 'DECODE_FAILED' },
  },
  'ARROW-GH-47662.parquet': {
    readTable: { kind: 'InvalidData', code: WASM_FAILS },
    readObjects: { kind: 'InvalidData', code: 'DECODE_FAILED' },
  },
  'ARROW-RS-GH-6229-DICTHEADER.parquet': { read: { kind: 'InvalidData', code: 'CHUNK_OUT_OF_FILE' } },
  'ARROW-RS-GH-6229-LEVELS.parquet': {
    readTable: { kind: 'InvalidData', code: WASM_FAILS },
    readObjects: { kind: 'InvalidData', code: 'DECODE_FAILED' },
  },
  'PARQUET-1481.parquet': { read: { kind: 'InvalidData', code: 'METADATA_CORRUPT' } },
};

type Outcome<T> = { value: T } | { error: unknown } | { hang: true };

/** Settles `p`, or reports a hang after CASE_BOUND_MS. */
async function settle<T>(p: Promise<T>): Promise<Outcome<T>> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<{ hang: true }>((resolve) => {
    timer = setTimeout(() => resolve({ hang: true }), CASE_BOUND_MS);
  });
  try {
    return await Promise.race([p.then((value) => ({ value }), (error: unknown) => ({ error })), bound]);
  } finally {
    clearTimeout(timer);
  }
}

function expectError(outcome: Outcome<unknown>, kind: ReaderErrorKind, code: Failure['code']): void {
  expect(outcome).not.toHaveProperty('hang');
  expect(outcome).toHaveProperty('error');
  const err = (outcome as { error: unknown }).error;
  expect(err).toBeInstanceOf(ReaderError);
  expect(err).toMatchObject({ kind });
  expect(typeof code === 'string' ? [code] : code).toContain((err as ReaderError).code);
}

/** Settled, and either a result or a ReaderError: never a plain Error, never a hang. */
function expectTyped(outcome: Outcome<unknown>): void {
  expect(outcome).not.toHaveProperty('hang');
  if ('error' in outcome) expect(outcome.error).toBeInstanceOf(ReaderError);
}

let server: ObjectServer;
let nextKey = 0;
const uncaught = watchUncaught();

beforeAll(async () => {
  server = await new ObjectServer().start();
});
afterAll(async () => {
  await server.stop();
});

/** Serves `bytes` under a fresh key and opens it (no metadata cache: every case reads its own footer). */
function open(bytes: Uint8Array): Promise<ParquetSource> {
  const key = `case-${nextKey++}.parquet`;
  server.put(key, bytes);
  return openParquet(httpBackend({ baseUrl: server.url }), key, { metadataCache: false });
}

describe('bad_data/: a typed ReaderError, quickly, never a crash or a hang', () => {
  it('every bad_data file has an expectation, and every expectation a file', () => {
    expect(BAD_FILES.length).toBeGreaterThanOrEqual(8);
    expect(Object.keys(BAD_DATA).sort()).toEqual(BAD_FILES);
  });

  it.each(BAD_FILES)('%s', async (name) => {
    const bytes = new Uint8Array(readFileSync(join(BAD_DIR, name)));
    const expected = BAD_DATA[name] as BadCase;

    const opened = await settle(open(bytes));
    if (expected.open) {
      expectError(opened, expected.open.kind, expected.open.code);
      return;
    }
    expect(opened).toHaveProperty('value');
    const source = (opened as { value: ParquetSource }).value;
    if (expected.read) {
      const before = server.requests.length;
      expectError(await settle(source.readTable()), expected.read.kind, expected.read.code);
      expectError(await settle(source.readObjects()), expected.read.kind, expected.read.code);
      expect(() => source.columnChunks).toThrow(ReaderError);
      expect(server.requests.length).toBe(before);
      await source.close();
      return;
    }

    // parquet-wasm in its worker.
    const table = await settle(source.readTable());
    if (expected.readTable === 'same-as-memory') {
      expect(table).toHaveProperty('value');
      const reference = tableFromIPC(readParquet(bytes).intoIPCStream());
      const t = (table as { value: typeof reference }).value;
      expect(t.numRows).toBe(reference.numRows);
      for (let c = 0; c < reference.numCols; c++) expect([...(t.getChildAt(c) ?? [])]).toEqual([...(reference.getChildAt(c) ?? [])]);
    } else if (expected.readTable) {
      expectError(table, expected.readTable.kind, expected.readTable.code);
    }

    // hyparquet: readObjects gives a ReaderError; hyparquet's own API on our AsyncBuffer throws its
    // plain errors (settling, and without unhandled rejections: see the last test).
    if (expected.readObjects) {
      expectError(await settle(source.readObjects()), expected.readObjects.kind, expected.readObjects.code);
      const raw = await settle(parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata }));
      expect(raw).toHaveProperty('error');
      expect((raw as { error: unknown }).error).not.toBeInstanceOf(ReaderError);
    }
    await source.close();
  });
});


interface Variant {
  name: string;
  bytes: Uint8Array;
  /** The damage is certain to be detected (a truncated footer): the open must fail. */
  openFails?: boolean;
}

const GOOD = ['alltypes_plain.parquet', 'alltypes_tiny_pages.parquet', 'nested_lists.snappy.parquet', 'datapage_v2.snappy.parquet', 'delta_byte_array.parquet'];

/** Seeded damage to a good file: truncations, a cut out of the data (footer kept), flips in data and metadata. */
function variants(file: string, seed: number): Variant[] {
  const good = new Uint8Array(readFileSync(join(DATA_DIR, file)));
  const size = good.byteLength;
  const metadataLength = new DataView(good.buffer, good.byteOffset).getUint32(size - 8, true);
  const dataEnd = size - 8 - metadataLength;
  const rand = prng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo)); // [lo, hi)
  const out: Variant[] = [];
  for (let i = 0; i < 3; i++) {
    const length = int(0, size);
    out.push({ name: `${file} truncated to ${length}`, bytes: good.slice(0, length), openFails: true });
  }
  for (let i = 0; i < 2; i++) {
    const at = int(4, dataEnd - 1);
    const length = int(1, Math.min(4096, dataEnd - at));
    const cut = new Uint8Array(size - length);
    cut.set(good.subarray(0, at));
    cut.set(good.subarray(at + length), at);
    out.push({ name: `${file} ${length} data bytes cut at ${at}`, bytes: cut });
  }
  for (const [region, lo, hi, count] of [
    ['data', 4, dataEnd, 4],
    ['metadata', dataEnd, size - 8, 3],
  ] as const) {
    for (let i = 0; i < count; i++) {
      const flipped = good.slice();
      const at: number[] = [];
      for (let k = 0; k < 1 + i; k++) {
        const p = int(lo, hi);
        flipped[p] = (flipped[p] as number) ^ (1 << int(0, 8));
        at.push(p);
      }
      out.push({ name: `${file} bits flipped in ${region} at ${at.join(',')}`, bytes: flipped });
    }
  }
  return out;
}

const VARIANTS = GOOD.flatMap((f, i) => variants(f, 1000 + i));

describe('damaged good files (seeded): settle with a result or a typed ReaderError', () => {
  it.each(VARIANTS.map((v) => [v.name, v] as const))('%s', async (_, variant) => {
    const opened = await settle(open(variant.bytes));
    if (variant.openFails) {
      expectError(opened, 'InvalidData', ['FOOTER_TOO_SHORT', 'BAD_MAGIC', 'METADATA_TOO_LONG', 'METADATA_CORRUPT']);
      return;
    }
    expectTyped(opened);
    if (!('value' in opened)) return; // the open caught the damage: a typed error, asserted above
    const source = opened.value;
    expectTyped(await settle(source.readTable()));
    expectTyped(await settle(source.readObjects()));
    await source.close();
  });
});

describe('corrupt metadata that reached a decoder before (regressions)', () => {
  it('a page index entry outside the data region, or of a wrong type, is InvalidData at open (no 416, no TypeError)', () => {
    const bytes = new Uint8Array(readFileSync(join(DATA_DIR, 'alltypes_tiny_pages.parquet')));
    const metadataLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
    const size = bytes.byteLength;
    const context = { backend: 'memory', path: 'f.parquet' };
    const metadata = () => parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + size) as ArrayBuffer);
    expect(pageIndexRange(metadata(), size, metadataLength, context)).toMatchObject({ offset: expect.any(Number) });
    const past = metadata();
    const chunk = past.row_groups[0]?.columns[0];
    if (!chunk) throw new Error('fixture has no column chunk');
    chunk.column_index_offset = BigInt(size);
    expect(() => pageIndexRange(past, size, metadataLength, context)).toThrow(expect.objectContaining({ kind: 'InvalidData' }));
    const wrongType = metadata();
    const c2 = wrongType.row_groups[0]?.columns[0];
    if (!c2) throw new Error('fixture has no column chunk');
    c2.offset_index_length = 10n as unknown as number; // what hyparquet gives for a flipped Thrift type
    expect(() => pageIndexRange(wrongType, size, metadataLength, context)).not.toThrow(TypeError);
  });

  it("toAsyncBuffer: a slice at a corrupt offset is InvalidData, and an un-awaited failed slice is no unhandled rejection", async () => {
    const bytes = new Uint8Array(readFileSync(join(DATA_DIR, 'alltypes_plain.parquet')));
    const source = await open(bytes);
    const file = source.toAsyncBuffer();
    await expect(file.slice(Number.NaN, 10)).rejects.toMatchObject({ kind: 'InvalidData' });
    await expect(file.slice(-8)).rejects.toMatchObject({ kind: 'InvalidData' });
    void file.slice(-1); // never awaited, like hyparquet's prefetchAsyncBuffer: the last test sees no rejection
    expect(new Uint8Array(await file.slice(bytes.byteLength - 4, bytes.byteLength + 100))).toEqual(bytes.subarray(-4)); // end clamped
    await source.close();
  });
});

describe('the process survived', () => {
  it('no uncaught exception or unhandled rejection escaped any decoder', async () => {
    await new Promise((r) => setTimeout(r, 50)); // let any stray rejection surface
    expect(uncaught).toEqual([]);
  });
});
