/**
 * Argument parsing for `brr`: node:util `parseArgs` with the flags every command shares, and one
 * error type for bad usage (exit code 64).
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** A command line that cannot be run as written: unknown flag, missing URL, a number that is not one. */
export class UsageError extends Error {
  constructor(
    message: string,
    /** The command whose `--help` to point at. */
    readonly command?: string,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

type Options = NonNullable<ParseArgsConfig['options']>;

/** Flags of every command that touches storage. */
export const COMMON_OPTIONS = {
  stats: { type: 'boolean' },
  waterfall: { type: 'string' },
  debug: { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
  endpoint: { type: 'string' },
  region: { type: 'string' },
  'no-sign-request': { type: 'boolean' },
  'no-retry': { type: 'boolean' },
} as const satisfies Options;

export const COMMON_HELP = `Every command:
  --stats               print the request counts (GETs, HEADs, bytes, round trips) to stderr
  --waterfall FILE      write the request waterfall (one bar per request) as HTML
  --debug               show stack traces and error causes
  --endpoint URL        S3-compatible endpoint for s3:// URLs (default AWS_ENDPOINT_URL_S3, AWS_ENDPOINT_URL, AWS)
  --region REGION       S3 signing region (default AWS_REGION, AWS_DEFAULT_REGION, us-east-1)
  --no-sign-request     unsigned S3 requests (public buckets)
  --no-retry            no retries (default: retries that resume, with backoff)
  -h, --help            this help`;

/** For `--help` texts of plan and read. */
export const HIVE_HELP = `  --hive                the URL is a prefix (or a manifest) of many Parquet files read as one table,
                        with key=value folders as typed partition columns usable in --filter`;

export interface CommonValues {
  stats: boolean;
  waterfall: string | undefined;
  debug: boolean;
  help: boolean;
  endpoint: string | undefined;
  region: string | undefined;
  noSignRequest: boolean;
  retry: boolean;
}

export type Values = Record<string, string | boolean | undefined>;

export interface Parsed {
  values: Values;
  common: CommonValues;
  positionals: string[];
}

/**
 * Parses `args` for `command` with its own `options` plus `COMMON_OPTIONS`. Unknown flags, missing
 * values and extra positionals are a `UsageError`.
 */
export function parseCommand(command: string, args: readonly string[], options: Options, maxPositionals: number): Parsed {
  let parsed;
  try {
    parsed = parseArgs({ args: [...args], options: { ...options, ...COMMON_OPTIONS }, allowPositionals: true, strict: true });
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message.replace(/\. To specify a positional argument.*$/s, '') : String(err), command);
  }
  const v = parsed.values as Record<string, unknown>;
  const common: CommonValues = {
    stats: v.stats === true,
    waterfall: typeof v.waterfall === 'string' ? v.waterfall : undefined,
    debug: v.debug === true,
    help: v.help === true,
    endpoint: typeof v.endpoint === 'string' ? v.endpoint : undefined,
    region: typeof v.region === 'string' ? v.region : undefined,
    noSignRequest: v['no-sign-request'] === true,
    retry: v['no-retry'] !== true,
  };
  if (!common.help && parsed.positionals.length > maxPositionals) {
    throw new UsageError(`unexpected argument ${JSON.stringify(parsed.positionals[maxPositionals])}`, command);
  }
  return { values: v as Values, common, positionals: parsed.positionals };
}

/** The one URL argument of a command. */
export function urlArg(command: string, positionals: readonly string[]): string {
  const url = positionals[0];
  if (url === undefined || url === '') throw new UsageError(`${command} needs a URL or path (s3://bucket/key, https://…, file://…, ./file.parquet)`, command);
  return url;
}

/** A string flag's value (parseArgs gives strings for `type: 'string'`). */
export function str(values: Values, name: string): string | undefined {
  const v = values[name];
  return typeof v === 'string' ? v : undefined;
}

/** A non-negative integer flag (`--limit 10`, `--offset 1024`); `1_000`, `1e3` and `0x10` are refused. */
export function intFlag(command: string, name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(Number(value))) {
    throw new UsageError(`--${name} must be a non-negative integer, got ${JSON.stringify(value)}`, command);
  }
  return Number(value);
}

/** A comma-separated list flag (`--columns a,b`); empty items are refused. */
export function listFlag(command: string, name: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  const items = value.split(',').map((s) => s.trim());
  if (items.some((s) => s === '')) throw new UsageError(`--${name} must be a comma-separated list without empty items, got ${JSON.stringify(value)}`, command);
  return items;
}

/** A comma-separated list of non-negative integers (`--row-groups 0,3`). */
export function intListFlag(command: string, name: string, value: string | undefined): number[] | undefined {
  return listFlag(command, name, value)?.map((s) => intFlag(command, name, s) as number);
}
