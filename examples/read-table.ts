/**
 * Read a Parquet file into an apache-arrow Table, counting every request.
 *
 *   npx tsx examples/read-table.ts <url> [column,column]
 *
 * <url>: s3://bucket/key, https://host/file.parquet, file:///path or a local path.
 */
import { backendFromUrl, openParquet, withMetrics } from '../src/node.js';

const url = process.argv[2] ?? process.env.PARQUET_URL;
if (!url) throw new Error('usage: read-table.ts <url> [column,column]');
const columns = process.argv[3]?.split(',');

// Any backend works; withMetrics counts what the server sees.
const { backend, path } = backendFromUrl(url);
const metered = withMetrics(backend);

// One suffix GET: the footer, and everything of a small file. Reading every column says so, and
// the GET then asks for the whole-read window (~1.9 MiB) instead of the tail window (~786 KiB).
const source = await openParquet(metered, path, { expect: columns ? 'part' : 'whole' });
const plan = source.plan(columns ? { columns } : {}); // pure: what the read will fetch
console.log(`file: ${source.size} bytes, ${source.numRows} rows in ${source.rowGroups.length} row groups`);
console.log(`plan: ${plan.requestCount} data requests, ${plan.bytesToFetch} bytes; round trips: ${plan.roundTrips}`);

const table = await source.readTable(columns ? { columns } : {}); // parquet-wasm, in a worker
console.log(`table: ${table.numRows} rows × ${table.numCols} columns (${table.schema.fields.map((f) => `${f.name}: ${f.type}`).join(', ')})`);
const first = table.get(0)?.toJSON() ?? {};
console.log(`first row: ${JSON.stringify(first, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`);

const m = metered.metrics.snapshot();
console.log(`requests: ${m.gets} GET, ${m.heads} HEAD, ${m.bytesReceived} bytes; round trips: ${m.roundTrips}`);
await source.close();
