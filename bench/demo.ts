/**
 * The quick-start demo (until the full benchmark lands): serve a file over a real local HTTP server
 * that models remote storage, read it the way a columnar decoder does (the footer, then chunks spread
 * over the file) through the counted HTTP backend, and print what it cost.
 *
 *   npm run bench                    # an embedded 8 MiB default object
 *   npm run bench -- path/to/file    # your own file
 *   flags: --ttfb MS (default 20), --mbps N (default 100), --chunks N (default 48)
 */
import '../src/runtime-node.js'; // the Node entry's runtime (undici, fs, worker decoder)
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { httpBackend } from '../src/backends/http/backend.js';
import { withMetrics } from '../src/layers/metrics.js';
import { RangeReader } from '../src/range-reader/range-reader.js';
import { SeekFrom } from '../src/range-reader/seek-from.js';
import { ObjectServer } from './object-server.js';

/** Time to first byte of S3 from a nearby region: 20 ms is the low end of the 20–200 ms range in DESIGN.md. */
const DEFAULT_TTFB_MS = 20;
/** Per-connection bandwidth: ~100 MB/s is what one S3 GET stream sustains. */
const DEFAULT_MBPS = 100;
/** Chunk reads: 4 row groups × 12 columns, the shape of a small analytic file. */
const DEFAULT_CHUNKS = 48;
const DEFAULT_SIZE = 8 * 1024 * 1024;

function embeddedDefault(): Uint8Array {
  const out = new Uint8Array(DEFAULT_SIZE);
  for (let i = 0; i < out.length; i++) out[i] = (i * 2654435761) >>> 24;
  return out;
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { ttfb: { type: 'string' }, mbps: { type: 'string' }, chunks: { type: 'string' } },
  });
  const ttfbMs = Number(values.ttfb ?? DEFAULT_TTFB_MS);
  const mbps = Number(values.mbps ?? DEFAULT_MBPS);
  const chunks = Number(values.chunks ?? DEFAULT_CHUNKS);
  const file = positionals[0];
  const data = file ? new Uint8Array(await readFile(file)) : embeddedDefault();
  if (data.byteLength < 16) throw new Error('the file is too small for the demo (needs ≥ 16 bytes)');

  const server = await new ObjectServer({ ttfbMs, bytesPerSecond: mbps * 1e6 }).start();
  server.put('object', data);
  const backend = withMetrics(httpBackend({ baseUrl: server.url }));
  console.log(`object: ${file ?? 'embedded default'} (${data.byteLength} bytes), served at ${server.url}`);
  console.log(`modelled storage: ${ttfbMs} ms to first byte, ${mbps} MB/s per connection\n`);

  const started = performance.now();
  const reader = new RangeReader(backend, 'object');
  const buf = new Uint8Array(8);
  await reader.seek(SeekFrom.end(-8)); // the footer, as a Parquet reader does first
  await reader.read(buf);
  const step = Math.floor(data.byteLength / chunks);
  const chunkLen = Math.max(1, Math.floor(step / 4));
  const chunk = new Uint8Array(chunkLen);
  let wrong = 0;
  for (let i = 0; i < chunks; i++) {
    const offset = i * step;
    await reader.seek(SeekFrom.start(offset));
    let got = 0;
    while (got < chunkLen) {
      const n = await reader.read(chunk.subarray(got));
      if (n === 0) break;
      got += n;
    }
    if (!Buffer.from(chunk.subarray(0, got)).equals(Buffer.from(data.subarray(offset, offset + got)))) wrong++;
  }
  await reader.close();
  const ms = performance.now() - started;
  const m = backend.metrics.snapshot();
  const serverGets = server.requests.filter((r) => r.method === 'GET').length;
  const serverHeads = server.requests.filter((r) => r.method === 'HEAD').length;
  await server.stop();

  console.log(`RangeReader, footer + ${chunks} chunk reads (${chunkLen} bytes each):`);
  console.log(`  client counted: ${m.gets} GETs, ${m.heads} HEADs, ${m.roundTrips} round trips, ${m.bytesReceived} bytes received`);
  console.log(`  server counted: ${serverGets} GETs, ${serverHeads} HEADs`);
  console.log(`  time: ${ms.toFixed(0)} ms; bytes checked: ${wrong === 0 ? 'all correct' : `${wrong} chunks WRONG`}`);
  if (serverGets !== m.gets || serverHeads !== m.heads) {
    console.error('client and server request counts disagree');
    process.exitCode = 1;
  }
  if (wrong) process.exitCode = 1;
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exitCode = 1;
});
