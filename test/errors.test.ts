/**
 * Stable error codes (src/errors.ts): the README's table documents exactly READER_ERROR_CODES, and
 * every throw site in src names its code. The runtime half (every ReaderError a test file provokes
 * has a documented code and kind) is test/support/error-codes.ts, a setup file of every test file.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { READER_ERROR_CODES, ReaderError, hasErrorCode, type ReaderErrorKind } from '../src/errors.js';
import { documentedCodes } from './support/error-codes.js';

const SRC = fileURLToPath(new URL('../src', import.meta.url));
const KINDS: ReaderErrorKind[] = ['NotFound', 'PermissionDenied', 'InvalidInput', 'RangeNotSatisfied', 'ConditionNotMatch', 'RateLimited', 'Unavailable', 'Interrupted', 'Timeout', 'Aborted', 'Unsupported', 'InvalidData', 'Unexpected'];

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : []));
}

/** Index just past the string, template or comment starting at `i`, or `i` when there is none. */
function skipLiteral(text: string, i: number): number {
  const c = text[i];
  if (c === "'" || c === '"') {
    let j = i + 1;
    while (text[j] !== c) j += text[j] === '\\' ? 2 : 1;
    return j + 1;
  }
  if (c === '`') {
    let j = i + 1;
    while (text[j] !== '`') {
      if (text[j] === '\\') j += 2;
      else if (text[j] === '$' && text[j + 1] === '{') j = closing(text, j + 1) + 1;
      else j++;
    }
    return j + 1;
  }
  return i;
}

/** Index of the bracket closing the one at `open`. */
function closing(text: string, open: number): number {
  let depth = 0;
  for (let i = open; i < text.length; ) {
    const after = skipLiteral(text, i);
    if (after !== i) {
      i = after;
      continue;
    }
    const c = text[i] as string;
    if ('([{'.includes(c)) depth++;
    else if (')]}'.includes(c) && --depth === 0) return i;
    i++;
  }
  throw new Error('unbalanced brackets');
}

/** Every `new ReaderError(…)` in src: where, its kind when literal, its code when literal, and whether it names one. */
function throwSites(): { where: string; kind?: string; code?: string; named: boolean }[] {
  return sourceFiles(SRC).flatMap((file) => {
    const text = readFileSync(file, 'utf8');
    const out: { where: string; kind?: string; code?: string; named: boolean }[] = [];
    for (let at = text.indexOf('new ReaderError('); at >= 0; at = text.indexOf('new ReaderError(', at + 1)) {
      const open = at + 'new ReaderError'.length;
      const args = text.slice(open + 1, closing(text, open));
      const line = text.slice(0, at).split('\n').length;
      const kind = /^\s*'(\w+)'/.exec(args)?.[1];
      const code = /\bcode: '([A-Z_]+)'/.exec(args)?.[1];
      out.push({ where: `${relative(SRC, file)}:${line}`, ...(kind ? { kind } : {}), ...(code ? { code } : {}), named: /\bcode\b\s*[:,}]/.test(args) });
    }
    return out;
  });
}

describe('stable error codes', () => {
  const documented = documentedCodes();

  it('the README table documents exactly READER_ERROR_CODES, each once, with real kinds', () => {
    expect(new Set(READER_ERROR_CODES).size).toBe(READER_ERROR_CODES.length);
    expect([...documented.keys()].sort()).toEqual([...READER_ERROR_CODES].sort());
    for (const [code, kinds] of documented) if (kinds !== 'any') for (const k of kinds) expect(KINDS, `${code}: ${k}`).toContain(k);
  });

  it("each kind's default code is documented with that kind", () => {
    for (const kind of KINDS) {
      const err = new ReaderError(kind, 'x');
      expect(documented.get(err.code), `${kind} → ${err.code}`).toContain(kind);
      expect(hasErrorCode(err, err.code)).toBe(true);
    }
  });

  it('every throw site in src names its code (none relies on the default); literal ones match the documented kind', () => {
    const sites = throwSites();
    expect(sites.length).toBeGreaterThan(130);
    expect(sites.filter((s) => !s.named).map((s) => s.where)).toEqual([]);
    const mismatched = sites.filter((s) => s.kind && s.code && !(documented.get(s.code) === 'any' || (documented.get(s.code) as readonly string[] | undefined)?.includes(s.kind)));
    expect(mismatched.map((s) => `${s.where}: ${s.kind} with ${s.code}`)).toEqual([]);
    for (const s of sites) if (s.code) expect(READER_ERROR_CODES, s.where).toContain(s.code);
  });

  it('withContext keeps the code, the kind and retryable', () => {
    const err = new ReaderError('Interrupted', 'cut', { path: 'a' }, { code: 'SHORT_BODY', retryable: false }).withContext({ backend: 'http' });
    expect([err.code, err.kind, err.retryable, err.context.backend]).toEqual(['SHORT_BODY', 'Interrupted', false, 'http']);
  });
});
