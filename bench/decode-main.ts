/**
 * The benchmark's decode section alone (bench/decode.ts), for working on the decode path without
 * the full matrix (~15 s instead of ~4 min): the same object server, latency model and pairs.
 *
 *   npm run bench:decode                 15 pairs per file, the stage breakdown and the targets
 *   npm run bench:decode -- --check      11 pairs (as in `npm run bench -- --check`); a guard miss exits 1
 */
import '../src/runtime-node.js'; // the Node entry's runtime (undici, worker decoder)
import { parseArgs } from 'node:util';
import { httpBackend } from '../src/backends/http/backend.js';
import { checksFail } from './check.js';
import { decodeChecks, decodeLines, runDecodeBench } from './decode.js';
import { DEFAULT_MBPS, DEFAULT_TTFB_MS } from './model.js';
import { ServerClient } from './server-client.js';

const { values } = parseArgs({ options: { check: { type: 'boolean', default: false } } });
const server = await new ServerClient().start({ ttfbMs: DEFAULT_TTFB_MS, bytesPerSecond: DEFAULT_MBPS * 1e6 });
try {
  const decode = await runDecodeBench(server, () => httpBackend({ baseUrl: server.url }), { check: values.check ?? false });
  console.log(decodeLines(decode).join('\n'));
  const checks = decodeChecks(decode);
  console.log('targets:');
  for (const c of checks) console.log(`  ${c.ok ? 'PASS' : c.advisory ? 'MISS' : 'FAIL'}  ${c.name}: ${c.detail}`);
  if (values.check && checksFail(checks)) process.exitCode = 1;
} finally {
  await server.stop();
}
