/** src/version.ts: what makes two responses one version, and the error when they are not. */
import { describe, expect, it } from 'vitest';
import { hasErrorCode } from '../src/errors.js';
import { checkVersion, isStrongEtag, versionDifference, versionOf } from '../src/version.js';

const t1 = new Date('2026-01-01T00:00:01Z');
const t2 = new Date('2026-01-01T00:00:02Z');

describe('versionDifference', () => {
  it('compares only what both sides know', () => {
    expect(versionDifference({ etag: '"a"', size: 10, lastModified: t1 }, { etag: '"a"', size: 10, lastModified: new Date(t1) })).toBeUndefined();
    expect(versionDifference({ etag: '"a"' }, { size: 10 })).toBeUndefined();
    expect(versionDifference({}, { etag: '"a"', size: 1, lastModified: t1 })).toBeUndefined();
    expect(versionDifference({ size: 10, lastModified: t1 }, { size: 10 })).toBeUndefined(); // a response without Last-Modified says nothing of it
  });

  it('names each field that differs: ETag (weak ones too), size, Last-Modified', () => {
    expect(versionDifference({ etag: '"a"' }, { etag: '"b"' })).toBe('ETag "b" instead of "a"');
    expect(versionDifference({ etag: 'W/"a"' }, { etag: 'W/"b"' })).toBe('ETag W/"b" instead of W/"a"');
    expect(versionDifference({ size: 10 }, { size: 11 })).toBe('size 11 instead of 10');
    expect(versionDifference({ lastModified: t1 }, { lastModified: t2 })).toBe(`Last-Modified ${t2.toUTCString()} instead of ${t1.toUTCString()}`);
    expect(versionDifference({ etag: '"a"', size: 1 }, { etag: '"b"', size: 2 })).toBe('ETag "b" instead of "a", size 2 instead of 1');
  });
});

describe('checkVersion', () => {
  it('throws ConditionNotMatch / ETAG_CHANGED, final, with the context', () => {
    let thrown: unknown;
    try {
      checkVersion({ size: 10 }, { size: 12 }, 'while reading', { backend: 'http', path: 'f' });
    } catch (err) {
      thrown = err;
    }
    expect(hasErrorCode(thrown, 'ETAG_CHANGED')).toBe(true);
    expect(thrown).toMatchObject({ kind: 'ConditionNotMatch', retryable: false, context: { backend: 'http', path: 'f' } });
    expect(() => checkVersion({ size: 10 }, { size: 10 }, 'x', {})).not.toThrow();
  });
});

describe('versionOf / isStrongEtag', () => {
  it('copies the version fields only, and a later change to the source does not move the copy', () => {
    const meta = { size: 5, etag: '"e"', lastModified: new Date(t1), via: [] };
    const v = versionOf(meta);
    meta.lastModified.setTime(t2.getTime());
    expect(v).toEqual({ size: 5, etag: '"e"', lastModified: t1 });
  });

  it('a W/ ETag is not a precondition', () => {
    expect([isStrongEtag('"a"'), isStrongEtag('W/"a"'), isStrongEtag(undefined)]).toEqual([true, false, false]);
  });
});
