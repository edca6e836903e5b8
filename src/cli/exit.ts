/**
 * Exit codes and error messages of `brr`: one line on stderr, no stack trace unless `--debug`, and a
 * code a script can branch on. Messages come from `ReaderError`, which never holds a secret (URL
 * query values and credentials are redacted where the error is made).
 */
import { ReaderError, type ReaderErrorKind } from '../errors.js';
import { UsageError } from './args.js';

/** Exit codes (sysexits.h where one fits). */
export const EXIT = {
  ok: 0,
  /** Anything else: network, server, timeout, a changed object. */
  error: 1,
  notFound: 2,
  permissionDenied: 3,
  /** EX_USAGE: bad flags, unknown column, a range past the end. */
  usage: 64,
  /** EX_DATAERR: the object is not a valid Parquet file (or is corrupt). */
  invalidData: 65,
  /** EX_UNAVAILABLE: a feature not available here (an encrypted file, a codec, `brr bench` outside a checkout). */
  unavailable: 69,
  /** 128 + SIGINT. */
  interrupted: 130,
} as const;

const BY_KIND: Partial<Record<ReaderErrorKind, number>> = {
  NotFound: EXIT.notFound,
  PermissionDenied: EXIT.permissionDenied,
  InvalidInput: EXIT.usage,
  RangeNotSatisfied: EXIT.usage,
  InvalidData: EXIT.invalidData,
  Unsupported: EXIT.unavailable,
  Aborted: EXIT.interrupted,
};

/** A failure that is not a ReaderError but has its own code (e.g. `brr bench` outside a checkout). */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: number,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export function exitCodeFor(err: unknown): number {
  if (err instanceof UsageError) return EXIT.usage;
  if (err instanceof CliError) return err.exitCode;
  if (err instanceof ReaderError) return BY_KIND[err.kind] ?? EXIT.error;
  return EXIT.error;
}

/** The lines to print for an error: a message, a hint, and with `debug` the stack and causes. */
export function describeError(err: unknown, debug: boolean): string {
  const lines: string[] = [];
  if (err instanceof UsageError) {
    lines.push(`brr: ${err.message}`);
    lines.push(`Run 'brr ${err.command ? `${err.command} ` : ''}--help' for usage.`);
  } else if (err instanceof ReaderError) {
    lines.push(err.kind === 'Aborted' ? 'brr: interrupted' : `brr: ${kindLabel(err.kind)}: ${err.message}`);
  } else if (err instanceof Error) {
    lines.push(`brr: ${err.message}`);
  } else {
    lines.push(`brr: ${String(err)}`);
  }
  if (debug) {
    let e: unknown = err;
    for (let depth = 0; e !== undefined && depth < 8; depth++) {
      if (e instanceof Error) {
        if (e.stack) lines.push(depth === 0 ? e.stack : `caused by: ${e.stack}`);
        e = e.cause;
      } else {
        lines.push(`caused by: ${String(e)}`);
        break;
      }
    }
  }
  return `${lines.join('\n')}\n`;
}

function kindLabel(kind: ReaderErrorKind): string {
  switch (kind) {
    case 'NotFound':
      return 'not found';
    case 'PermissionDenied':
      return 'permission denied';
    case 'InvalidInput':
      return 'invalid input';
    case 'RangeNotSatisfied':
      return 'range not satisfiable';
    case 'ConditionNotMatch':
      return 'the object changed while it was read';
    case 'InvalidData':
      return 'invalid data';
    case 'Unsupported':
      return 'unsupported';
    case 'RateLimited':
      return 'rate limited';
    case 'Unavailable':
      return 'service unavailable';
    case 'Interrupted':
      return 'connection interrupted';
    case 'Timeout':
      return 'timed out';
    default:
      return 'error';
  }
}
