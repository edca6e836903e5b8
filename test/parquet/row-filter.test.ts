/** The two translations (ours → hyparquet's, anything → the planner's), value kinds and filter checks. Pure. */
import { parquetSchema, type FileMetaData, type ParquetQueryFilter, type SchemaElement } from 'hyparquet';
import { matchFilter } from 'hyparquet/src/filter.js';
import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../../src/errors.js';
import { rowGroupMayMatch } from '../../src/parquet/filter.js';
import { checkFilter, toPruningFilter, toQueryFilter, valueKind } from '../../src/parquet/row-filter.js';

const schema: SchemaElement[] = [
  { name: 'root', num_children: 6 },
  { name: 'i64', type: 'INT64', repetition_type: 'REQUIRED' },
  { name: 'f64', type: 'DOUBLE', repetition_type: 'OPTIONAL' },
  { name: 'ts', type: 'INT64', converted_type: 'TIMESTAMP_MILLIS', repetition_type: 'OPTIONAL' },
  { name: 's', type: 'BYTE_ARRAY', converted_type: 'UTF8', repetition_type: 'OPTIONAL' },
  { name: 'st', repetition_type: 'OPTIONAL', num_children: 1 },
  { name: 'x', type: 'INT32', repetition_type: 'OPTIONAL' },
  { name: 'l', repetition_type: 'REPEATED', type: 'INT32' },
];
const tree = parquetSchema({ schema } as unknown as FileMetaData);
const match = (row: Record<string, unknown>, f: ParquetQueryFilter) => matchFilter(row, f, true);

describe('valueKind: what hyparquet decodes a column to', () => {
  it('maps physical and logical types', () => {
    expect(valueKind({ name: 'a', type: 'INT64' })).toBe('bigint');
    expect(valueKind({ name: 'a', type: 'INT64', converted_type: 'DECIMAL', scale: 2 })).toBe('number');
    expect(valueKind({ name: 'a', type: 'INT64', logical_type: { type: 'TIMESTAMP', isAdjustedToUTC: true, unit: 'MICROS' } })).toBe('date');
    expect(valueKind({ name: 'a', type: 'INT32', converted_type: 'DATE' })).toBe('date');
    expect(valueKind({ name: 'a', type: 'INT96' })).toBe('date');
    expect(valueKind({ name: 'a', type: 'BYTE_ARRAY' })).toBe('string');
    expect(valueKind({ name: 'a', type: 'BYTE_ARRAY', converted_type: 'JSON' })).toBe('other');
    expect(valueKind({ name: 'a', type: 'FIXED_LEN_BYTE_ARRAY', logical_type: { type: 'FLOAT16' } })).toBe('number');
    expect(valueKind({ name: 'a', type: 'FIXED_LEN_BYTE_ARRAY' })).toBe('other');
    expect(valueKind({ name: 'a', type: 'BOOLEAN' })).toBe('boolean');
  });
});

describe('toQueryFilter: ours → hyparquet, values as the rows hold them', () => {
  it('integers cross number/bigint exactly; numbers are epoch ms for dates; incomparable values match nothing', () => {
    expect(toQueryFilter({ column: 'i64', eq: 5 }, tree)).toEqual({ i64: { $eq: 5n } });
    expect(toQueryFilter({ column: 'i64', gt: 4.5 }, tree)).toEqual({ i64: { $gt: 4.5 } }); // JS orders bigint against number exactly
    expect(toQueryFilter({ column: 'i64', eq: 4.5 }, tree)).toEqual({ i64: { $in: [] } });
    expect(toQueryFilter({ column: 'f64', eq: 2n ** 60n }, tree)).toEqual({ f64: { $eq: 2 ** 60 } });
    expect(toQueryFilter({ column: 'f64', eq: 2n ** 53n + 1n }, tree)).toEqual({ f64: { $in: [] } }); // no double equals it
    expect(toQueryFilter({ column: 'ts', eq: 1_000 }, tree)).toEqual({ ts: { $eq: new Date(1_000) } });
    expect(toQueryFilter({ column: 'ts', gte: 1_000 }, tree)).toEqual({ ts: { $gte: 1_000 } }); // JS orders a Date's time against it
    expect(toQueryFilter({ column: 'ts', eq: 1.5 }, tree)).toEqual({ ts: { $in: [] } }); // no Date holds a fraction of a ms
    expect(toQueryFilter({ column: 'ts', in: [2n, 9e15, 3] }, tree)).toEqual({ ts: { $in: [new Date(2), new Date(3)] } }); // past what a Date holds: none equals
    expect(toQueryFilter({ column: 's', eq: 5 }, tree)).toEqual({ s: { $in: [] } });
    expect(toQueryFilter({ column: 'i64', in: [1, 2.5, 'x', 3n] }, tree)).toEqual({ i64: { $in: [1n, 3n] } });
    expect(toQueryFilter({ column: 'st.x', lt: 3 }, tree)).toEqual({ 'st.x': { $lt: 3 } });
  });

  it('and/or nest; a Mongo-style part (even inside ours) passes through as written', () => {
    const q = toQueryFilter({ and: [{ column: 'i64', gte: 1 }, { or: [{ column: 's', eq: 'a' }, { f64: { $ne: 1 } }] }] } as never, tree);
    expect(q).toEqual({ $and: [{ i64: { $gte: 1n } }, { $or: [{ s: { $eq: 'a' } }, { f64: { $ne: 1 } }] }] });
    expect(match({ i64: 2n, s: 'b', f64: 2 }, q)).toBe(true);
    expect(match({ i64: 2n, s: 'b', f64: 1 }, q)).toBe(false);
    expect(match({ i64: 0n, s: 'a', f64: 2 }, q)).toBe(false);
  });

  it('rows: null never matches; bigints beyond 2^53 compare exactly', () => {
    const q = toQueryFilter({ column: 'i64', lt: 9_007_199_254_740_993n }, tree);
    expect(match({ i64: 9_007_199_254_740_992n }, q)).toBe(true);
    expect(match({ i64: 9_007_199_254_740_993n }, q)).toBe(false);
    expect(match({ i64: null }, toQueryFilter({ column: 'i64', lte: 10 }, tree))).toBe(false);
    expect(match({ ts: new Date(5) }, toQueryFilter({ column: 'ts', eq: new Date(5) }, tree))).toBe(true);
    expect(match({ ts: new Date(5) }, toQueryFilter({ column: 'ts', lt: 5.5 }, tree))).toBe(true);
    expect(match({ ts: new Date(5) }, toQueryFilter({ column: 'ts', lt: 2n ** 60n }, tree))).toBe(true); // past a Date's range, still ordered
    expect(match({ ts: new Date(5) }, toQueryFilter({ column: 'ts', gt: new Date(NaN) }, tree))).toBe(false);
  });
});

describe('toPruningFilter: what the planner can use', () => {
  const cols = ['i64', 'f64', 'ts', 's', 'st.x'];
  it('translates $eq/$gt/$gte/$lt/$lte/$in and implicit equality; leaves out what cannot prune', () => {
    expect(toPruningFilter({ i64: { $gte: 1, $lt: 5, $ne: 3 } }, cols)).toEqual({ column: 'i64', gte: 1, lt: 5 });
    expect(toPruningFilter({ s: 'a', f64: { $in: [1, 2] } } as unknown as ParquetQueryFilter, cols)).toEqual({ and: [{ column: 's', eq: 'a' }, { column: 'f64', in: [1, 2] }] });
    expect(toPruningFilter({ $or: [{ i64: { $lt: 1 } }, { s: { $ne: 'a' } }] }, cols)).toBeUndefined(); // a branch that may match anything
    expect(toPruningFilter({ $and: [{ i64: { $lt: 1 } }, { $nor: [{ s: { $eq: 'a' } }] }] }, cols)).toEqual({ column: 'i64', lt: 1 });
    expect(toPruningFilter({ st: { $eq: { x: 1 } } }, cols)).toBeUndefined(); // not a leaf
    expect(toPruningFilter({ or: [{ column: 'i64', eq: 1 }, { s: { $gt: 'b' } }] } as never, cols)).toEqual({ or: [{ column: 'i64', eq: 1 }, { column: 's', gt: 'b' }] });
  });

  it('strings past U+D800 are not compared with statistics (UTF-8 and UTF-16 orders differ there)', () => {
    const rg = (min: string, max: string) => ({ num_rows: 1n, columns: [{ meta_data: { path_in_schema: ['s'], statistics: { min_value: min, max_value: max } } }] }) as never;
    // By code point \uE000 < \uF000 < 😀, so a group with those bounds may hold \uF000; UTF-16 order would prune it.
    expect(rowGroupMayMatch({ column: 's', eq: '\uF000' }, rg('\uE000', '😀'))).toBe(true);
    expect(rowGroupMayMatch({ column: 's', eq: 'zz' }, rg('a', 'b'))).toBe(false);
  });
});

describe('checkFilter', () => {
  it('null values, a non-array in, repeated columns and unknown Mongo columns are INVALID_FILTER', () => {
    for (const f of [{ column: 'i64', eq: null }, { column: 'i64', in: 1 }, { column: 'l', eq: 1 }, { nope: { $eq: 1 } }, { and: [{ column: 'i64', gt: undefined, lt: {} }] }]) {
      let err: unknown;
      try {
        checkFilter(f as never, tree);
      } catch (e) {
        err = e;
      }
      expect(hasErrorCode(err, 'INVALID_FILTER'), JSON.stringify(f)).toBe(true);
    }
    expect(() => checkFilter({ and: [{ column: 'i64', gte: 1 }, { s: { $eq: 'a' } }] } as never, tree)).not.toThrow();
  });
});
