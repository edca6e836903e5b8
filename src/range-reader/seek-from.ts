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
