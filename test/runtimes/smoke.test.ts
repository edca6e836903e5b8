/**
 * The package on other runtimes: test/runtimes/smoke.mjs (open, plan, readObjects, readTable over
 * HTTP and S3 on moto, request counts asserted) run by each runtime binary named in the environment
 * (`BRR_BUN`, `BRR_DENO`, `BRR_NODE22`, `BRR_NODE24`; .ci/run installs them from npm), through both
 * entries: the Node one (what the `node` condition gives: Bun and Deno take it too) and the default
 * one (fetch, WebCrypto, the in-page decoder). The object server's own log is checked here.
 * Needs `npm run build` first: `npm run test:runtimes` does it.
 */
import { spawn } from 'node:child_process';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetReadObjects } from 'hyparquet';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture, mixedTable, toParquet } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { startMoto, type MotoServer } from '../support/moto.js';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const SCRIPT = join(ROOT, 'test/runtimes/smoke.mjs');

/** How each runtime runs a script (Deno needs its permissions; it reads node_modules through package.json). */
const RUNTIMES = [
  { name: 'bun', env: 'BRR_BUN', args: (s: string) => ['run', s] },
  { name: 'deno', env: 'BRR_DENO', args: (s: string) => ['run', '--allow-all', s] },
  { name: 'node22', env: 'BRR_NODE22', args: (s: string) => [s] },
  { name: 'node24', env: 'BRR_NODE24', args: (s: string) => [s] },
] as const;

/** The runtimes this run was asked to cover (`BRR_RUNTIMES=bun,deno`; default: all four). */
const WANTED = (process.env.BRR_RUNTIMES ?? RUNTIMES.map((r) => r.name).join(',')).split(',');

let server: ObjectServer;
let moto: MotoServer;
let config: Record<string, unknown>;

function justOverTheWindow(): Uint8Array {
  for (let groups = 50; groups < 80; groups++) {
    const bytes = toParquet(mixedTable(12, groups, 200, 1), 200);
    if (bytes.byteLength > DEFAULT_FOOTER_WINDOW) return bytes;
  }
  throw new Error('no fixture size just over the window');
}

const asBuffer = (b: Uint8Array) => b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength) as ArrayBuffer;

beforeAll(async () => {
  const within = await fixture(FIXTURES.seed);
  const over = justOverTheWindow();
  server = await new ObjectServer().start();
  server.put('within.parquet', within);
  server.put('over.parquet', over);
  moto = await startMoto({ auth: true });
  await moto.createBucket('smoke');
  await moto.put('smoke', 'within.parquet', within);
  const rows = await parquetReadObjects({ file: asBuffer(within) });
  const overRows = await parquetReadObjects({ file: asBuffer(over), columns: ['id'] });
  const probe = 4321;
  config = {
    http: server.url,
    within: {
      rows: rows.length,
      columns: Object.keys(rows[0] ?? {}),
      probe: { index: probe, row: JSON.parse(JSON.stringify(rows[probe], (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v))) },
    },
    over: { rows: overRows.length },
    s3: { bucket: 'smoke', endpoint: moto.endpoint, region: moto.region, accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey },
  };
}, 120_000);
afterAll(async () => {
  await server?.stop();
  await moto?.stop();
});

function run(bin: string, args: string[], env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((ok) => {
    const child = spawn(bin, args, { cwd: ROOT, env: { ...process.env, ...env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.on('close', (code) => ok({ code, stdout, stderr }));
  });
}

describe.each(RUNTIMES.filter((r) => WANTED.includes(r.name)))('$name', (rt) => {
  it.each(['node', 'default'])('the %s entry: open, plan, readObjects, readTable over HTTP and S3 (moto, signed)', async (entry) => {
    const bin = process.env[rt.env];
    if (!bin) throw new Error(`${rt.env} is not set: point it at the ${rt.name} binary (.ci/run installs it from npm)`);
    server.resetLog();
    const r = await run(bin, rt.args(SCRIPT), { BRR_SMOKE: JSON.stringify({ ...config, runtime: rt.name, entry }) });
    if (r.code !== 0) throw new Error(`${rt.name} exited with ${r.code}:\n${r.stderr}\n${r.stdout}`);
    const report = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { steps: { name: string }[] };
    expect(report.steps.map((s) => s.name)).toEqual(['http within the window', 'http over the window (fetchBackend)', '404 is NotFound', 's3 on moto']);
    // The server's side: no HEAD anywhere, 1 GET for the file within the window, 2 for the one over it.
    const log = server.requests.map((q) => `${q.method} ${q.path} ${q.range ?? ''}`.trim());
    expect(log.filter((l) => l.startsWith('HEAD'))).toEqual([]);
    expect(log.filter((l) => l.includes('within.parquet'))).toEqual([`GET within.parquet bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    const overLog = log.filter((l) => l.includes('over.parquet'));
    expect(overLog).toHaveLength(2);
    expect(overLog[0]).toBe(`GET over.parquet bytes=-${DEFAULT_FOOTER_WINDOW}`);
    expect(overLog[1]).toMatch(/^GET over\.parquet bytes=\d+-\d+$/);
  }, 180_000);
});
