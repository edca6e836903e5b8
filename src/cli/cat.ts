/**
 * `brr cat <url>`: an object's bytes, or a range of them, to stdout — one GET, streamed (a drop-in for
 * `aws s3 cp --range bytes=a-b s3://… -`). Retries resume where a broken body stopped, pinned to
 * the first response's ETag, so the output is never stitched from two versions.
 */
import type { ByteRange } from '../types.js';
import { COMMON_HELP, UsageError, intFlag, parseCommand, str, urlArg } from './args.js';
import { Session, writeTo, type Io } from './session.js';

export const CAT_HELP = `Usage: brr cat <url> [--offset N] [--length N] [--range bytes=A-B]

Writes the object's bytes to stdout, in one streamed GET.

  --offset N            first byte (default 0)
  --length N            number of bytes (default: to the end)
  --range SPEC          instead of --offset/--length: bytes=A-B (inclusive), bytes=A-, or bytes=-N
                        (the last N bytes), as in 'aws s3 cp --range'

${COMMON_HELP}
`;

/** `bytes=0-99`, `0-99`, `bytes=100-`, `bytes=-8` → a ByteRange (inclusive end, like HTTP). */
export function parseRangeSpec(spec: string): ByteRange {
  const m = /^(?:bytes=)?(\d*)-(\d*)$/.exec(spec.trim());
  const bad = () => new UsageError(`--range must be bytes=A-B, bytes=A- or bytes=-N, got ${JSON.stringify(spec)}`, 'cat');
  if (!m) throw bad();
  const [, a = '', b = ''] = m;
  if (a === '' && b === '') throw bad();
  if (a === '') {
    const n = Number(b);
    if (!Number.isSafeInteger(n) || n === 0) throw bad();
    return { suffix: n };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start)) throw bad();
  if (b === '') return { offset: start };
  const end = Number(b);
  if (!Number.isSafeInteger(end) || end < start) throw new UsageError(`--range end must not be before its start, got ${JSON.stringify(spec)}`, 'cat');
  return { offset: start, length: end - start + 1 };
}

export async function runCat(args: string[], io: Io): Promise<number> {
  const { values, common, positionals } = parseCommand('cat', args, { offset: { type: 'string' }, length: { type: 'string' }, range: { type: 'string' } }, 1);
  if (common.help) {
    await writeTo(io.stdout, CAT_HELP);
    return 0;
  }
  const url = urlArg('cat', positionals);
  const offset = intFlag('cat', 'offset', str(values, 'offset'));
  const length = intFlag('cat', 'length', str(values, 'length'));
  const spec = str(values, 'range');
  if (spec !== undefined && (offset !== undefined || length !== undefined)) throw new UsageError('--range cannot be combined with --offset or --length', 'cat');
  const range: ByteRange = spec !== undefined ? parseRangeSpec(spec) : length === undefined ? { offset: offset ?? 0 } : { offset: offset ?? 0, length };
  const session = new Session('cat', url, common, io);
  return session.run(async () => {
    if ('length' in range && range.length === 0) return 0; // nothing asked: no request
    let total: number | undefined;
    session.startProgress(() => total);
    const res = await session.backend.read(session.path, range, { signal: session.signal });
    total = res.range.length;
    for await (const chunk of res.body) await writeTo(io.stdout, chunk);
    return 0;
  });
}
