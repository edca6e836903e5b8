/**
 * `--filter 'a>=10,b<5,c=abc'`: comparisons ANDed by commas, mapped to a `RowGroupFilter` (row-group
 * pruning by statistics) and to a row predicate (`brr read` keeps only the rows that match).
 *
 * Operators: `=` (or `==`), `<`, `<=`, `>`, `>=`. Values: integers (beyond 2^53 as bigint), decimals,
 * `true`/`false`, ISO dates (`2024-01-31`, `2024-01-31T12:00:00Z`), else strings; quote a value to
 * keep it a string (`zip="01234"`) or to put a comma in it.
 */
import type { ColumnFilter, RowGroupFilter } from '../parquet/filter.js';
import { UsageError } from './args.js';

type Op = 'eq' | 'lt' | 'lte' | 'gt' | 'gte';
type Value = number | bigint | string | boolean | Date;

export interface Condition {
  column: string;
  op: Op;
  value: Value;
  /** The value as written (quotes removed): string columns compare against it. */
  text: string;
}

const OPS: [string, Op][] = [
  ['>=', 'gte'],
  ['<=', 'lte'],
  ['==', 'eq'],
  ['=', 'eq'],
  ['>', 'gt'],
  ['<', 'lt'],
];

/** Splits on commas outside quotes. */
function splitTerms(text: string): string[] {
  const out: string[] = [];
  let cur = '';
  let quote: string | undefined;
  for (const ch of text) {
    if (quote) {
      if (ch === quote) quote = undefined;
      cur += ch;
    } else if (ch === '"' || ch === "'") {
      quote = ch;
      cur += ch;
    } else if (ch === ',') {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  if (quote) throw new UsageError(`--filter has an unclosed ${quote} quote: ${JSON.stringify(text)}`);
  out.push(cur);
  return out;
}

function parseValue(raw: string): { value: Value; text: string } {
  const t = raw.trim();
  const quoted = /^(["'])(.*)\1$/s.exec(t);
  if (quoted) return { value: quoted[2] as string, text: quoted[2] as string };
  if (/^[+-]?\d+$/.test(t)) {
    const n = Number(t);
    return { value: Number.isSafeInteger(n) ? n : BigInt(t), text: t };
  }
  if (/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(t)) return { value: Number(t), text: t };
  if (t === 'true' || t === 'false') return { value: t === 'true', text: t };
  if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?)?$/.test(t)) {
    const d = new Date(/[zZ]|[+-]\d{2}:?\d{2}$/.test(t) || t.length === 10 ? t : `${t}Z`);
    if (!Number.isNaN(d.getTime())) return { value: d, text: t };
  }
  return { value: t, text: t };
}

/** Parses `--filter`; throws `UsageError` for a term without an operator, column or value. */
export function parseFilter(text: string, command = 'plan'): Condition[] {
  const conditions: Condition[] = [];
  for (const term of splitTerms(text)) {
    if (term.trim() === '') throw new UsageError(`--filter has an empty term: ${JSON.stringify(text)}`, command);
    // The first operator outside quotes; column names have no operators in them.
    let hit: { at: number; sym: string; op: Op } | undefined;
    for (const [sym, op] of OPS) {
      const at = term.indexOf(sym);
      if (at >= 0 && (!hit || at < hit.at || (at === hit.at && sym.length > hit.sym.length))) hit = { at, sym, op };
    }
    if (!hit) throw new UsageError(`--filter term ${JSON.stringify(term)} needs one of = < <= > >= (e.g. 'id>=10')`, command);
    const column = term.slice(0, hit.at).trim();
    const rawValue = term.slice(hit.at + hit.sym.length);
    if (column === '') throw new UsageError(`--filter term ${JSON.stringify(term)} has no column`, command);
    if (rawValue.trim() === '') throw new UsageError(`--filter term ${JSON.stringify(term)} has no value`, command);
    conditions.push({ column, op: hit.op, ...parseValue(rawValue) });
  }
  return conditions;
}

/** The row-group filter: one comparison, or all of them ANDed. */
export function toRowGroupFilter(conditions: readonly Condition[]): RowGroupFilter {
  const parts: ColumnFilter[] = conditions.map((c) => ({ column: c.column, [c.op]: c.value }) as ColumnFilter);
  return parts.length === 1 ? (parts[0] as ColumnFilter) : { and: parts };
}

/** Compares a row's value with a condition's; undefined when they cannot be compared (the row is dropped). */
function compare(actual: unknown, c: Condition): number | undefined {
  let a = actual;
  let b: unknown = c.value;
  if (a === null || a === undefined) return undefined;
  if (a instanceof Date) a = a.getTime();
  if (b instanceof Date) b = typeof a === 'string' ? c.text : b.getTime();
  if (typeof a === 'string' && typeof b !== 'string') b = c.text;
  if (typeof a === 'bigint' && typeof b === 'number') {
    if (!Number.isInteger(b)) a = Number(a);
    else b = BigInt(b);
  } else if (typeof a === 'number' && typeof b === 'bigint') {
    if (Number.isInteger(a)) a = BigInt(a);
    else b = Number(b);
  }
  if (typeof a !== typeof b) return undefined;
  if (typeof a === 'number' && (Number.isNaN(a) || Number.isNaN(b as number))) return undefined;
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Whether a row's value satisfies the condition (null and incomparable values never do). */
export function matches(actual: unknown, c: Condition): boolean {
  const r = compare(actual, c);
  if (r === undefined) return false;
  switch (c.op) {
    case 'eq':
      return r === 0;
    case 'lt':
      return r < 0;
    case 'lte':
      return r <= 0;
    case 'gt':
      return r > 0;
    case 'gte':
      return r >= 0;
  }
}
