/**
 * A Parquet file of one row per value tuple over the column types a row filter compares, written by
 * hyparquet-writer with an explicit schema (so raw int64 timestamps in every unit, out-of-range dates
 * and decimals can be written): the corpus the column-wise filter is checked on against hyparquet.
 */
import type { SchemaElement } from 'hyparquet';
import { parquetWriteBuffer } from 'hyparquet-writer';

/** One typed column: its schema element and the values a property test draws from (null: a null row). */
export interface TypedColumn {
  element: SchemaElement;
  pool: readonly unknown[];
}

const f32 = (x: number) => Math.fround(x);
const MAX_MS = 8_640_000_000_000_000n; // the largest time a Date holds
const P53 = 2n ** 53n;

export const TYPED_COLUMNS: Record<string, TypedColumn> = {
  i32: { element: { name: 'i32', type: 'INT32', repetition_type: 'OPTIONAL' }, pool: [-3, -1, 0, 1, 2, 3, 2_147_483_647, -2_147_483_648, null] },
  i64: { element: { name: 'i64', type: 'INT64', repetition_type: 'OPTIONAL' }, pool: [-3n, -1n, 0n, 1n, 2n, 3n, P53 + 1n, P53, -(2n ** 63n), 2n ** 63n - 1n, null] },
  f64: { element: { name: 'f64', type: 'DOUBLE', repetition_type: 'OPTIONAL' }, pool: [-1.5, 0, -0, 1, 2, 2.5, NaN, Infinity, -Infinity, 1e300, 9_007_199_254_740_993, null] },
  f32: { element: { name: 'f32', type: 'FLOAT', repetition_type: 'OPTIONAL' }, pool: [f32(0.1), 1.5, -2, 0, NaN, null] },
  b: { element: { name: 'b', type: 'BOOLEAN', repetition_type: 'OPTIONAL' }, pool: [true, false, null] },
  s: { element: { name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' }, pool: ['', 'a', 'ab', 'b', 'B', 'é', '😀', '\uE000', 'zz', null] },
  bin: { element: { name: 'bin', type: 'BYTE_ARRAY', repetition_type: 'OPTIONAL' }, pool: ['a', 'b', 'ab', '', null] },
  tms: {
    element: { name: 'tms', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' },
    pool: [0n, 1n, -1n, 1_704_067_200_000n, MAX_MS, MAX_MS + 1n, -MAX_MS, P53 + 1n, -(2n ** 60n), 2n ** 63n - 1n, null],
  },
  tus: {
    element: { name: 'tus', type: 'INT64', converted_type: 'TIMESTAMP_MICROS', repetition_type: 'OPTIONAL' },
    pool: [0n, 999n, 1_000n, 1_500n, -1n, -999n, -1_000n, -1_500n, 1_704_067_200_000_999n, P53 * 1_000n + 999n, -(P53 * 1_000n) - 999n, MAX_MS * 1_000n + 999n, 2n ** 62n + 12_345n, null],
  },
  tns: {
    element: { name: 'tns', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'NANOS' }, repetition_type: 'OPTIONAL' },
    pool: [0n, 999_999n, 1_000_000n, -1n, -1_000_001n, 1_704_067_200_000_999_999n, 2n ** 62n + 1n, -(2n ** 63n), 2n ** 63n - 1n, (P53 + 1n) * 1_000n, null],
  },
  day: { element: { name: 'day', type: 'INT32', converted_type: 'DATE', repetition_type: 'OPTIONAL' }, pool: [0, 1, -1, 19_723, 100_000_000, 100_000_001, -100_000_001, null] },
  dec: { element: { name: 'dec', type: 'INT32', converted_type: 'DECIMAL', scale: 2, precision: 9, repetition_type: 'OPTIONAL' }, pool: [0, 1.25, -1.25, 3, 0.01, null] },
};

export const TYPED_NAMES = Object.keys(TYPED_COLUMNS);

/** Writes `rows` (each a value per column of TYPED_COLUMNS, by pool index) in row groups of `rowGroupSize`. */
export function writeTypedColumns(rows: readonly (readonly number[])[], rowGroupSize = 1_000): Uint8Array {
  const columns = Object.values(TYPED_COLUMNS);
  const schema: SchemaElement[] = [{ name: 'root', num_children: columns.length }, ...columns.map((c) => c.element)];
  const columnData = columns.map((c, k) => ({ name: c.element.name, data: rows.map((r) => c.pool[r[k] as number] ?? null) as never }));
  return new Uint8Array(parquetWriteBuffer({ columnData, schema, rowGroupSize, pageSize: 256 }));
}
