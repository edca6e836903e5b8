/**
 * A vitest setup file (vitest.config.ts `setupFiles`): checks every `ReaderError` constructed while a
 * test file runs (as it is made; errors are not kept) and, after its last test, asserts that each had
 * a `code` from the README's "Errors" table, with a kind that table gives for it. So "every ReaderError the suite provokes has a
 * documented code" holds for every error of every test file, not only the ones a test looks at.
 *
 * How errors are seen without a hook in the library: the ReaderError constructor assigns `this.name`,
 * an ordinary [[Set]] that walks the prototype chain, so an accessor on `ReaderError.prototype` hears
 * every construction (it then stores `name` as the instance's own property, as the assignment would
 * have). The final check proves the recorder alive with a probe error before it trusts an empty list.
 * Errors made in child processes (the CLI tests spawn `brr`) are not seen here; the CLI maps each to
 * its exit code from `kind`, and test/errors.test.ts checks every throw site in `src` statically.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterAll, expect } from 'vitest';
import { READER_ERROR_CODES, ReaderError, type ReaderErrorKind } from '../../src/errors.js';

/** Kinds a documented code may come with; `any` for RETRIES_EXHAUSTED (it keeps the last error's kind). */
export type DocumentedKinds = readonly ReaderErrorKind[] | 'any';

/** The README's "Errors" table: code → the kinds it is documented with. */
export function documentedCodes(readme = readFileSync(fileURLToPath(new URL('../../README.md', import.meta.url)), 'utf8')): Map<string, DocumentedKinds> {
  const out = new Map<string, DocumentedKinds>();
  for (const line of readme.split('\n')) {
    const m = /^\| `([A-Z_]+)` \| ([^|]+) \|/.exec(line);
    if (!m) continue;
    const kinds = (m[2] as string).trim();
    out.set(m[1] as string, kinds === "the last error's" ? 'any' : (kinds.split(/,\s*/) as ReaderErrorKind[]));
  }
  return out;
}

const documented = documentedCodes();
const known = new Set<string>(READER_ERROR_CODES);
/** Problems found so far (deduplicated); errors are checked as they are made, not kept. */
const wrong = new Set<string>();
let constructed = 0;

function check(err: ReaderError): void {
  const kinds = documented.get(err.code);
  if (!known.has(err.code) || !kinds) wrong.add(`${err.code} (${err.kind}) is not a documented code: ${err.detail}`);
  else if (kinds !== 'any' && !kinds.includes(err.kind)) wrong.add(`${err.code} came with kind ${err.kind}, documented as ${kinds.join(', ')}: ${err.detail}`);
}

Object.defineProperty(ReaderError.prototype, 'name', {
  configurable: true,
  get: () => 'ReaderError',
  set(this: ReaderError, value: string) {
    Object.defineProperty(this, 'name', { value, writable: true, enumerable: true, configurable: true });
    constructed++;
    queueMicrotask(() => check(this)); // the constructor has finished by then: kind and code are set
  },
});

afterAll(async () => {
  const before = constructed;
  const probe = new ReaderError('NotFound', 'probe of the error-code recorder', {}, { code: 'NOT_FOUND' });
  expect(constructed, 'the recorder must see every ReaderError constructed').toBe(before + 1);
  expect(probe.name).toBe('ReaderError');
  await Promise.resolve(); // let the last checks run
  expect([...wrong]).toEqual([]);
});
