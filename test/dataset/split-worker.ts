/** A worker thread that reads the splits it is sent (JSON text) and answers with Arrow IPC bytes. */
import { parentPort } from 'node:worker_threads';
import { tableToIPC } from 'apache-arrow';
import { readSplit, type DatasetSplit } from '../../src/node.js';

parentPort?.on('message', (msg: { json: string; s3?: { accessKeyId: string; secretAccessKey: string } }) => {
  const split = JSON.parse(msg.json) as DatasetSplit;
  const url = msg.s3 ? { s3: { credentials: msg.s3, env: {} } } : {};
  readSplit(split, { url }).then(
    (t) => parentPort?.postMessage({ ipc: tableToIPC(t, 'stream') }),
    (err: unknown) => parentPort?.postMessage({ error: String(err) }),
  );
});
