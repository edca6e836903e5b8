/**
 * Runs the real `brr` binary as a child process: the built dist/cli/main.js (what `npx brr` runs),
 * or the source through tsx. `ensureBuilt()` builds dist first when it is missing or older than any
 * source file (CI builds before testing, so there it is a no-op).
 */
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI_SOURCE = join(ROOT, 'src', 'cli', 'main.ts');
export const CLI_BUILT = join(ROOT, 'dist', 'cli', 'main.js');

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: Buffer;
  /** stdout as UTF-8. */
  out: string;
  stderr: string;
}

export interface RunOptions {
  env?: Record<string, string | undefined>;
  /** Run src/cli/main.ts through tsx instead of the built dist/cli/main.js. */
  source?: boolean;
  /** A script path other than the CLI (the examples). */
  script?: string;
  cwd?: string;
  /** Called with the child's stdout stream (to close it early, for example). */
  onStdout?: (chunk: Buffer, child: ReturnType<typeof spawn>) => void;
  timeoutMs?: number;
}

/** Environment for the child: no AWS settings from the machine running the tests, no CI colour quirks. */
function childEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (k.startsWith('AWS_')) delete env[k];
  // Never read ~/.aws of the machine running the tests.
  env.AWS_CONFIG_FILE = '/nonexistent/brr-test-config';
  env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/brr-test-credentials';
  env.AWS_EC2_METADATA_DISABLED = 'true';
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

/** A child's default time limit: 55 s, under the 60 s test timeout (children took up to 25 s under load). */
const CHILD_TIMEOUT_MS = 55_000;

export function run(args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const script = opts.script ?? (opts.source ? CLI_SOURCE : CLI_BUILT);
  const nodeArgs = script.endsWith('.ts') ? ['--import', 'tsx', script, ...args] : [script, ...args];
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, nodeArgs, { cwd: opts.cwd ?? ROOT, env: childEnv(opts.env), stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    let err = '';
    // Just under the test timeout (vitest.config.ts), so a stuck child ends as a result the test reports.
    const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? CHILD_TIMEOUT_MS);
    child.stdout.on('data', (d: Buffer) => {
      out.push(d);
      opts.onStdout?.(d, child);
    });
    child.stdout.on('error', () => undefined);
    child.stderr.on('data', (d: Buffer) => (err += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out);
      resolve({ code, signal, stdout, out: stdout.toString('utf8'), stderr: err });
    });
  });
}

function newestSource(dir: string): number {
  let newest = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    if (e.isDirectory()) newest = Math.max(newest, newestSource(p));
    else if (e.name.endsWith('.ts')) newest = Math.max(newest, statSync(p).mtimeMs);
  }
  return newest;
}

/** Why dist needs a build, or undefined when it is up to date. */
export function distStale(): string | undefined {
  let built: number;
  try {
    built = statSync(CLI_BUILT).mtimeMs;
  } catch {
    return 'dist/cli/main.js is missing';
  }
  return newestSource(join(ROOT, 'src')) > built ? 'src/ changed since the last build' : undefined;
}

/** Builds dist (`tsc -p tsconfig.build.json`, as `npm run build`) when it is stale; throws with tsc's output if that fails. */
export function ensureBuilt(): void {
  const why = distStale();
  if (!why) return;
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.build.json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`building dist (${why}) failed: ${r.stdout}${r.stderr}`);
}
