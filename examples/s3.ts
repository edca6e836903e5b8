/**
 * S3 (or any S3-compatible store): open by s3:// URL, look at the footer, plan the first row group,
 * and decode a few of its rows — with every request counted.
 *
 *   AWS_ENDPOINT_URL_S3=http://127.0.0.1:5000 npx tsx examples/s3.ts s3://bucket/file.parquet
 *
 * Region, endpoint and credentials come from the usual AWS environment and config (AWS_REGION,
 * AWS_ENDPOINT_URL_S3, AWS_PROFILE, AWS_ACCESS_KEY_ID, ...); a custom endpoint uses path-style URLs.
 */
import { backendFromUrl, openParquet, withMetrics, type S3Backend } from '../src/node.js';

const url = process.argv[2] ?? process.env.S3_URL;
if (!url?.startsWith('s3://')) throw new Error('usage: s3.ts s3://bucket/key.parquet');

const { backend, path } = backendFromUrl(url);
const s3 = backend as unknown as S3Backend;
console.log(`bucket ${s3.bucket} at ${s3.endpoint} (${s3.region}, ${s3.pathStyle ? 'path style' : 'virtual-hosted'}); ${s3.credentialSource}`);

const metered = withMetrics(backend);
const source = await openParquet(metered, path);
const shown = source.columns.slice(0, 4).join(', ') + (source.columns.length > 4 ? ', …' : '');
console.log(`${path}: ${source.size} bytes, etag ${source.etag}, ${source.numRows} rows, ${source.rowGroups.length} row groups, ${source.columns.length} columns (${shown})`);

// The first row group: the farthest from the footer, so it was not in the tail the open fetched.
const columns = source.columns.slice(0, 2);
const plan = source.plan({ rowGroups: [0], columns });
console.log(`plan for row group 0: ${plan.requestCount} requests, ${plan.bytesToFetch} bytes, $${plan.s3CostUsd.toFixed(7)}`);

const rows = await source.readObjects({ columns, rowStart: 0, rowEnd: 3 }); // prefetches that plan, then hyparquet decodes
for (const row of rows) console.log(JSON.stringify(row, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)));

const m = metered.metrics.snapshot();
console.log(`requests: ${m.gets} GET, ${m.heads} HEAD; round trips: ${m.roundTrips}`);
await source.close();
