import { afterAll, beforeAll } from 'vitest';

/**
 * Records every uncaught exception and unhandled rejection while a test file runs, so a test can
 * assert that bad input never escaped as a crash. Call at the top level of a test file.
 */
export function watchUncaught(): unknown[] {
  const seen: unknown[] = [];
  const on = (err: unknown) => seen.push(err);
  beforeAll(() => {
    process.on('uncaughtException', on);
    process.on('unhandledRejection', on);
  });
  afterAll(() => {
    process.off('uncaughtException', on);
    process.off('unhandledRejection', on);
  });
  return seen;
}
