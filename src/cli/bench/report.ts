/** `brr bench <url>`'s output: the table, the JSON document and the waterfall page. */
import { formatBytes, formatCount, plural } from '../format.js';
import { usd } from '../plan.js';
import { waterfallHtml } from '../waterfall.js';
import type { ObjectBenchResult, ReaderResult } from './object.js';

export interface BenchReportInput {
  /** The URL as shown (query values redacted). */
  url: string;
  selection: { columns: string[] | null; rowGroups: number[] | null; filter: string | null };
  runs: number;
  naiveLimit: number;
  result: ObjectBenchResult;
}

/** The `--json` document: `{ url, size, selection, readers: [...] }` (requests are in the waterfall, not here). */
export function benchJson(input: BenchReportInput): unknown {
  const { result } = input;
  return {
    url: input.url,
    size: result.size,
    rowGroups: result.rowGroups,
    columns: result.columns,
    selection: input.selection,
    runs: input.runs,
    naiveLimit: input.naiveLimit,
    bytesNeeded: result.bytesNeeded,
    readers: result.readers.map(({ requests: _requests, ...r }) => r),
  };
}

function selectionText(s: BenchReportInput['selection']): string {
  const parts = [s.columns ? `columns ${s.columns.join(', ')}` : 'all columns', s.rowGroups ? `row groups ${s.rowGroups.join(', ')}` : 'all row groups'];
  if (s.filter) parts.push(`filter ${s.filter}`);
  return parts.join('; ');
}

function ratio(r: ReaderResult): string {
  return r.bytesNeeded > 0 ? `${(r.bytes / r.bytesNeeded).toFixed(2)}×` : '–';
}

/** The human table. */
export function benchTable(input: BenchReportInput): string {
  const { result } = input;
  const lines: string[] = [];
  const kv = (k: string, v: string) => lines.push(`${k.padEnd(10)}${v}`);
  kv('object', `${input.url} (${formatBytes(result.size)}, ${plural(result.rowGroups, 'row group')} × ${plural(result.columns, 'column')})`);
  kv('selection', selectionText(input.selection));
  kv('needed', `${formatBytes(result.bytesNeeded)} (${formatCount(result.bytesNeeded)} bytes: the footer and the selected column data)`);
  kv('runs', `${input.runs} per reader, each from cold (after a warm-up on a tiny in-memory file); wall time is the median`);
  lines.push('');
  const header = ['reader', 'GETs', 'HEADs', 'round trips', 'moved', 'moved/needed', 'wall ms', 'S3 $ per 1M reads'];
  const rows = result.readers.map((r) =>
    r.error && r.wallMs !== r.wallMs
      ? [r.reader, String(r.gets), String(r.heads), String(r.roundTrips), formatBytes(r.bytes), '', 'failed', '']
      : [r.reader, formatCount(r.gets), formatCount(r.heads), formatCount(r.roundTrips), formatBytes(r.bytes), ratio(r), r.wallMs.toFixed(r.wallMs >= 100 ? 0 : 1), usd(r.s3CostPerMillionUsd)],
  );
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const fmt = (row: string[]) => row.map((c, i) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join('  ');
  lines.push(fmt(header), ...rows.map(fmt));
  lines.push('');
  for (const r of result.readers) {
    if (r.chunksSkipped) lines.push(`${r.reader}: stopped after ${formatCount(input.naiveLimit)} column chunks, ${formatCount(r.chunksSkipped)} not read (--naive-limit); its counts and time are for that part`);
    if (r.error) lines.push(`${r.reader}: failed: ${r.error.message}`);
  }
  const byFetch = result.readers.filter((r) => r.countedBy === 'fetch').map((r) => r.reader);
  const byBackend = result.readers.filter((r) => r.countedBy === 'backend').map((r) => r.reader);
  lines.push(
    `counted on our side: ${byBackend.join(', ')} by the backend's metrics${byFetch.length ? `; ${byFetch.join(', ')} by a counting fetch` : ''}. ` +
      'S3 prices GET and HEAD at $0.0004 per 1,000 requests.',
  );
  return `${lines.join('\n')}\n`;
}

/** One waterfall per reader (its last run). */
export function benchWaterfall(input: BenchReportInput): string {
  return waterfallHtml({
    title: `brr bench ${input.url}`,
    notes: [`${new Date().toISOString()} · ${selectionText(input.selection)} · one section per reader (its last run)`],
    requests: [],
    sections: input.result.readers.map((r) => ({ title: `${r.reader}: ${r.label}${r.error ? ` (failed: ${r.error.message})` : ''}`, requests: r.requests })),
  });
}
