/**
 * Read an Arrow IPC file (Feather v2) with apache-arrow's RecordBatchReader through a BufferReader:
 * arrow makes ~4 small reads per record batch; the reader's growing read-ahead serves them in a few GETs.
 *
 *   npx tsx examples/arrow-ipc.ts <url>
 */
import type { FileHandle } from 'node:fs/promises';
import { RecordBatchReader } from 'apache-arrow';
import { BufferReader, arrowFileHandle, backendFromUrl, withMetrics } from '../src/node.js';

const url = process.argv[2] ?? process.env.ARROW_URL;
if (!url) throw new Error('usage: arrow-ipc.ts <url>');

const { backend, path } = backendFromUrl(url);
const metered = withMetrics(backend);
const reader = new BufferReader(metered, path);

// arrowFileHandle: what RecordBatchReader needs to read a file with random access (stat + fd + read).
// apache-arrow's types name Node's FileHandle; it uses only fd, stat, read and close.
const batches = await RecordBatchReader.from(arrowFileHandle(reader) as unknown as FileHandle);
await batches.open();
console.log(`${batches.isFile() ? 'random-access file' : 'stream'}; schema: ${batches.schema.fields.map((f) => f.name).join(', ')}`);
let count = 0;
let rows = 0;
for await (const batch of batches) {
  count++;
  rows += batch.numRows;
}
console.log(`${count} record batches, ${rows} rows`);

const m = metered.metrics.snapshot();
console.log(`requests: ${m.gets} GET, ${m.heads} HEAD, ${m.bytesReceived} bytes`);
await reader.close(); // arrow closes the handle (and so the reader) at the end already; closing twice is fine
