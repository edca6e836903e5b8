import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * apache/parquet-testing (Apache-2.0), read from ../shared beside the checkout (never copied in).
 * `PARQUET_TESTING_DIR` overrides the location.
 */
export const PARQUET_TESTING_DIR = resolve(
  process.env.PARQUET_TESTING_DIR ?? join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'shared', 'parquet-testing'),
);

export function testingFile(rel: string): Uint8Array {
  const path = join(PARQUET_TESTING_DIR, rel);
  if (!existsSync(path)) throw new Error(`parquet-testing file missing: ${path} (set PARQUET_TESTING_DIR)`);
  return new Uint8Array(readFileSync(path));
}
