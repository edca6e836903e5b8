/**
 * `--filter 'a>=10,b<5,c=abc'`: comparisons ANDed by commas, mapped to the library's filter (row
 * groups and pages pruned by statistics; `brr read` gets only the matching rows from `readTable`).
 *
 * Operators: `=` (or `==`), `<`, `<=`, `>`, `>=`. Values: integers (beyond 2^53 as bigint), decimals,
 * `true`/`false`, ISO dates (`2024-01-31`, `2024-01-31T12:00:00Z`), else strings; quote a value to
 * keep it a string (`zip="01234"`) or to put a comma in it.
 */
import type { ColumnFilter, RowGroupFilter } from '../parquet/filter.js';
import type { ValueKind } from '../parquet/row-filter.js';
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

/**
 * The filter: one comparison, or all of them ANDed. With the file's column kinds (`kindOf`), a string
 * column compares with the value as written (`zip=01234` stays `"01234"`, `day=2024-01-31` a string).
 */
export function toRowGroupFilter(conditions: readonly Condition[], kindOf?: (column: string) => ValueKind | undefined): RowGroupFilter {
  const parts: ColumnFilter[] = conditions.map((c) => ({ column: c.column, [c.op]: kindOf?.(c.column) === 'string' ? c.text : c.value }) as ColumnFilter);
  return parts.length === 1 ? (parts[0] as ColumnFilter) : { and: parts };
}
