/**
 * Decode rows with hyparquet from the buffer: plan a selection, prefetch it in one wave, then let
 * hyparquet read through `toAsyncBuffer()` — it hits only the buffer.
 *
 *   npx tsx examples/hyparquet.ts <url> [rowStart] [rowEnd] [column,column]
 */
import { parquetReadObjects } from 'hyparquet';
import { backendFromUrl, openParquet, withMetrics } from '../src/node.js';

const [url = process.env.PARQUET_URL, start = '0', end = '5', cols] = process.argv.slice(2);
if (!url) throw new Error('usage: hyparquet.ts <url> [rowStart] [rowEnd] [column,column]');
const rowStart = Number(start);
const rowEnd = Number(end);
const columns = cols?.split(',');

const { backend, path } = backendFromUrl(url);
const metered = withMetrics(backend);
const source = await openParquet(metered, path);

// The row groups holding [rowStart, rowEnd).
const rowGroups: number[] = [];
let first = 0;
for (const rg of source.rowGroups) {
  if (first < rowEnd && first + rg.numRows > rowStart) rowGroups.push(rg.index);
  first += rg.numRows;
}
const plan = source.plan({ rowGroups, ...(columns ? { columns } : {}) });
await source.prefetch(plan);
const afterPrefetch = metered.metrics.snapshot().gets;

const rows = await parquetReadObjects({ file: source.toAsyncBuffer(), metadata: source.metadata, rowStart, rowEnd, ...(columns ? { columns } : {}) });
for (const row of rows) console.log(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

const m = metered.metrics.snapshot();
console.log(`row groups read: ${rowGroups.join(', ')}; GETs: ${afterPrefetch} to open and prefetch, ${m.gets - afterPrefetch} while decoding`);
await source.close();
