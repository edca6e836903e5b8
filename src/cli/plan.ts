/**
 * `brr plan <url>`: the read plan for a selection before any data I/O — the column chunks, the byte
 * ranges, the requests after merging, bytes, round trips and what the requests cost on S3. Only the
 * footer is read (the open: one GET, or two for a long footer).
 */
import { ReaderError } from '../errors.js';
import type { RowGroupFilter } from '../parquet/filter.js';
import { S3_GET_PRICE_USD, type PlanSelection, type ReadPlan } from '../parquet/planner.js';
import { openParquet } from '../parquet/source.js';
import { COMMON_HELP, HIVE_HELP, intListFlag, listFlag, parseCommand, str, urlArg } from './args.js';
import { loadHeldIndexes } from '../parquet/filtered-read.js';
import { columnKind } from '../parquet/row-filter.js';
import { parseFilter, toRowGroupFilter } from './filter.js';
import { formatBytes, formatCount, plural } from './format.js';
import { requestJson, requestLines } from './inspect.js';
import { Session, writeTo, type Io } from './session.js';
import { datasetSelection, planDataset } from './dataset.js';

export const PLAN_HELP = `Usage: brr plan <url> [--columns a,b] [--row-groups 0,3] [--filter 'a>=10'] [--hive] [--json]

The read plan before any data I/O: column chunks, byte ranges, the requests after merging, bytes,
round trips and the S3 GET cost. Only the footer is read.

  --columns a,b         columns to read (leaf paths like s.x, or a parent); default all
  --row-groups 0,3      row group indices; default all
  --filter EXPR         prune row groups by min/max statistics (and bloom filters or the page
                        index when the open's window holds them): comparisons joined by ','
                        (AND), e.g. 'id>=100,id<200' or 'word=delta'; operators = < <= > >=
  --json                machine-readable output
${HIVE_HELP}

${COMMON_HELP}
`;

export const SELECTION_OPTIONS = {
  columns: { type: 'string' },
  'row-groups': { type: 'string' },
  filter: { type: 'string' },
} as const;

/** The selection flags as a PlanSelection (flag syntax errors are usage errors; unknown columns come from the planner). */
export function selectionFrom(command: string, values: Record<string, string | boolean | undefined>): PlanSelection & { filter?: RowGroupFilter } {
  const columns = listFlag(command, 'columns', str(values, 'columns'));
  const rowGroups = intListFlag(command, 'row-groups', str(values, 'row-groups'));
  const filterText = str(values, 'filter');
  const filter = filterText === undefined ? undefined : toRowGroupFilter(parseFilter(filterText, command));
  return { ...(columns ? { columns } : {}), ...(rowGroups ? { rowGroups } : {}), ...(filter ? { filter } : {}) };
}

/** Dollars without exponent notation: `$0.0000008`, `$0.80`. */
export function usd(n: number): string {
  if (n === 0) return '$0';
  if (n >= 0.01) return `$${n.toFixed(2)}`;
  // Two significant digits, written out: 4e-7 → 0.0000004.
  const decimals = Math.min(20, Math.max(2, 1 - Math.floor(Math.log10(n))));
  return `$${n.toFixed(decimals).replace(/0+$/, '').replace(/\.$/, '')}`;
}

/** `0,1,2,3,5,7,8,9` → `0–3, 5, 7–9`. */
export function compactList(ns: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < ns.length; ) {
    let j = i;
    while (j + 1 < ns.length && (ns[j + 1] as number) === (ns[j] as number) + 1) j++;
    parts.push(j - i >= 2 ? `${ns[i]}–${ns[j]}` : ns.slice(i, j + 1).join(', '));
    i = j + 1;
  }
  return parts.join(', ');
}

/**
 * Checks `--columns` and `--filter` columns against the file before planning, with a short message:
 * the planner's own lists every column, which for a 300-column file is a page of text.
 */
export function checkColumns(command: string, all: readonly string[], wanted: readonly string[]): void {
  for (const w of wanted) {
    if (all.some((c) => c === w || c.startsWith(`${w}.`))) continue;
    const near = closest(w, all);
    const list = all.length <= 20 ? `columns: ${all.join(', ')}` : `${all.length} columns; 'brr inspect' lists them`;
    throw new ReaderError('InvalidInput', `no column ${JSON.stringify(w)} in the file${near ? ` (did you mean ${JSON.stringify(near)}?)` : ''}; ${list}`, { op: command }, { code: 'COLUMN_NOT_FOUND' });
  }
}

/** The column name nearest to `name` by edit distance, if it is near enough to be a typo. */
function closest(name: string, all: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Math.max(2, Math.floor(name.length / 3)) + 1;
  for (const c of all) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min((prev[j] as number) + 1, (cur[j - 1] as number) + 1, (prev[j - 1] as number) + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length] as number;
}

/** The filter's column names. */
export function filterColumns(filter: RowGroupFilter | undefined): string[] {
  if (!filter) return [];
  if ('and' in filter) return filter.and.flatMap(filterColumns);
  if ('or' in filter) return filter.or.flatMap(filterColumns);
  return [filter.column];
}

export async function runPlan(args: string[], io: Io): Promise<number> {
  const { values, common, positionals } = parseCommand('plan', args, { ...SELECTION_OPTIONS, json: { type: 'boolean' }, hive: { type: 'boolean' } }, 1);
  if (common.help) {
    await writeTo(io.stdout, PLAN_HELP);
    return 0;
  }
  const url = urlArg('plan', positionals);
  const selection = selectionFrom('plan', values);
  const session = new Session('plan', url, common, io);
  if (values.hive) return session.run(() => planDataset(session, datasetSelection('plan', selection), values.json === true));
  return session.run(async () => {
    session.startProgress();
    const source = await openParquet(session.backend, session.path, { metadataCache: false, signal: session.signal });
    session.stopProgress();
    try {
      checkColumns('plan', source.columns, [...(selection.columns ?? []), ...filterColumns(selection.filter)]);
      // The filter again with the file's column kinds: string columns compare with the text as written.
      const filterText = str(values, 'filter');
      const filter = filterText === undefined ? undefined : toRowGroupFilter(parseFilter(filterText, 'plan'), (c) => columnKind(source.schema, c));
      if (filter) await loadHeldIndexes(source); // as a filtered read does: what the window holds prunes for free
      const plan: ReadPlan = source.plan({ ...selection, ...(filter ? { filter } : {}) });
      const open = session.snapshot();
      const openRequests = open.gets + open.heads;
      const totalRequests = openRequests + plan.requestCount;
      const totalTrips = open.roundTrips + plan.roundTrips;
      const costUsd = totalRequests * S3_GET_PRICE_USD;
      const settings = { gap: source.reader.gap, maxRangeSize: source.reader.maxRangeSize, concurrency: source.reader.concurrency };
      if (values.json) {
        const t0 = open.requests[0]?.start ?? 0;
        const out = {
          url: session.display,
          size: source.size,
          selection: {
            columns: selection.columns ?? null,
            rowGroups: selection.rowGroups ?? null,
            filter: str(values, 'filter') ?? null,
          },
          open: { requests: openRequests, roundTrips: open.roundTrips, bytes: open.bytesReceived, held: source.held, list: open.requests.map((r) => requestJson(r, t0)) },
          settings,
          plan: {
            columns: plan.columns,
            rowGroups: plan.rowGroups,
            prunedRowGroups: plan.prunedRowGroups,
            bloomPrunedRowGroups: plan.bloomPrunedRowGroups,
            rowRanges: plan.rowRanges ?? null,
            rowsExpected: plan.rowsExpected ?? null,
            chunks: plan.chunks,
            ranges: plan.ranges,
            requests: plan.requests.map((r) => ({ offset: r.offset, length: r.length, range: `bytes=${r.offset}-${r.offset + r.length - 1}` })),
            bytesNeeded: plan.bytesNeeded,
            bytesToFetch: plan.bytesToFetch,
            bytesHeld: plan.bytesHeld,
            requestCount: plan.requestCount,
            roundTrips: plan.roundTrips,
            s3CostUsd: plan.s3CostUsd,
          },
          total: { requests: totalRequests, roundTrips: totalTrips, s3CostUsd: costUsd },
        };
        await writeTo(io.stdout, `${JSON.stringify(out, null, 2)}\n`);
        return 0;
      }
      const lines: string[] = [];
      const kv = (k: string, v: string) => lines.push(`${k.padEnd(13)}${v}`);
      kv('object', `${session.display} (${formatBytes(source.size)})`);
      const allColumns = plan.columns.length === source.columns.length;
      kv('columns', `${plan.columns.length} of ${source.columns.length}${allColumns ? '' : `: ${plan.columns.join(', ')}`}`);
      const groups = plan.rowGroups.length;
      const pruned = plan.prunedRowGroups.length ? `; ${plural(plan.prunedRowGroups.length, 'row group')} pruned by the filter (${compactList(plan.prunedRowGroups)})` : '';
      const listed = groups > 0 && groups < source.rowGroups.length ? `: ${compactList(plan.rowGroups)}` : '';
      kv('row groups', `${groups} of ${source.rowGroups.length}${listed}${pruned}`);
      const stages = plan.rowsExpected;
      if (stages) {
        const pages = plan.rowRanges ? `, ${formatCount(stages.pages)} in the pages that may match` : '';
        kv('rows', `${formatCount(stages.selected)} selected, ${formatCount(stages.rowGroups)} in the row groups kept${pages}; about ${formatCount(stages.estimate)} expected to match`);
      }
      kv('chunks', `${plural(plan.chunks.length, 'column chunk')}, ${formatBytes(plan.bytesNeeded)} needed; ${formatBytes(Math.max(0, plan.bytesHeld))} already held by the open`);
      kv(
        'ranges',
        `${plural(plan.ranges.length, 'range')} to fetch → ${plural(plan.requestCount, 'request')} after merging (gap ${formatBytes(settings.gap)}, at most ${formatBytes(settings.maxRangeSize)} per request, ${settings.concurrency} in parallel)`,
      );
      const shown = plan.requests.slice(0, 50);
      shown.forEach((r, i) => lines.push(`  ${String(i + 1).padStart(4)}  ${`bytes=${r.offset}-${r.offset + r.length - 1}`.padEnd(28)} ${formatBytes(r.length).padStart(10)}`));
      if (plan.requests.length > shown.length) lines.push(`  … ${plan.requests.length - shown.length} more (--json lists them all)`);
      const extra = plan.bytesToFetch - (plan.bytesNeeded - plan.bytesHeld);
      kv('fetch', `${formatBytes(plan.bytesToFetch)} (${formatCount(plan.bytesToFetch)} bytes${extra > 0 ? `, of which ${formatBytes(extra)} are gaps merged over` : ''})`);
      kv('round trips', `${plan.roundTrips} for the data after ${open.roundTrips} for the open = ${totalTrips}`);
      kv('requests', `${totalRequests} (open ${openRequests} + data ${plan.requestCount})`);
      kv('S3 cost', `${usd(costUsd)} per read of this selection (${usd(costUsd * 1e6)} per million reads; GET at $0.0004 per 1,000)`);
      lines.push('', `the open took:`, ...requestLines(open.requests));
      await writeTo(io.stdout, `${lines.join('\n')}\n`);
      return 0;
    } finally {
      await source.close();
    }
  });
}
