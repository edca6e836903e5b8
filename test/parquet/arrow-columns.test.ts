/**
 * Arrow columns read as hyparquet's values: timestamps in every unit give the time of the Date
 * hyparquet's parsers make of the same int64 (truncating division, Invalid Date past ±8.64e15 ms),
 * where Arrow's own getter rounds differently or throws; nulls and nulls above a leaf; columns a
 * batch lacks.
 */
import * as arrow from 'apache-arrow';
import fc from 'fast-check';
import { parquetMetadata, parquetSchema } from 'hyparquet';
import { DEFAULT_PARSERS } from 'hyparquet/src/convert.js';
import * as wasm from 'parquet-wasm';
import { describe, expect, it } from 'vitest';
import { hasErrorCode, type ReaderError } from '../../src/errors.js';
import { plainColumn, timestampMs, valueAt } from '../../src/parquet/arrow-columns.js';
import { writeTypedColumns, TYPED_COLUMNS } from '../support/typed-columns.js';

const UNITS = [
  { unit: arrow.TimeUnit.MILLISECOND, parse: (x: bigint) => DEFAULT_PARSERS.timestampFromMilliseconds(x) },
  { unit: arrow.TimeUnit.MICROSECOND, parse: (x: bigint) => DEFAULT_PARSERS.timestampFromMicroseconds(x) },
  { unit: arrow.TimeUnit.NANOSECOND, parse: (x: bigint) => DEFAULT_PARSERS.timestampFromNanoseconds(x) },
];

/** int64s spread over every magnitude, with the edges of exactness (2^53) and of a Date (8.64e15 ms) near. */
const int64 = fc.oneof(
  fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n }),
  fc.bigInt({ min: -(2n ** 24n), max: 2n ** 24n }),
  fc.tuple(fc.constantFrom(2n ** 53n, 8_640_000_000_000_000n, 8_640_000_000_000_000_000n, 2n ** 62n), fc.bigInt({ min: -2_000_000n, max: 2_000_000n }), fc.boolean()).map(([base, d, neg]) => {
    const x = base + d;
    return neg ? -x : x;
  }),
);

describe('timestampMs', () => {
  for (const { unit, parse } of UNITS) {
    it(`unit ${arrow.TimeUnit[unit]}: the time of hyparquet's Date, NaN for an Invalid Date`, () => {
      fc.assert(
        fc.property(fc.array(int64, { minLength: 1, maxLength: 50 }), (xs) => {
          const got = timestampMs(BigInt64Array.from(xs), unit);
          expect([...got]).toEqual(xs.map((x) => parse(x).getTime()));
        }),
        { numRuns: 300 },
      );
    });
  }

  it('µs with |ms| ≥ 2^52 truncate to whole ms as the bigint division does (a double division would round up)', () => {
    const x = 2n ** 52n * 1_000n + 999n; // 2^52 ms + 999 µs
    expect(timestampMs(BigInt64Array.of(x, -x), arrow.TimeUnit.MICROSECOND)).toEqual(Float64Array.of(2 ** 52, -(2 ** 52)));
  });
});

describe('plainColumn', () => {
  const rows = Array.from({ length: 14 }, (_, i) => Object.values(TYPED_COLUMNS).map((c) => i % c.pool.length));
  const bytes = writeTypedColumns(rows);
  const table = arrow.tableFromIPC(wasm.readParquet(bytes).intoIPCStream());
  const tree = parquetSchema(parquetMetadata(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer));
  const batch = table.batches[0] as arrow.RecordBatch;

  it('ms timestamps beyond ±2^53 read without the TypeError Arrow’s getter throws, as Invalid Dates', () => {
    const vector = batch.getChild('tms');
    expect(() => [...Array(batch.numRows).keys()].map((i) => vector?.get(i))).toThrow(TypeError); // Arrow's bigIntToNumber
    const col = plainColumn(arrow, batch, tree, 'tms');
    expect(col.form).toBe('dates');
    const pool = TYPED_COLUMNS.tms?.pool as (bigint | null)[];
    for (let i = 0; i < batch.numRows; i++) {
      const raw = pool[i % pool.length];
      const want = raw === null || raw === undefined ? null : DEFAULT_PARSERS.timestampFromMilliseconds(raw);
      expect(valueAt(col, i)).toEqual(want);
    }
  });

  it('the forms: numbers, bigints and booleans as values, strings as bytes, decimals row by row; nulls are null', () => {
    expect(plainColumn(arrow, batch, tree, 'i32').form).toBe('values');
    expect(plainColumn(arrow, batch, tree, 'i64').form).toBe('values');
    expect(plainColumn(arrow, batch, tree, 'b').form).toBe('values');
    expect(plainColumn(arrow, batch, tree, 's').form).toBe('utf8');
    expect(plainColumn(arrow, batch, tree, 'bin').form).toBe('utf8');
    expect(plainColumn(arrow, batch, tree, 'day').form).toBe('dates');
    const dec = plainColumn(arrow, batch, tree, 'dec');
    expect(dec.form).toBe('rows');
    expect([...Array(batch.numRows).keys()].map((i) => valueAt(dec, i))).toEqual(rows.map((r) => TYPED_COLUMNS.dec?.pool[r[11] as number] ?? null));
    const s = plainColumn(arrow, batch, tree, 's');
    expect([...Array(batch.numRows).keys()].map((i) => valueAt(s, i))).toEqual(rows.map((r) => TYPED_COLUMNS.s?.pool[r[5] as number] ?? null));
  });

  it('a value Arrow’s getter cannot read (a date64 past 2^53 ms) is InvalidData / DECODE_FAILED, not a TypeError', () => {
    const type = new arrow.DateMillisecond();
    const d = arrow.makeData({ type, length: 2, nullCount: 0, data: BigInt64Array.of(0n, 2n ** 60n) });
    const schema = new arrow.Schema([new arrow.Field('d', type, false)]);
    const b = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: 2, nullCount: 0, children: [d] }));
    const dateTree: Parameters<typeof plainColumn>[2] = { element: { name: 'root' }, count: 2, path: [], children: [{ element: { name: 'd', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS' }, count: 1, path: ['d'], children: [] }] };
    let err: unknown;
    try {
      plainColumn(arrow, b, dateTree, 'd', { path: 'f.parquet' });
    } catch (e) {
      err = e;
    }
    expect(hasErrorCode(err, 'DECODE_FAILED'), String(err)).toBe(true);
    expect((err as ReaderError).kind).toBe('InvalidData');
  });

  it('a null struct above a leaf reads as undefined (hyparquet’s path through null), a column the batch lacks as undefined', () => {
    const x = arrow.makeData({ type: new arrow.Int32(), length: 3, nullCount: 0, data: Int32Array.of(1, 2, 3) });
    const structType = new arrow.Struct([new arrow.Field('x', new arrow.Int32(), true)]);
    const s = arrow.makeData({ type: structType, length: 3, nullCount: 1, nullBitmap: Uint8Array.of(0b101), children: [x] });
    const schema = new arrow.Schema([new arrow.Field('s', structType, true)]);
    const b = new arrow.RecordBatch(schema, arrow.makeData({ type: new arrow.Struct(schema.fields), length: 3, nullCount: 0, children: [s] }));
    const nested: Parameters<typeof plainColumn>[2] = {
      element: { name: 'root' },
      count: 3,
      path: [],
      children: [{ element: { name: 's', repetition_type: 'OPTIONAL' }, count: 2, path: ['s'], children: [{ element: { name: 'x', type: 'INT32', repetition_type: 'OPTIONAL' }, count: 1, path: ['s', 'x'], children: [] }] }],
    };
    const col = plainColumn(arrow, b, nested, 's.x');
    expect([0, 1, 2].map((i) => valueAt(col, i))).toEqual([1, undefined, 3]);
    const none = plainColumn(arrow, b, nested, 'nope');
    expect([0, 1, 2].map((i) => valueAt(none, i))).toEqual([undefined, undefined, undefined]);
  });
});
