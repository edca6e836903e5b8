/**
 * Text output of `brr`: byte sizes, and rows of an apache-arrow Table as an aligned table, CSV
 * (RFC 4180 quoting) or JSON lines (64-bit integers as strings, so no precision is lost).
 */
import { DataType, Precision, type Field, type Table } from 'apache-arrow';

/** `1536` → `1.5 KiB`; exact below 1 KiB. */
export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KiB', 'MiB', 'GiB', 'TiB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v >= 100 ? v.toFixed(0) : v.toFixed(1)} ${units[i]}`;
}

/** `1234567` → `1,234,567`. */
export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${n === 1 ? one : many}`;
}

export type RowFormat = 'table' | 'csv' | 'jsonl';
export const ROW_FORMATS: readonly RowFormat[] = ['table', 'csv', 'jsonl'];

/** Cells wider than this are cut with `…` in the table format (CSV and JSON lines are never cut). */
export const TABLE_CELL_MAX = 32;

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Binary as text when it is valid UTF-8 (Parquet strings without a STRING annotation), else `0x…` hex. */
function binaryText(bytes: Uint8Array): string {
  try {
    return utf8.decode(bytes);
  } catch {
    return `0x${Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex')}`;
  }
}

/** An unscaled decimal integer (`-205`) with `scale` digits after the point (`-2.05`). */
function scaleDecimal(unscaled: string, scale: number): string {
  if (scale <= 0) return unscaled;
  const neg = unscaled.startsWith('-');
  const digits = (neg ? unscaled.slice(1) : unscaled).padStart(scale + 1, '0');
  return `${neg ? '-' : ''}${digits.slice(0, -scale)}.${digits.slice(-scale)}`;
}

/** The shortest decimal that reads back as the same float32 (`0.1`, not `0.10000000149011612`). */
function shortestFloat32(v: number): number {
  if (!Number.isFinite(v)) return v;
  for (let p = 1; p <= 9; p++) {
    const d = Number(v.toPrecision(p));
    if (Math.fround(d) === v) return d;
  }
  return v;
}

function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? String(ms) : d.toISOString();
}

/** JSON of nested values (lists, structs, maps): bigint as string, binary as text. */
function nestedJson(value: unknown): string {
  return JSON.stringify(value, (_k, v: unknown) => {
    if (typeof v === 'bigint') return v.toString();
    if (v instanceof Uint8Array) return binaryText(v);
    return v;
  });
}

/** One value as JSON: null, boolean, number, or a string for 64-bit integers, decimals, times and binary. */
export function jsonValue(value: unknown, field: Field): unknown {
  if (value === null || value === undefined) return null;
  const type = field.type;
  if (DataType.isDecimal(type)) return scaleDecimal(String(value), (type as { scale: number }).scale);
  if ((DataType.isTimestamp(type) || DataType.isDate(type)) && typeof value === 'number') return isoTime(value);
  if (value instanceof Date) return value.toISOString();
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return binaryText(value);
  if (typeof value === 'number' && DataType.isFloat(type) && (type as { precision: Precision }).precision !== Precision.DOUBLE) return shortestFloat32(value);
  if (typeof value === 'object') return JSON.parse(nestedJson(value)) as unknown;
  return value;
}

/** One value as text (CSV and table cells); null is `undefined`. */
export function textValue(value: unknown, field: Field): string | undefined {
  const v = jsonValue(value, field);
  if (v === null) return undefined;
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** RFC 4180: a field with a comma, quote, CR or LF is quoted, quotes doubled. */
export function csvField(text: string): string {
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function cut(text: string, max: number): string {
  const flat = text.replace(/[\r\n\t]/g, ' ');
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function isNumeric(field: Field): boolean {
  const t = field.type;
  return DataType.isInt(t) || DataType.isFloat(t) || DataType.isDecimal(t);
}

/** Writes rows as text, in pieces of about this many characters (stdout backpressure is honoured between pieces). */
const PIECE_CHARS = 64 * 1024;

/**
 * Renders the first `limit` rows of `table` in `format`, handing text to `write` in pieces. The table
 * format needs every row before its first line (column widths), CSV and JSON lines stream.
 */
export async function writeRows(table: Table, format: RowFormat, limit: number, write: (text: string) => Promise<void>, keep?: (row: number) => boolean): Promise<number> {
  const fields = table.schema.fields;
  const columns = fields.map((_, j) => table.getChildAt(j));
  const n = Math.min(table.numRows, limit);
  let buffered = '';
  const emit = async (line: string) => {
    buffered += line;
    if (buffered.length >= PIECE_CHARS) {
      await write(buffered);
      buffered = '';
    }
  };
  let written = 0;
  const rows = function* (): Generator<number> {
    for (let i = 0; i < table.numRows && written < n; i++) {
      if (keep && !keep(i)) continue;
      written++;
      yield i;
    }
  };
  if (format === 'jsonl') {
    for (const i of rows()) {
      const obj: Record<string, unknown> = {};
      fields.forEach((f, j) => (obj[f.name] = jsonValue(columns[j]?.get(i), f)));
      await emit(`${JSON.stringify(obj)}\n`);
    }
  } else if (format === 'csv') {
    await emit(`${fields.map((f) => csvField(f.name)).join(',')}\n`);
    for (const i of rows()) {
      await emit(`${fields.map((f, j) => csvField(textValue(columns[j]?.get(i), f) ?? '')).join(',')}\n`);
    }
  } else {
    const header = fields.map((f) => cut(f.name, TABLE_CELL_MAX));
    const body: string[][] = [];
    for (const i of rows()) body.push(fields.map((f, j) => cut(textValue(columns[j]?.get(i), f) ?? 'null', TABLE_CELL_MAX)));
    const widths = header.map((h, j) => Math.max(h.length, ...body.map((r) => (r[j] as string).length)));
    const right = fields.map(isNumeric);
    const line = (cells: string[], header = false) =>
      `${cells.map((c, j) => (right[j] && !header ? c.padStart(widths[j] as number) : c.padEnd(widths[j] as number))).join('  ').trimEnd()}\n`;
    await emit(line(header, true));
    await emit(line(widths.map((w) => '─'.repeat(w)), true));
    for (const r of body) await emit(line(r));
  }
  if (buffered) await write(buffered);
  return written;
}
