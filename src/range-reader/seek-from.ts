import { ReaderError, type ErrorContext } from '../errors.js';

/** Where a seek counts from, as in `std::io::SeekFrom`. */
export type SeekFrom =
  | { readonly whence: 'start'; readonly offset: number }
  | { readonly whence: 'end'; readonly offset: number }
  | { readonly whence: 'current'; readonly offset: number };

export const SeekFrom = {
  /** `n` bytes from the start (`n >= 0`). */
  start: (n: number): SeekFrom => ({ whence: 'start', offset: n }),
  /** `n` bytes from the end: `SeekFrom.end(-8)` is 8 bytes before the end. Needs the size (a stat if unknown). */
  end: (n: number): SeekFrom => ({ whence: 'end', offset: n }),
  /** `n` bytes from the current position, backward when negative. */
  current: (n: number): SeekFrom => ({ whence: 'current', offset: n }),
} as const;

/**
 * The absolute position a seek lands on, from the current position and (only for `end`) the size.
 * A non-integer offset or a target before 0 is `InvalidInput`; past the end is allowed.
 */
export async function seekTarget(to: SeekFrom, current: number, size: () => Promise<number>, context: ErrorContext): Promise<number> {
  const n = to?.offset;
  if (!Number.isSafeInteger(n)) throw new ReaderError('InvalidInput', 'seek offset must be a safe integer', context, { code: 'INVALID_ARGUMENT' });
  let target: number;
  if (to.whence === 'start') target = n;
  else if (to.whence === 'current') target = current + n;
  else if (to.whence === 'end') target = (await size()) + n;
  else throw new ReaderError('InvalidInput', 'seek needs SeekFrom.start/end/current', context, { code: 'INVALID_ARGUMENT' });
  if (target < 0) throw new ReaderError('InvalidInput', `cannot seek to ${target}: before the start`, context, { code: 'SEEK_BEFORE_START' });
  return target;
}
