/** Helpers of the dataset tests: rows as comparable lines, splits read in worker threads. */
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import { tableFromIPC, type Table } from 'apache-arrow';
import type { DatasetSplit } from '../../src/dataset/splits.js';

/** Rows as sorted JSON lines (order across workers is not the dataset's). */
export function rowsOf(t: Table): string[] {
  const names = t.schema.fields.map((f) => f.name);
  const out: string[] = [];
  for (let i = 0; i < t.numRows; i++) out.push(JSON.stringify(names.map((n) => String(t.getChild(n)?.get(i) ?? null))));
  return out.sort();
}

/** Reads every split in `workers` worker threads (round robin) and returns the tables. */
export async function readInWorkers(splits: DatasetSplit[], workers: number, s3?: { accessKeyId: string; secretAccessKey: string }): Promise<Table[]> {
  // The worker is TypeScript: load it through tsx's API (vitest's own transform does not reach worker threads).
  const api = pathToFileURL(createRequire(import.meta.url).resolve('tsx/esm/api')).href.replace(/index\.cjs$/, 'index.mjs');
  const file = new URL('./split-worker.ts', import.meta.url).href;
  const code = `import(${JSON.stringify(api)}).then((m) => m.tsImport(${JSON.stringify(file)}, ${JSON.stringify(file)}))`;
  const pool = Array.from({ length: workers }, () => new Worker(code, { eval: true }));
  try {
    const one = (w: Worker, split: DatasetSplit) =>
      new Promise<Table>((resolve, reject) => {
        // Each split's listeners go when it settles (a worker reads many splits: they would pile up).
        const onMessage = (m: { ipc?: Uint8Array; error?: string }) => {
          w.off('error', onError);
          if (m.ipc) resolve(tableFromIPC(m.ipc));
          else reject(new Error(m.error));
        };
        const onError = (err: Error) => {
          w.off('message', onMessage);
          reject(err);
        };
        w.once('message', onMessage);
        w.once('error', onError);
        w.postMessage({ json: JSON.stringify(split), ...(s3 ? { s3 } : {}) });
      });
    const lanes = pool.map(async (w, lane) => {
      const mine: Table[] = [];
      for (let i = lane; i < splits.length; i += workers) mine.push(await one(w, splits[i] as DatasetSplit));
      return mine;
    });
    return (await Promise.all(lanes)).flat();
  } finally {
    await Promise.all(pool.map((w) => w.terminate()));
  }
}

