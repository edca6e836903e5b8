import { describe, expect, it } from 'vitest';
import { hiveSegments, inferType, partitionFiles, typedValue } from '../../src/dataset/hive.js';
import { bindPartitions } from '../../src/dataset/prune.js';
import { isDataFile } from '../../src/dataset/files.js';

describe('hive partitions', () => {
  it('reads key=value folders (not the file name), URL-decoded', () => {
    expect(hiveSegments('year=2024/month=05/region=ap%20west%2Fx%3D1/part=1.parquet')).toEqual([
      ['year', '2024'],
      ['month', '05'],
      ['region', 'ap west/x=1'],
    ]);
    expect(hiveSegments('plain/dir/x.parquet')).toEqual([]);
    expect(hiveSegments('bad=%E0%A4%A/x')).toEqual([['bad', '%E0%A4%A']]);
  });

  it('infers int, then date, then string, ignoring nulls; types values; __HIVE_DEFAULT_PARTITION__ is null', () => {
    expect(inferType(['1', '05', null, '-3'])).toBe('int');
    expect(inferType(['2024-05-01', null])).toBe('date');
    expect(inferType(['2024-02-30'])).toBe('string');
    expect(inferType(['1', 'x'])).toBe('string');
    expect(inferType(['1234567890123456'])).toBe('string'); // past 2^53: kept exact as a string
    expect(typedValue('05', 'int', { path: 'p', field: 'm' })).toBe(5);
    expect(() => typedValue('x', 'int', { path: 'p', field: 'm' })).toThrow(expect.objectContaining({ code: 'BAD_PARTITION' }));
    const { schema, values } = partitionFiles(
      [
        { path: 'a', relative: 'd=2024-01-02/k=__HIVE_DEFAULT_PARTITION__/a.parquet' },
        { path: 'b', relative: 'd=2024-01-03/k=7/b.parquet' },
      ],
      'hive',
    );
    expect(schema.fields).toEqual([
      { name: 'd', type: 'date' },
      { name: 'k', type: 'int' },
    ]);
    expect(values).toEqual([
      { d: new Date('2024-01-02T00:00:00Z'), k: null },
      { d: new Date('2024-01-03T00:00:00Z'), k: 7 },
    ]);
    const given = partitionFiles([{ path: 'a', relative: 'k=7/a.parquet' }], { fields: ['k'], types: { k: 'string' } });
    expect(given.values).toEqual([{ k: '7' }]);
  });

  it('binds partition comparisons per file: exact answers, the rest left for statistics', () => {
    const v = { year: 2024, region: null, day: new Date('2024-05-01T00:00:00Z') };
    expect(bindPartitions({ column: 'year', eq: 2024 }, v)).toBe(true);
    expect(bindPartitions({ column: 'year', in: [2022, 2023] }, v)).toBe(false);
    expect(bindPartitions({ column: 'region', eq: 'eu' }, v)).toBe(false); // null matches nothing
    expect(bindPartitions({ and: [{ column: 'year', gte: 2024 }, { column: 'id', lt: 5 }] }, v)).toEqual({ column: 'id', lt: 5 });
    expect(bindPartitions({ or: [{ column: 'year', lt: 2024 }, { column: 'id', lt: 5 }] }, v)).toEqual({ column: 'id', lt: 5 });
    expect(bindPartitions({ or: [{ column: 'year', lt: 2024 }, { column: 'day', lt: new Date('2024-06-01') }] }, v)).toBe(true);
    expect(bindPartitions({ and: [{ column: 'id', lt: 5 }, { column: 'year', eq: 1 }] }, v)).toBe(false);
  });

  it('keeps data files only: no hidden or _ files, no .crc, the suffix', () => {
    expect(isDataFile('year=1/a.parquet')).toBe(true);
    expect(['_SUCCESS', '_metadata', 'y=1/.a.parquet.crc', '.hidden/a.parquet', '_temporary/0/a.parquet', 'a.csv', 'y=1/'].map((p) => isDataFile(p))).toEqual([false, false, false, false, false, false, false]);
    expect(isDataFile('a.csv', false)).toBe(true);
  });
});
