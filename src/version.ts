/**
 * An object's version, as responses tell it: the ETag when the server sends one, and its size and
 * Last-Modified time always. Two responses are of one version when nothing they both tell differs.
 * Every reader checks each response against the version it is pinned to (catalogue cases 4 and 5):
 * a strong ETag is also sent as `If-Match`, a weak or missing one is compared here, client-side.
 */
import { ReaderError, type ErrorContext } from './errors.js';
import type { ObjectMeta } from './types.js';

/** What a reader knows of the version it reads: any of ETag, size, Last-Modified. */
export type ObjectVersion = Partial<Pick<ObjectMeta, 'etag' | 'size' | 'lastModified'>>;

/**
 * How `got` differs from `expected`, in words (`ETag "b" instead of "a"`), or undefined when it is
 * the same version. A field either side does not know is not compared: a server that sends no ETag
 * is judged by size and Last-Modified alone.
 */
export function versionDifference(expected: ObjectVersion, got: ObjectVersion): string | undefined {
  const diffs: string[] = [];
  if (expected.etag !== undefined && got.etag !== undefined && expected.etag !== got.etag) diffs.push(`ETag ${got.etag} instead of ${expected.etag}`);
  if (expected.size !== undefined && got.size !== undefined && expected.size !== got.size) diffs.push(`size ${got.size} instead of ${expected.size}`);
  const a = expected.lastModified?.getTime();
  const b = got.lastModified?.getTime();
  if (a !== undefined && b !== undefined && a !== b) diffs.push(`Last-Modified ${got.lastModified?.toUTCString()} instead of ${expected.lastModified?.toUTCString()}`);
  return diffs.length ? diffs.join(', ') : undefined;
}

/** The error for a response of another version: `ConditionNotMatch`, code `ETAG_CHANGED`, final. */
export function versionChangedError(what: string, difference: string, context: ErrorContext): ReaderError {
  return new ReaderError('ConditionNotMatch', `object changed ${what} (${difference})`, context, { code: 'ETAG_CHANGED' });
}

/** Throws `versionChangedError` unless `got` is of the `expected` version. */
export function checkVersion(expected: ObjectVersion, got: ObjectVersion, what: string, context: ErrorContext): void {
  const difference = versionDifference(expected, got);
  if (difference !== undefined) throw versionChangedError(what, difference, context);
}

/** The fields of `meta` that tell a version (a copy: later changes to `meta` do not move it). */
export function versionOf(meta: ObjectVersion): ObjectVersion {
  return {
    ...(meta.etag !== undefined ? { etag: meta.etag } : {}),
    ...(meta.size !== undefined ? { size: meta.size } : {}),
    ...(meta.lastModified !== undefined ? { lastModified: new Date(meta.lastModified.getTime()) } : {}),
  };
}

/** A strong ETag can be a precondition (`If-Match`); a weak `W/` one cannot (catalogue case 5). */
export function isStrongEtag(etag: string | undefined): etag is string {
  return etag !== undefined && !etag.startsWith('W/');
}
