/**
 * `brr bench`: runs the benchmark (bench/main.ts) with its flags. bench/ is not in the npm package
 * (it needs the fixtures generator, the object server and the peer readers as dev dependencies), so
 * this works from a checkout of the repository (`npm ci`, then `npx brr bench`), and says so otherwise.
 */
import { spawn } from 'node:child_process';
import { copyFile, stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { CliError, EXIT } from './exit.js';
import { writeTo, type Io } from './session.js';

export const BENCH_HELP = `Usage: brr bench [benchmark flags] [--waterfall FILE]

Runs the request-count benchmark (bench/main.ts): every reader on a modelled object server, the
requests counted by the server. Needs a checkout of the repository with its dev dependencies
(git clone …; npm ci; npx brr bench): bench/ is not part of the npm package.

Benchmark flags (passed through):
  --check               reduced matrix, targets asserted (CI)
  --ttfb MS             modelled time to first byte (default 25)
  --mbps N              modelled bandwidth per connection, MB/s (default 80)
  --iterations N        runs per cell (median)
  --files N             files in the many-files case
  --s3 s3://bucket/key  the matrix against S3 or moto instead [--endpoint URL]

  --waterfall FILE      copy the benchmark's HTML waterfall report (bench/results/*.html) to FILE
  --debug               show the benchmark's own errors in full
  -h, --help            this help

Results: bench/results/latest.{json,md,html} (check.* with --check).
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
      `brr bench runs the benchmark from a checkout of the repository (bench/ is not in the npm package): ` +
        `clone it, run 'npm ci', then 'npx brr bench' there (looked for ${script})`,
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
