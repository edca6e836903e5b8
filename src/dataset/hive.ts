/**
 * Hive partitions: `key=value` directory segments of a file's path (`year=2024/month=05/x.parquet`)
 * become typed columns. Pure: from paths to values, no I/O.
 */
import { ReaderError } from '../errors.js';

/** Hive's (and Spark's, DuckDB's) spelling of a null partition value. */
export const HIVE_DEFAULT_PARTITION = '__HIVE_DEFAULT_PARTITION__';

/** The type of a partition column: inferred from every value in the listing, or given. */
export type PartitionType = 'int' | 'date' | 'string';

/** A partition value: an integer, a UTC date (midnight), a string, or null. */
export type PartitionValue = number | Date | string | null;

/** `hive`: field names from the paths, types inferred. Or the fields (in path order) and their types. */
export type Partitioning = 'hive' | { fields: readonly string[]; types?: Readonly<Record<string, PartitionType>> };

export interface PartitionSchema {
  fields: { name: string; type: PartitionType }[];
}

/** The raw `key=value` pairs of the directory segments of `relPath` (not its file name), URL-decoded. */
export function hiveSegments(relPath: string): [string, string][] {
  const dirs = relPath.split('/').slice(0, -1);
  const out: [string, string][] = [];
  for (const seg of dirs) {
    const eq = seg.indexOf('=');
    if (eq <= 0) continue;
    out.push([decode(seg.slice(0, eq)), decode(seg.slice(eq + 1))]);
  }
  return out;
}

/** Hive escapes special characters as `%XX`; a segment that is not valid encoding is kept as written. */
function decode(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

const INT = /^-?\d{1,15}$/; // within Number.MAX_SAFE_INTEGER: every integer stays exact
const DATE = /^(\d{4})-(\d{2})-(\d{2})$/;

function parseDate(s: string): Date | undefined {
  const m = DATE.exec(s);
  if (!m) return undefined;
  const d = new Date(Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3])));
  return d.getUTCFullYear() === Number(m[1]) && d.getUTCMonth() === Number(m[2]) - 1 && d.getUTCDate() === Number(m[3]) ? d : undefined;
}

/** The narrowest type every (non-null) raw value fits, as DuckDB infers: integer, then date, then string. */
export function inferType(raws: Iterable<string | null>): PartitionType {
  let int = true;
  let date = true;
  for (const r of raws) {
    if (r === null) continue;
    if (int && !INT.test(r)) int = false;
    if (date && !parseDate(r)) date = false;
    if (!int && !date) return 'string';
  }
  return int ? 'int' : date ? 'date' : 'string';
}

/** A raw value as `type`; `__HIVE_DEFAULT_PARTITION__` (and an empty value) is null. */
export function typedValue(raw: string | null, type: PartitionType, where: { path: string; field: string }): PartitionValue {
  if (raw === null) return null;
  if (type === 'string') return raw;
  if (type === 'int' && INT.test(raw)) return Number(raw);
  const d = type === 'date' ? parseDate(raw) : undefined;
  if (d) return d;
  throw new ReaderError('InvalidInput', `partition ${where.field}=${JSON.stringify(raw)} of ${where.path} is not a ${type}`, { op: 'open', path: where.path }, { code: 'BAD_PARTITION' });
}

export interface PartitionedPath {
  path: string;
  /** Path relative to the dataset's root (where partition segments are read). */
  relative: string;
}

/**
 * Partition values for every file: the same fields, in the same order, in every path (a file missing
 * one is `BAD_PARTITION`, naming it). Types are the given ones, else inferred over all files.
 */
export function partitionFiles(files: readonly PartitionedPath[], partitioning: Partitioning): { schema: PartitionSchema; values: Record<string, PartitionValue>[] } {
  const raw = files.map((f) => hiveSegments(f.relative).map(([k, v]): [string, string | null] => [k, v === HIVE_DEFAULT_PARTITION || v === '' ? null : v]));
  const names = partitioning === 'hive' ? (raw[0] ?? []).map(([k]) => k) : [...partitioning.fields];
  if (new Set(names).size !== names.length) {
    throw new ReaderError('InvalidInput', `partition fields repeat in ${files[0]?.path}: ${names.join(', ')}`, { op: 'open' }, { code: 'BAD_PARTITION' });
  }
  raw.forEach((pairs, i) => {
    const got = pairs.map(([k]) => k);
    if (got.length !== names.length || got.some((k, j) => k !== names[j])) {
      const file = (files[i] as PartitionedPath).path;
      throw new ReaderError(
        'InvalidInput',
        `${file} has partitions (${got.join(', ') || 'none'}), but the dataset's are (${names.join(', ') || 'none'}): every file needs the same key=value folders in the same order`,
        { op: 'open', path: file },
        { code: 'BAD_PARTITION' },
      );
    }
  });
  const given = partitioning === 'hive' ? {} : (partitioning.types ?? {});
  const fields = names.map((name, j) => ({ name, type: given[name] ?? inferType(raw.map((pairs) => (pairs[j] as [string, string | null])[1])) }));
  const values = raw.map((pairs, i) =>
    Object.fromEntries(fields.map((f, j) => [f.name, typedValue((pairs[j] as [string, string | null])[1], f.type, { path: (files[i] as PartitionedPath).path, field: f.name })])),
  );
  return { schema: { fields }, values };
}
