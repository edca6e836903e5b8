/**
 * `brr bench`: two benchmarks.
 * - `brr bench <url>`: every reader against the user's own object and store (src/cli/bench/object.ts),
 *   from the installed package, on s3://, http(s):// and local files.
 * - `brr bench` with no URL: the repository's synthetic matrix (bench/main.ts). bench/ is not in the
 *   npm package (it needs the fixtures generator, the object server and moto), so that one works from
 *   a checkout of the repository (`npm ci`, then `npx brr bench`), and says so otherwise.
 */
import { spawn } from 'node:child_process';
import { copyFile, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { redactUrl } from '../errors.js';
import { parseS3Url } from '../backends/s3/url.js';
import { COMMON_HELP, UsageError, intFlag, parseCommand, str, urlArg } from './args.js';
import { DEFAULT_NAIVE_LIMIT, benchObject, warmUp, type PeerAccess } from './bench/object.js';
import { presignGet, signingFetch } from './bench/s3-peer.js';
import type { ReadSpec } from './bench/readers.js';
import { benchJson, benchTable, benchWaterfall, type BenchReportInput } from './bench/report.js';
import { CliError, EXIT } from './exit.js';
import { parseFilter, type Condition } from './filter.js';
import { formatCount } from './format.js';
import { SELECTION_OPTIONS, selectionFrom } from './plan.js';
import { commandBackend, s3OptionsFrom, writeTo, type Io } from './session.js';

/** Runs per reader by default: one cold read each (a store bills every run; ask for more with --runs). */
export const DEFAULT_BENCH_RUNS = 1;

export const BENCH_HELP = `Usage: brr bench <url> [--columns a,b] [--row-groups 0,3] [--filter EXPR] [--runs N] [--json]
                 [--waterfall out.html] [--naive-limit N]
       brr bench [matrix flags]          (no URL: the repository's synthetic matrix, from a checkout)

Benchmark your own file: every reader reads the selection from your store, each from cold, and every
request is counted on our side — GETs, HEADs, round trips, bytes moved against bytes needed, wall
time (median of --runs) and what the requests cost on S3 per million reads. Before the clock runs,
every reader reads a tiny in-memory file once (no request to your store), so none of them pays the
process's start-up (JIT, WebAssembly compiles, the decoder thread).

Readers:
  naive                 one seek + read per column chunk through a RangeReader that drops its stream
                        on every seek (what a plain reader over old OpenDAL did)
  hyparquet             hyparquet's own asyncBufferFromUrl
  parquet-wasm          parquet-wasm's ParquetFile.fromUrl
  ours                  openParquet + readTable
  ours-dropin           hyparquet's own parquetReadObjects over openAsyncBuffer (the drop-in file object)
On s3:// the peers' requests are signed like ours (or use a presigned URL: --presign); on a local
file they read through a plain file object (one read per slice).

  --columns a,b         columns to read (default all)
  --row-groups 0,3      row groups to read (default all)
  --filter EXPR         e.g. 'id>=100,word=delta' (see 'brr plan --help'); parquet-wasm has no
                        predicate and reads every selected row group
  --runs N              runs per reader (default ${DEFAULT_BENCH_RUNS}); counts are the last run's
  --naive-limit N       the naive reader reads at most N column chunks (default ${formatCount(DEFAULT_NAIVE_LIMIT)}); the output says when it stopped
  --presign             s3://: the peers read a presigned GET URL, as a browser app would (S3 refuses
                        their HEAD on it; hyparquet then asks with a ranged GET)
  --json                { url, size, selection, readers: [{ reader, gets, heads, roundTrips, bytes, wallMs, … }] } on stdout
  --waterfall FILE      one request waterfall per reader, as HTML

${COMMON_HELP.replace(/\n  --waterfall FILE[^\n]*/, '').replace(/\n  --no-retry[^\n]*/, '')}

No retries: a failed request fails that reader's row (ours failing fails the command, with the exit
code of the error: 2 not found, 3 permission denied, 65 not Parquet).

Matrix flags (no URL; passed to bench/main.ts): --check, --ttfb MS, --mbps N, --iterations N,
--files N, --waterfall FILE (copies bench/results/*.html), --debug.
`;

/** The repository root, from this file's place: src/cli/ (tsx) or dist/cli/ (built). */
export function packageRoot(): string {
  return fileURLToPath(new URL('../../', import.meta.url));
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

export async function runBench(args: string[], io: Io): Promise<number> {
  if (args.includes('--help') || args.includes('-h')) {
    await writeTo(io.stdout, BENCH_HELP);
    return 0;
  }
  const first = args[0];
  return first !== undefined && !first.startsWith('-') ? benchUrl(args, io) : benchMatrix(args, io);
}

/** How the peers reach the object: http(s) as given; s3:// signed per request (or presigned); a local file not by URL. */
async function peerAccess(url: string, io: Io, common: Parameters<typeof s3OptionsFrom>[0], presign: boolean): Promise<PeerAccess | undefined> {
  if (/^https?:\/\//i.test(url)) return { url };
  if (/^s3:\/\//i.test(url)) {
    const { bucket, key } = parseS3Url(url);
    const options = { ...s3OptionsFrom(common, io.env), bucket };
    return presign ? { url: await presignGet(options, key) } : signingFetch(options, key);
  }
  return undefined;
}

async function benchUrl(args: string[], io: Io): Promise<number> {
  const options = { ...SELECTION_OPTIONS, runs: { type: 'string' }, json: { type: 'boolean' }, 'naive-limit': { type: 'string' }, presign: { type: 'boolean' } } as const;
  const { values, common, positionals } = parseCommand('bench', args, options, 1);
  const url = urlArg('bench', positionals);
  const runs = intFlag('bench', 'runs', str(values, 'runs')) ?? DEFAULT_BENCH_RUNS;
  if (runs < 1) throw new UsageError('--runs must be at least 1', 'bench');
  const naiveLimit = intFlag('bench', 'naive-limit', str(values, 'naive-limit')) ?? DEFAULT_NAIVE_LIMIT;
  const sel = selectionFrom('bench', values);
  const spec: ReadSpec = {
    ...(sel.columns ? { columns: [...sel.columns] } : {}),
    ...(sel.rowGroups ? { rowGroups: [...sel.rowGroups] } : {}),
    ...(sel.filter ? { filter: sel.filter } : {}),
  };
  const filterText = str(values, 'filter');
  const conditions: Condition[] = filterText === undefined ? [] : parseFilter(filterText, 'bench');
  const { path } = commandBackend('bench', url, common, io.env); // a bad URL fails here, before any request
  const tty = io.stderr.isTTY === true;
  if (tty) io.stderr.write('brr bench: warming up on an in-memory file…');
  await warmUp();
  const result = await benchObject({
    target: {
      backend: () => commandBackend('bench', url, common, io.env).backend,
      key: path,
      peerAccess: () => peerAccess(url, io, common, values.presign === true),
    },
    spec,
    conditions,
    runs,
    naiveLimit,
    signal: io.signal,
    onRun: tty ? (reader, run, total) => io.stderr.write(`\r\x1b[Kbrr bench: ${reader}${total > 1 ? ` run ${run}/${total}` : ''}…`) : undefined,
  }).finally(() => {
    if (tty) io.stderr.write('\r\x1b[K');
  });
  const report: BenchReportInput = {
    url: redactUrl(url),
    selection: { columns: spec.columns ?? null, rowGroups: spec.rowGroups ?? null, filter: filterText ?? null },
    runs,
    naiveLimit,
    result,
  };
  if (common.waterfall) {
    try {
      await writeFile(common.waterfall, benchWaterfall(report));
    } catch (err) {
      throw new CliError(`cannot write the waterfall to ${common.waterfall}: ${err instanceof Error ? err.message : String(err)}`, EXIT.error);
    }
  }
  await writeTo(io.stdout, values.json ? `${JSON.stringify(benchJson(report), null, 2)}\n` : benchTable(report));
  if (common.stats) {
    const gets = result.readers.reduce((n, r) => n + r.gets, 0);
    const heads = result.readers.reduce((n, r) => n + r.heads, 0);
    io.stderr.write(`brr: ${formatCount(gets)} GETs, ${formatCount(heads)} HEADs over all readers (last runs)\n`);
  }
  return EXIT.ok;
}

/** The repository's matrix: bench/main.ts from a checkout. */
async function benchMatrix(args: string[], io: Io): Promise<number> {
  // Our flags are taken out; everything else goes to the benchmark, which checks its own flags.
  const forward: string[] = [];
  let waterfall: string | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--waterfall') {
      waterfall = args[++i];
      if (waterfall === undefined) throw new CliError('--waterfall needs a file name', EXIT.usage);
    } else if (a.startsWith('--waterfall=')) waterfall = a.slice('--waterfall='.length);
    else if (a === '--debug' || a === '--stats') continue; // the benchmark prints its counts anyway
    else forward.push(a);
  }
  const root = packageRoot();
  const script = join(root, 'bench', 'main.ts');
  if (!(await exists(script))) {
    throw new CliError(
      `brr bench without a URL runs the repository's synthetic matrix, which needs a checkout (bench/ is not in the npm package): ` +
        `clone it, run 'npm ci', then 'npx brr bench' there (looked for ${script}); 'brr bench <url>' benchmarks your own file from anywhere`,
      EXIT.unavailable,
    );
  }
  let tsx: string;
  try {
    tsx = createRequire(join(root, 'package.json')).resolve('tsx');
  } catch {
    throw new CliError(`brr bench needs the dev dependencies of the checkout (tsx): run 'npm ci' in ${root}`, EXIT.unavailable);
  }
  const code = await new Promise<number>((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', pathToFileURL(tsx).href, script, ...forward], { cwd: root, stdio: 'inherit', env: io.env });
    const onAbort = () => child.kill('SIGINT');
    io.signal.addEventListener('abort', onAbort, { once: true });
    child.on('error', reject);
    child.on('exit', (c, sig) => {
      io.signal.removeEventListener('abort', onAbort);
      resolve(c ?? (sig === 'SIGINT' ? EXIT.interrupted : EXIT.error));
    });
  });
  if (code === 0 && waterfall) {
    const report = join(root, 'bench', 'results', `${forward.includes('--check') ? 'check' : 'latest'}.html`);
    if (!(await exists(report))) throw new CliError(`the benchmark wrote no waterfall report (${report})`, EXIT.error);
    await copyFile(report, waterfall);
    io.stderr.write(`brr: wrote the waterfall to ${waterfall}\n`);
  }
  return code;
}
