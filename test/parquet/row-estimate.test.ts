/** Rows per stage and the uniform estimate, on hand-made metadata. */
import type { FileMetaData } from 'hyparquet';
import { describe, expect, it } from 'vitest';
import { expectedRows } from '../../src/parquet/row-estimate.js';

const group = (min: number, max: number, rows = 100, extra: Record<string, unknown> = {}) => ({
  num_rows: BigInt(rows),
  columns: [{ meta_data: { path_in_schema: ['x'], statistics: { min_value: min, max_value: max, ...extra } } }],
});
const md = { row_groups: [group(0, 99), group(100, 199), group(200, 299, 100, { null_count: 50n })] } as unknown as FileMetaData;

describe('expectedRows', () => {
  it('counts rows per stage and estimates a range uniformly between min and max', () => {
    const s = expectedRows(md, { column: 'x', gte: 150, lt: 250 }, [0, 1, 2], [1, 2], [1, 2], undefined);
    expect(s.selected).toBe(300);
    expect(s.rowGroups).toBe(200);
    expect(s.pages).toBe(200);
    // Group 1: 49/99 of 100 rows; group 2: 50/99 of the 50 non-null rows.
    expect(s.estimate).toBe(Math.round((100 * 49) / 99 + (50 * 50) / 99));
  });

  it('eq on integers: one value of max − min + 1 (or distinct_count); in: k of them; never more than the kept pages', () => {
    expect(expectedRows(md, { column: 'x', eq: 5 }, [0], [0], [0], undefined).estimate).toBe(1);
    expect(expectedRows(md, { column: 'x', in: [1, 2, 3] }, [0], [0], [0], undefined).estimate).toBe(3);
    const distinct = { row_groups: [group(0, 99, 100, { distinct_count: 4n })] } as unknown as FileMetaData;
    expect(expectedRows(distinct, { column: 'x', eq: 5 }, [0], [0], [0], undefined).estimate).toBe(25);
    const pages = expectedRows(md, { column: 'x', lt: 100 }, [0], [0], [0], [{ rowGroup: 0, rows: [[0, 10]] }]);
    expect(pages).toEqual({ selected: 100, rowGroups: 100, pages: 10, estimate: 10 });
  });

  it('and multiplies, or adds what the other leaves; unknown statistics estimate every row', () => {
    // Bounds on one column make one range; on different columns they multiply.
    const range = expectedRows(md, { and: [{ column: 'x', lt: 50 }, { column: 'x', gte: 25 }] }, [0], [0], [0], undefined).estimate;
    expect(range).toBe(Math.round(100 * (25 / 99)));
    const two = { row_groups: [{ num_rows: 100n, columns: [...group(0, 99).columns, { meta_data: { path_in_schema: ['y'], statistics: { min_value: 0, max_value: 9 } } }] }] } as unknown as FileMetaData;
    const and = expectedRows(two, { and: [{ column: 'x', lt: 50 }, { column: 'y', eq: 3 }] }, [0], [0], [0], undefined).estimate;
    expect(and).toBe(Math.round(100 * (50 / 99) * (1 / 10)));
    const or = expectedRows(md, { or: [{ column: 'x', lt: 50 }, { column: 'x', eq: 90 }] }, [0], [0], [0], undefined).estimate;
    expect(or).toBe(Math.round(100 * (1 - (1 - 50 / 99) * (1 - 1 / 100))));
    expect(expectedRows(md, { column: 'y', eq: 1 }, [0], [0], [0], undefined).estimate).toBe(100);
  });
});
