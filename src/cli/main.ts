#!/usr/bin/env node
/**
 * `brr`: the command line of buffered-range-reader. Dispatches to one module per command (loaded on
 * demand, so `brr cat` never loads the Parquet decoders), turns errors into one line on stderr and an
 * exit code (see exit.ts), and stops cleanly on Ctrl-C or a closed stdout (`brr cat … | head`).
 */
import { realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import '../runtime-node.js';
import { UsageError } from './args.js';
import { EXIT, describeError, exitCodeFor } from './exit.js';
import { writeTo, type Io } from './session.js';

export const MAIN_HELP = `brr — cheap reads of Parquet and Arrow files from object storage, with every request counted

Usage: brr <command> <url> [flags]

Commands:
  inspect <url>         size, ETag, rows, row groups, columns and types, footer, page index; the requests it took
  plan <url>            the read plan before any data I/O: ranges, merged requests, bytes, round trips, S3 cost
  cat <url>             bytes to stdout (--offset N --length N, or --range bytes=A-B)
  read <url>            decoded rows (--columns a,b --limit N --format table|csv|jsonl)
  ls <prefix>           the data files under a prefix (or in a manifest): sizes, hive partitions, totals
  bench <url>           naive, hyparquet, parquet-wasm, ours, ours-dropin on your file: requests, bytes, time, cost

URLs: s3://bucket/key, http(s)://host/path, file:///path, or a local path. plan and read take a
prefix (s3://bucket/events/, a folder) or an http(s) manifest with --hive: many files as one table.
Every command: --stats (request counts on stderr), --waterfall out.html (request waterfall),
--debug (stack traces). 'brr <command> --help' for the rest.

Exit codes: 0 ok, 1 error, 2 not found, 3 permission denied, 64 usage or invalid input,
65 invalid data (not Parquet, corrupt), 69 unsupported here, 130 interrupted.
`;

/** The abort reason when stdout's reader went away (EPIPE): not an error, the output was just cut. */
export const STDOUT_CLOSED = 'stdout closed';

type Command = (args: string[], io: Io) => Promise<number>;

const COMMANDS: Record<string, () => Promise<Command>> = {
  inspect: async () => (await import('./inspect.js')).runInspect,
  plan: async () => (await import('./plan.js')).runPlan,
  cat: async () => (await import('./cat.js')).runCat,
  read: async () => (await import('./read.js')).runRead,
  ls: async () => (await import('./dataset.js')).runLs,
  bench: async () => (await import('./bench.js')).runBench,
};

/** Runs one command line; resolves to the exit code (never rejects). */
export async function main(argv: string[], io: Io): Promise<number> {
  const debug = argv.includes('--debug');
  try {
    const [name, ...rest] = argv;
    if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
      await writeTo(name === undefined ? io.stderr : io.stdout, MAIN_HELP);
      return name === undefined ? EXIT.usage : EXIT.ok;
    }
    if (name === '--version' || name === '-V') {
      const { createRequire } = await import('node:module');
      const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
      await writeTo(io.stdout, `${pkg.version}\n`);
      return EXIT.ok;
    }
    const load = COMMANDS[name];
    if (!load) throw new UsageError(`unknown command ${JSON.stringify(name)} (commands: ${Object.keys(COMMANDS).join(', ')})`);
    return await (await load())(rest, io);
  } catch (err) {
    if (io.signal.aborted && io.signal.reason === STDOUT_CLOSED) return EXIT.ok; // `| head` had enough
    io.stderr.write(describeError(err, debug));
    return exitCodeFor(err);
  }
}

function isEntryPoint(): boolean {
  const entry = process.argv[1];
  if (!entry) return false;
  try {
    return realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  const controller = new AbortController();
  let stdoutClosed = false;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    // `brr cat big.parquet | head -c 100`: the reader went away; stop the transfer quietly.
    if (err.code === 'EPIPE') {
      stdoutClosed = true;
      controller.abort(STDOUT_CLOSED);
    }
  });
  let interrupts = 0;
  process.on('SIGINT', () => {
    if (++interrupts > 1) process.exit(EXIT.interrupted);
    controller.abort();
  });
  const io: Io = { stdout: process.stdout, stderr: process.stderr, env: process.env, signal: controller.signal };
  void main(process.argv.slice(2), io).then((code) => {
    if (stdoutClosed) process.exit(EXIT.ok);
    // Flush what is buffered, then exit: an idle keep-alive socket or decoder worker must not hold us.
    process.stdout.write('', () => process.stderr.write('', () => process.exit(code)));
  });
}
