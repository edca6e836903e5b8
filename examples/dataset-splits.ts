/**
 * Read a folder of Parquet files as one table, fanned out over worker threads: the main thread
 * lists and plans (footers only), each worker reads the splits it is sent — plain JSON, with no
 * listing and no credentials in it — and the main thread merges the results.
 *
 *   npx tsx examples/dataset-splits.ts <prefix> [workers] [filter-column=value]
 *
 * <prefix>: s3://bucket/events/, file:///data/events/, ./events/, or an https:// manifest.
 * The same splits could go to a queue, other processes or serverless functions instead.
 */
import { availableParallelism } from 'node:os';
import { Worker, isMainThread, parentPort } from 'node:worker_threads';
import { tableFromIPC, tableToIPC, type Table } from 'apache-arrow';
import { openDataset, readSplit, type DatasetSplit, type RowGroupFilter } from '../src/node.js';

if (isMainThread) {
  const prefix = process.argv[2];
  if (!prefix) throw new Error('usage: dataset-splits.ts <prefix> [workers] [column=value]');
  const workers = Math.max(1, Number(process.argv[3] ?? Math.min(4, availableParallelism())));
  const [column, value] = process.argv[4]?.split('=') ?? [];
  const filter: RowGroupFilter | undefined = column && value !== undefined ? { column, eq: /^-?\d+$/.test(value) ? Number(value) : value } : undefined;

  // One listing, then one GET per footer of the files the filter keeps (partition pruning first).
  const dataset = await openDataset(prefix, filter ? { filter } : {});
  const splits = await dataset.splits(filter ? { filter } : {});
  console.log(`dataset: ${dataset.files.length} files (${dataset.openStats.prunedFiles} pruned by partition), ${dataset.numRows} rows; partitions: ${dataset.partitions.fields.map((f) => `${f.name}: ${f.type}`).join(', ') || 'none'}`);
  console.log(`open: ${dataset.openStats.listRequests} LIST, ${dataset.openStats.footerRequests} footer GETs; ${splits.length} splits for ${workers} workers`);

  // Fan out: each worker takes the next split when it is free; the split crosses as JSON text.
  const pool = Array.from({ length: workers }, startWorker);
  const tables: Table[] = [];
  let next = 0;
  await Promise.all(
    pool.map(async (worker) => {
      while (next < splits.length) {
        const split = splits[next++] as DatasetSplit;
        const answer = await new Promise<{ ipc?: Uint8Array; error?: string }>((resolve) => {
          worker.once('message', resolve);
          worker.postMessage(JSON.stringify(split));
        });
        if (answer.error || !answer.ipc) throw new Error(answer.error ?? 'no answer');
        tables.push(tableFromIPC(answer.ipc));
      }
      await worker.terminate();
    }),
  );

  // Merge: here, row counts per value of the first partition column.
  const rows = tables.reduce((n, t) => n + t.numRows, 0);
  const key = dataset.partitions.fields[0]?.name;
  const counts = new Map<string, number>();
  for (const t of tables) {
    const col = key ? t.getChild(key) : undefined;
    for (let i = 0; i < t.numRows; i++) {
      const k = String(col?.get(i) ?? null);
      counts.set(k, (counts.get(k) ?? 0) + 1);
    }
  }
  console.log(`read: ${rows} rows in ${tables.length} tables`);
  if (key) console.log(`rows by ${key}: ${[...counts].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k}=${n}`).join(', ')}`);
} else {
  // A worker: credentials (if any) come from its own environment, never from the split.
  parentPort?.on('message', (json: string) => {
    readSplit(JSON.parse(json) as DatasetSplit).then(
      (table) => parentPort?.postMessage({ ipc: tableToIPC(table, 'stream') }),
      (err: unknown) => parentPort?.postMessage({ error: String(err) }),
    );
  });
}

/** This file is the worker too. Run as TypeScript (tsx), the worker loads it through tsx's API. */
function startWorker(): Worker {
  const self = import.meta.url;
  if (!self.endsWith('.ts')) return new Worker(new URL(self));
  return new Worker(`import('tsx/esm/api').then((m) => m.tsImport(${JSON.stringify(self)}, ${JSON.stringify(self)}))`, { eval: true });
}
