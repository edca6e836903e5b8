/**
 * The whole apache/parquet-testing `data/` corpus through our stack over real HTTP: every readable file
 * decodes to the same Table as parquet-wasm reading the whole file in memory, and to the same rows as
 * hyparquet reading the whole file in memory. Files are read from ../shared (never copied in).
 *
 * Nothing is skipped silently. The lists below are exact: a listed file that no longer fails (or a
 * failing file that is not listed) fails the test.
 *
 * Encrypted, 13 files (ENCRYPTED): our open rejects them with `Unsupported` after its one tail GET.
 *   Footer magic PARE: encrypt_columns_and_footer{,_aad,_bloom_filter,_ctr,_disable_aad_storage},
 *   external_key_material_java, uniform_encryption (all `.parquet.encrypted`), and in aes256/:
 *   encrypt_columns_and_footer{,_ctr,_disable_aad_storage}, uniform_encryption. Plaintext footer (magic
 *   PAR1, encrypted columns): encrypt_columns_plaintext_footer and aes256/encrypt_columns_plaintext_footer.
 * parquet-wasm expected failures (WASM_EXPECTED_FAILURES: it fails in memory too; ours is InvalidData):
 *   dict-page-offset-zero, large_string_map.brotli, nation.dict-malformed.
 * hyparquet expected failures (HYPARQUET_EXPECTED_FAILURES: it fails in memory too; ours via readObjects
 *   is Unsupported for a missing codec, InvalidData otherwise): no decompressor without
 *   hyparquet-compressors (not a dependency) for ZSTD (byte_stream_split.zstd, delta_length_byte_array,
 *   geospatial/geography-{lines,points,polygons}, nested_structs.rust, page_v2_empty_compressed), GZIP
 *   (byte_stream_split_extended.gzip, concatenated_gzip_members, data_index_bloom_encoding_stats,
 *   incorrect_map_schema, rle_boolean_encoding), LZ4 (hadoop_lz4_compressed{,_larger},
 *   non_hadoop_lz4_compressed), LZ4_RAW (lz4_raw_compressed{,_larger}), BROTLI (large_string_map.brotli);
 *   and nation.dict-malformed (corrupt on purpose).
 * Reference override (SYNC_READER_DIVERGES): repeated_no_annotation, where parquet-wasm's readParquet
 *   trusts a footer num_rows of 0; compared against parquet-wasm's ParquetFile.read in memory instead.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import { Worker } from 'node:worker_threads';
import { tableFromIPC, type Table } from 'apache-arrow';
import { parquetReadObjects } from 'hyparquet';
import { ParquetFile, readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { ReaderError, type ReaderErrorKind } from '../../src/errors.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { openParquet, type ParquetSource } from '../../src/parquet/source.js';
import { PARQUET_TESTING_DIR } from '../support/parquet-testing.js';
import { watchUncaught } from '../support/uncaught.js';

const DATA_DIR = join(PARQUET_TESTING_DIR, 'data');

/** Every `*.parquet` and `*.parquet.encrypted` under data/, subfolders included, as paths relative to data/. */
function corpus(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...corpus(path));
    else if (/\.parquet(\.encrypted)?$/.test(entry.name)) out.push(relative(DATA_DIR, path));
  }
  return out.sort();
}

const FILES = corpus(DATA_DIR);
const bytesOf = (name: string): Uint8Array => new Uint8Array(readFileSync(join(DATA_DIR, name)));
const magic = (bytes: Uint8Array): string => new TextDecoder().decode(bytes.subarray(bytes.byteLength - 4));

/** Every encrypted file of the corpus: footer magic PARE, or PAR1 with encrypted columns (plaintext footer). */
const ENCRYPTED = [
  'aes256/encrypt_columns_and_footer.parquet.encrypted',
  'aes256/encrypt_columns_and_footer_ctr.parquet.encrypted',
  'aes256/encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted',
  'aes256/encrypt_columns_plaintext_footer.parquet.encrypted',
  'aes256/uniform_encryption.parquet.encrypted',
  'encrypt_columns_and_footer.parquet.encrypted',
  'encrypt_columns_and_footer_aad.parquet.encrypted',
  'encrypt_columns_and_footer_bloom_filter.parquet.encrypted',
  'encrypt_columns_and_footer_ctr.parquet.encrypted',
  'encrypt_columns_and_footer_disable_aad_storage.parquet.encrypted',
  'encrypt_columns_plaintext_footer.parquet.encrypted',
  'external_key_material_java.parquet.encrypted',
  'uniform_encryption.parquet.encrypted',
];

/**
 * Files parquet-wasm 0.8 cannot read even from memory (checked below, in a throwaway worker). Through
 * our stack they must be a typed ReaderError of this kind, never a crash or a hang.
 */
const WASM_EXPECTED_FAILURES: Record<string, { memory: RegExp; kind: ReaderErrorKind; why: string }> = {
  'dict-page-offset-zero.parquet': {
    memory: /Expected list element type of I64 but got I16/,
    kind: 'InvalidData',
    why: 'arrow-rs rejects its list/element types (hyparquet reads it: compared below)',
  },
  'large_string_map.brotli.parquet': {
    memory: /unreachable/,
    kind: 'InvalidData',
    why: 'a 1 GiB string value (2 GiB column chunk) does not fit the 32-bit wasm heap: parquet-wasm panics after ~3 GB',
  },
  'nation.dict-malformed.parquet': {
    memory: /Invalid page header/,
    kind: 'InvalidData',
    why: 'deliberately malformed dictionary page',
  },
};

/** hyparquet has no ZSTD/GZIP/LZ4/LZ4_RAW/BROTLI without hyparquet-compressors, which is not a dependency. */
const CODEC = (codec: string) => ({ memory: new RegExp(`unsupported compression codec: ${codec}$`), kind: 'Unsupported' as const, why: `no ${codec} decompressor` });

/** Files hyparquet cannot read even from memory; through `readObjects` they must be this ReaderError kind. */
const HYPARQUET_EXPECTED_FAILURES: Record<string, { memory: RegExp; kind: ReaderErrorKind; why: string }> = {
  'byte_stream_split.zstd.parquet': CODEC('ZSTD'),
  'byte_stream_split_extended.gzip.parquet': CODEC('GZIP'),
  'concatenated_gzip_members.parquet': CODEC('GZIP'),
  'data_index_bloom_encoding_stats.parquet': CODEC('GZIP'),
  'delta_length_byte_array.parquet': CODEC('ZSTD'),
  'geospatial/geography-lines.parquet': CODEC('ZSTD'),
  'geospatial/geography-points.parquet': CODEC('ZSTD'),
  'geospatial/geography-polygons.parquet': CODEC('ZSTD'),
  'hadoop_lz4_compressed.parquet': CODEC('LZ4'),
  'hadoop_lz4_compressed_larger.parquet': CODEC('LZ4'),
  'incorrect_map_schema.parquet': CODEC('GZIP'),
  'large_string_map.brotli.parquet': CODEC('BROTLI'),
  'lz4_raw_compressed.parquet': CODEC('LZ4_RAW'),
  'lz4_raw_compressed_larger.parquet': CODEC('LZ4_RAW'),
  'nested_structs.rust.parquet': CODEC('ZSTD'),
  'non_hadoop_lz4_compressed.parquet': CODEC('LZ4'),
  'page_v2_empty_compressed.parquet': CODEC('ZSTD'),
  'rle_boolean_encoding.parquet': CODEC('GZIP'),
  'nation.dict-malformed.parquet': { memory: /Invalid typed array length/, kind: 'InvalidData', why: 'deliberately malformed dictionary page' },
};

/**
 * Files where parquet-wasm's synchronous `readParquet` disagrees with its own async `ParquetFile.read`
 * (which our worker uses): the footer says num_rows = 0 while the row group holds 6 rows, and
 * `readParquet` trusts the footer. For these the reference is `ParquetFile.read` on an in-memory Blob
 * (hyparquet agrees: 6 rows), and the test pins readParquet's divergence.
 */
const SYNC_READER_DIVERGES: Record<string, { readParquetRows: number }> = {
  'repeated_no_annotation.parquet': { readParquetRows: 0 },
};

/** The whole-file parquet-wasm reference for an expected failure runs in a throwaway worker: its panic
 * (and, for large_string_map, its 3 GB heap) must not stay in the test process. */
function wasmInMemoryIsolated(bytes: Uint8Array): Promise<{ ipc: Uint8Array } | { error: string }> {
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     const pw = require(workerData.pw);
     try {
       const ipc = pw.readParquet(workerData.bytes).intoIPCStream();
       parentPort.postMessage({ ipc: ipc.slice() });
     } catch (e) { parentPort.postMessage({ error: String((e && e.message) || e) }); }`,
    { eval: true, workerData: { pw: createRequire(import.meta.url).resolve('parquet-wasm'), bytes } },
  );
  return new Promise<{ ipc: Uint8Array } | { error: string }>((resolve) => {
    worker.once('message', resolve);
    worker.once('error', (e) => resolve({ error: String(e) }));
    worker.once('exit', (code) => resolve({ error: `worker exited with code ${code}` }));
  }).finally(() => void worker.terminate());
}

/** A value in a form `toEqual` compares exactly: vectors (nulls as null), struct/map rows and typed arrays become arrays. */
function plain(v: unknown): unknown {
  if (v === null || v === undefined) return null;
  if (typeof v !== 'object') return v; // number (NaN compares equal under toEqual), bigint, string, boolean
  if (v instanceof Date) return v.getTime();
  if (Symbol.iterator in v) return Array.from(v as Iterable<unknown>, plain); // Vector, StructRow, MapRow, typed arrays, [k, v]
  return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, plain(x)]));
}

function expectSameTable(actual: Table, expected: Table): void {
  expect(actual.schema.fields.map(String)).toEqual(expected.schema.fields.map(String));
  expect(actual.numRows).toBe(expected.numRows);
  for (let c = 0; c < expected.numCols; c++) {
    const a = actual.getChildAt(c);
    const e = expected.getChildAt(c);
    // get(i)/spread, not toArray(): a null slot's bytes in the values buffer are arbitrary.
    expect(plain(a)).toEqual(plain(e));
    expect(a?.nullCount).toBe(e?.nullCount);
  }
}

async function failure(p: Promise<unknown>): Promise<unknown> {
  return p.then(
    () => new Error('expected a failure, got a result'),
    (e: unknown) => e,
  );
}

const arrayBufferOf = (b: Uint8Array): ArrayBuffer => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

let server: ObjectServer;
const uncaught = watchUncaught();

beforeAll(async () => {
  server = await new ObjectServer().start();
});
afterAll(async () => {
  await server.stop();
});

async function open(name: string, bytes: Uint8Array): Promise<ParquetSource> {
  server.put(name, bytes);
  return openParquet(httpBackend({ baseUrl: server.url }), name, { metadataCache: false });
}

describe('parquet-testing data/ corpus over HTTP', () => {
  it('finds the corpus, subfolders included, and every listed file exists', () => {
    expect(FILES.length).toBeGreaterThan(70);
    expect(FILES).toContain('geospatial/geospatial.parquet');
    expect(FILES).toContain('aes256/uniform_encryption.parquet.encrypted');
    // The encrypted list is exactly the files named *.encrypted or with footer magic PARE.
    expect(FILES.filter((f) => f.endsWith('.encrypted') || magic(bytesOf(f)) === 'PARE')).toEqual(ENCRYPTED);
    expect(ENCRYPTED.filter((f) => magic(bytesOf(f)) === 'PAR1')).toEqual([
      'aes256/encrypt_columns_plaintext_footer.parquet.encrypted',
      'encrypt_columns_plaintext_footer.parquet.encrypted',
    ]);
    const listed = [...Object.keys(WASM_EXPECTED_FAILURES), ...Object.keys(HYPARQUET_EXPECTED_FAILURES), ...Object.keys(SYNC_READER_DIVERGES)];
    for (const name of listed) expect(FILES).toContain(name);
  });

  it.each(FILES)('%s', async (name) => {
    const bytes = bytesOf(name);
    server.resetLog();

    if (ENCRYPTED.includes(name)) {
      const err = await failure(open(name, bytes));
      expect(err).toBeInstanceOf(ReaderError);
      expect(err).toMatchObject({ kind: 'Unsupported', code: 'ENCRYPTED' });
      expect(server.requests).toHaveLength(1); // the tail GET; no data request
      return;
    }

    const source = await open(name, bytes);

    // parquet-wasm: our stack (worker, reading from the buffer) vs the whole file in memory.
    const wasmFailure = WASM_EXPECTED_FAILURES[name];
    if (wasmFailure) {
      const [memory, ours] = await Promise.all([wasmInMemoryIsolated(bytes), failure(source.readTable())]);
      expect(memory).toMatchObject({ error: expect.stringMatching(wasmFailure.memory) });
      expect(ours).toBeInstanceOf(ReaderError);
      expect(ours).toMatchObject({ kind: wasmFailure.kind });
    } else {
      const table = await source.readTable();
      // The decode sent copies to the worker: the buffer still holds the file, byte for byte.
      expect(Buffer.from(await source.readAt(0, bytes.byteLength)).equals(bytes)).toBe(true);
      const diverges = SYNC_READER_DIVERGES[name];
      if (diverges) {
        expect(tableFromIPC(readParquet(bytes).intoIPCStream()).numRows).toBe(diverges.readParquetRows);
        const file = await ParquetFile.fromFile(new Blob([arrayBufferOf(bytes)]));
        const reference = tableFromIPC((await file.read()).intoIPCStream());
        file.free();
        expect(reference.numRows).not.toBe(diverges.readParquetRows);
        expectSameTable(table, reference);
      } else {
        expectSameTable(table, tableFromIPC(readParquet(bytes).intoIPCStream()));
      }
    }

    // hyparquet: on our AsyncBuffer (raw, and through readObjects) vs the whole file in memory.
    const whole = await parquetReadObjects({ file: arrayBufferOf(bytes) }).then(
      (rows) => ({ rows, error: undefined }),
      (error: unknown) => ({ rows: undefined, error: error as Error }),
    );
    const hypFailure = HYPARQUET_EXPECTED_FAILURES[name];
    if (hypFailure) {
      expect(whole.error?.message).toMatch(hypFailure.memory);
      const raw = await failure(parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata }));
      expect((raw as Error).message).toBe(whole.error?.message); // hyparquet's own plain error, unchanged
      const ours = await failure(source.readObjects());
      expect(ours).toBeInstanceOf(ReaderError);
      expect(ours).toMatchObject({ kind: hypFailure.kind, cause: { message: whole.error?.message } });
    } else {
      expect(whole.error).toBeUndefined();
      expect(await parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata })).toEqual(whole.rows);
      expect(await source.readObjects()).toEqual(whole.rows);
    }

    // A file within the tail window: the open's one suffix GET served both decoders. A larger one
    // (alltypes_tiny_pages_plain, 793 KiB): one more GET for the bytes before the window, leading magic included.
    const list = server.requests.map((r) => `${r.method} ${r.range ?? ''}`);
    expect(list[0]).toBe(`GET bytes=-${DEFAULT_FOOTER_WINDOW}`);
    if (bytes.byteLength <= DEFAULT_FOOTER_WINDOW) expect(list).toHaveLength(1);
    else expect(list).toEqual([list[0], `GET bytes=0-${bytes.byteLength - DEFAULT_FOOTER_WINDOW - 1}`]);
    await source.close();
  }, 60_000);

  it('a chunk of only a dictionary page (data_page_offset 0) starts at its dictionary page', async () => {
    const name = 'column_chunk_key_value_metadata.parquet';
    const source = await open(name, bytesOf(name));
    expect(source.metadata.row_groups[0]?.columns[0]?.meta_data?.data_page_offset).toBe(0n);
    expect(source.columnChunks).toEqual([
      [
        { rowGroup: 0, column: 'column1', offset: 4, length: 14 },
        { rowGroup: 0, column: 'column2', offset: 97, length: 14 },
      ],
    ]);
    await source.close();
  });

  it('readObjects prefetches only the row groups of [rowStart, rowEnd) and the columns asked for, in one wave', async () => {
    const name = 'geospatial/geospatial.parquet'; // 31 row groups
    const bytes = bytesOf(name);
    server.put(name, bytes);
    const source = await openParquet(httpBackend({ baseUrl: server.url }), name, { metadataCache: false, footerSizeHint: 13_000 });
    expect(source.held.offset).toBeGreaterThan(0); // the data is not in the tail: it must be fetched
    const column = source.schema.children[0]?.element.name as string;
    const opts = { columns: [column], rowStart: 60, rowEnd: 90 };
    const firstRows = source.rowGroups.map((_, i) => source.rowGroups.slice(0, i).reduce((n, r) => n + r.numRows, 0));
    const rowGroups = source.rowGroups.filter((rg) => (firstRows[rg.index] as number) < 90 && (firstRows[rg.index] as number) + rg.numRows > 60).map((rg) => rg.index);
    const plan = source.plan({ columns: [column], rowGroups });
    server.resetLog();
    const rows = await source.readObjects(opts);
    expect(rows).toEqual(await parquetReadObjects({ ...opts, file: arrayBufferOf(bytes) }));
    expect(rows).toHaveLength(30);
    expect(server.requests.map((r) => r.range)).toEqual(plan.requests.map((r) => `bytes=${r.offset}-${r.offset + r.length - 1}`));
    expect(plan.requestCount).toBeGreaterThan(0);
    await expect(source.readObjects({ columns: ['no-such-column'] })).rejects.toMatchObject({ kind: 'InvalidInput' });
    await source.close();
  });

  it('no uncaught exception or unhandled rejection escaped any decoder', () => {
    expect(uncaught).toEqual([]);
  });
});
