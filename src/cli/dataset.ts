/**
 * Datasets on the command line: `brr ls <prefix>` (files, sizes, partition values, totals; the
 * listing only), and `brr plan|read <prefix> --hive` (many files as one table: partition pruning
 * before any footer, then the per-file plans summed, or the rows).
 */
import type { DatasetInput } from '../dataset/files.js';
import { openDataset, type DatasetSelection } from '../dataset/dataset.js';
import { formatBytes, formatCount, plural, writeRows, type RowFormat } from './format.js';
import { COMMON_HELP, UsageError, parseCommand, urlArg } from './args.js';
import type { PlanSelection } from '../parquet/planner.js';
import type { Condition } from './filter.js';
import type { RowGroupFilter } from '../parquet/filter.js';
import { usd } from './plan.js';
import { Session, writeTo, type Io } from './session.js';
import { partitionFiles } from '../dataset/hive.js';
import { resolveFiles } from '../dataset/files.js';

export const LS_HELP = `Usage: brr ls <prefix> [--json]

The data files under a prefix (s3://bucket/events/, a local folder, or an http(s):// manifest):
path, size and hive partition values (key=value folders), then totals. Only the listing is read
(one LIST per 1,000 keys); hidden files, _SUCCESS, _metadata and .crc files are left out.

  --json                machine-readable output

${COMMON_HELP}
`;

/** What the dataset commands read: the session's backend, listed at its path (a folder), or the manifest it names. */
export function datasetInput(session: Session): DatasetInput {
  const { backend, path } = session;
  if (!backend.capabilities.list) return { backend, manifest: path };
  const prefix = backend.kind === 'fs' && !path.endsWith('/') ? `${path}/` : path;
  return { backend, prefix };
}

function partitionText(values: Record<string, unknown>): string {
  return Object.entries(values)
    .map(([k, v]) => `${k}=${v instanceof Date ? v.toISOString().slice(0, 10) : String(v)}`)
    .join(' ');
}

export async function runLs(args: string[], io: Io): Promise<number> {
  const { values, common, positionals } = parseCommand('ls', args, { json: { type: 'boolean' } }, 1);
  if (common.help) {
    await writeTo(io.stdout, LS_HELP);
    return 0;
  }
  const session = new Session('ls', urlArg('ls', positionals), common, io);
  return session.run(async () => {
    const resolved = await resolveFiles(datasetInput(session), { signal: session.signal });
    const rel = resolved.entries.map((e) => ({ path: e.path, relative: e.path.slice(resolved.rootLength) }));
    const { schema, values: parts } = partitionFiles(rel, 'hive');
    const total = resolved.entries.reduce((n, e) => n + (e.size ?? 0), 0);
    if (values.json) {
      const files = resolved.entries.map((e, i) => ({ path: e.path, size: e.size ?? null, etag: e.etag ?? null, partitions: parts[i] }));
      await writeTo(io.stdout, `${JSON.stringify({ files, partitions: schema.fields, totals: { files: files.length, bytes: total, listRequests: resolved.listRequests } }, null, 2)}\n`);
      return 0;
    }
    const width = Math.max(4, ...resolved.entries.map((e) => formatBytes(e.size ?? 0).length));
    const lines = resolved.entries.map((e, i) => `${formatBytes(e.size ?? 0).padStart(width)}  ${e.path}${schema.fields.length ? `  ${partitionText(parts[i] ?? {})}` : ''}`);
    const fields = schema.fields.length ? `; partitions ${schema.fields.map((f) => `${f.name} (${f.type})`).join(', ')}` : '';
    lines.push(`${plural(resolved.entries.length, 'file')}, ${formatBytes(total)} (${formatCount(total)} bytes)${fields}; ${plural(resolved.listRequests, 'listing request')}`);
    await writeTo(io.stdout, `${lines.join('\n')}\n`);
    return 0;
  });
}

/** `brr plan <prefix> --hive`: the dataset's plan, summed over its files. */
export async function planDataset(session: Session, selection: DatasetSelection, json: boolean): Promise<number> {
  const ds = await openDataset(datasetInput(session), { metadataCache: false, signal: session.signal, ...(selection.filter ? { filter: selection.filter } : {}) });
  const p = await ds.plan(selection);
  if (json) {
    const { perFile, ...sums } = p;
    const files = perFile.map((f) => ({ path: f.path, rowGroups: f.plan.rowGroups, requests: f.plan.requestCount, bytes: f.plan.bytesToFetch }));
    await writeTo(session.io.stdout, `${JSON.stringify({ url: session.display, partitions: ds.partitions.fields, ...sums, perFile: files }, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  const kv = (k: string, v: string) => lines.push(`${k.padEnd(13)}${v}`);
  kv('dataset', `${session.display}: ${plural(ds.openStats.listedFiles, 'file')}; partitions ${ds.partitions.fields.map((f) => `${f.name} (${f.type})`).join(', ') || 'none'}`);
  kv('files', `${p.files} read, ${p.prunedFiles} pruned by partition values (no footer fetched for the ${ds.openStats.prunedFiles} pruned at the open)`);
  kv('row groups', `${p.rowGroups} read, ${p.prunedRowGroups} pruned by statistics`);
  kv('fetch', `${formatBytes(p.bytes)} (${formatCount(p.bytes)} bytes) in ${plural(p.dataRequests, 'data request')}`);
  kv('requests', `${p.requests} (${plural(p.open.listRequests, 'LIST')} + ${plural(p.open.footerRequests, 'footer GET')} + ${p.dataRequests} data)`);
  kv('round trips', `${p.roundTrips} for the data after ${p.open.roundTrips} for the open`);
  kv('S3 cost', `${usd(p.s3CostUsd)} (LIST at $0.005, GET at $0.0004 per 1,000)`);
  await writeTo(session.io.stdout, `${lines.join('\n')}\n`);
  return 0;
}

/** `brr read <prefix> --hive`: the dataset's rows, partition columns last. */
export async function readDataset(session: Session, selection: DatasetSelection, conditions: readonly Condition[], format: RowFormat, limit: number | undefined): Promise<number> {
  const ds = await openDataset(datasetInput(session), { metadataCache: false, signal: session.signal, ...(selection.filter ? { filter: selection.filter } : {}) });
  const outColumns = selection.columns;
  const decodeColumns = outColumns ? [...new Set([...outColumns, ...conditions.map((c) => c.column)])] : undefined;
  const table = await ds.readTable({ ...selection, ...(decodeColumns ? { columns: decodeColumns } : {}), signal: session.signal });
  // Rows are filtered by each file's readTable (one evaluator); partition conditions kept or dropped whole files.
  const shown = outColumns ? table.select([...outColumns]) : table;
  const written = await writeRows(shown, format, limit ?? Infinity, (text) => writeTo(session.io.stdout, text));
  if (format === 'table') await writeTo(session.io.stdout, `(${plural(written, 'row')} from ${plural(ds.files.length, 'file')})\n`);
  return 0;
}

/** The file selection flags as a dataset selection (`--row-groups` names one file's row groups: not for a dataset). */
export function datasetSelection(command: string, selection: PlanSelection): DatasetSelection {
  if (selection.rowGroups) throw new UsageError('--row-groups is for one file; with --hive use --filter', command);
  return { ...(selection.columns ? { columns: selection.columns } : {}), ...(selection.filter ? { filter: selection.filter as RowGroupFilter } : {}) }; // the CLI's filters are ours (toRowGroupFilter)
}

