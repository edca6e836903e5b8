/**
 * `brr inspect <url>`: what a Parquet file holds and what opening it cost — size, ETag, rows, row
 * groups, columns with types and compressed bytes, footer size, page index — from the footer only
 * (one suffix GET, two for a footer longer than the tail window).
 */
import type { SchemaElement } from 'hyparquet';
import type { RequestRecord } from '../layers/metrics.js';
import { openParquet, type ParquetSource } from '../parquet/source.js';
import { COMMON_HELP, parseCommand, urlArg } from './args.js';
import { formatBytes, formatCount, plural } from './format.js';
import { Session, writeTo, type Io } from './session.js';

export const INSPECT_HELP = `Usage: brr inspect <url> [--json]

Size, ETag, rows, row groups, columns with their types and compressed bytes, footer size and
whether a page index exists, read from the footer alone; and the requests that took.

  --json                machine-readable output

${COMMON_HELP}
`;

export interface ColumnInfo {
  name: string;
  /** Physical type with its logical annotation, e.g. `INT64 TIMESTAMP(MILLIS, UTC)`, `BYTE_ARRAY STRING`. */
  type: string;
  physicalType: string | undefined;
  logicalType: string | undefined;
  repetition: string | undefined;
  codec: string | undefined;
  compressedBytes: number;
  uncompressedBytes: number;
}

/** Leaf schema elements by their dotted path. */
function leafElements(schema: readonly SchemaElement[]): Map<string, SchemaElement> {
  const out = new Map<string, SchemaElement>();
  let i = 1;
  const walk = (count: number, prefix: string[]) => {
    for (let k = 0; k < count && i < schema.length; k++) {
      const el = schema[i++] as SchemaElement;
      const path = [...prefix, el.name];
      if (el.num_children) walk(el.num_children, path);
      else out.set(path.join('.'), el);
    }
  };
  walk(schema[0]?.num_children ?? 0, []);
  return out;
}

function logicalName(el: SchemaElement): string | undefined {
  const lt = el.logical_type;
  if (lt) {
    switch (lt.type) {
      case 'DECIMAL':
        return `DECIMAL(${lt.precision}, ${lt.scale})`;
      case 'TIMESTAMP':
      case 'TIME':
        return `${lt.type}(${lt.unit}${lt.isAdjustedToUTC ? ', UTC' : ''})`;
      case 'INTEGER':
        return `${lt.isSigned ? 'INT' : 'UINT'}(${lt.bitWidth})`;
      default:
        return lt.type;
    }
  }
  if (el.converted_type === 'DECIMAL') return `DECIMAL(${el.precision ?? '?'}, ${el.scale ?? 0})`;
  return el.converted_type;
}

export function columnInfo(source: ParquetSource): ColumnInfo[] {
  const elements = leafElements(source.metadata.schema);
  const chunks = source.columnChunks;
  return source.columns.map((name) => {
    const el = elements.get(name);
    let compressed = 0;
    let uncompressed = 0;
    let codec: string | undefined;
    source.metadata.row_groups.forEach((rg, g) => {
      // By the chunk's own path, not its position: a row group need not list its chunks in schema order.
      const at = (chunks[g] ?? []).findIndex((c) => c.column === name);
      const chunk = at >= 0 ? rg.columns[at] : undefined;
      uncompressed += Number(chunk?.meta_data?.total_uncompressed_size ?? 0);
      codec ??= chunk?.meta_data?.codec;
      compressed += chunks[g]?.[at]?.length ?? 0;
    });
    const physical = el?.type === 'FIXED_LEN_BYTE_ARRAY' ? `FIXED_LEN_BYTE_ARRAY(${el.type_length ?? '?'})` : el?.type;
    const logical = el ? logicalName(el) : undefined;
    return {
      name,
      type: [physical ?? '?', logical].filter(Boolean).join(' '),
      physicalType: el?.type,
      logicalType: logical,
      repetition: el?.repetition_type,
      codec,
      compressedBytes: compressed,
      uncompressedBytes: uncompressed,
    };
  });
}

export function requestJson(r: RequestRecord, t0: number) {
  return {
    op: r.op,
    range: r.rangeHeader ?? null,
    status: r.status,
    bytes: r.bytes,
    startMs: Number((r.start - t0).toFixed(3)),
    durationMs: Number((r.end - r.start).toFixed(3)),
  };
}

export function requestLines(requests: readonly RequestRecord[], indent = '  '): string[] {
  return requests.map((r) => `${indent}${`${r.op} ${r.rangeHeader ?? ''}`.trim().padEnd(28)} ${String(r.status).padEnd(4)} ${formatBytes(r.bytes).padStart(10)}  ${(r.end - r.start).toFixed(1).padStart(7)} ms`);
}

function range(values: number[], fmt: (n: number) => string): string {
  const lo = Math.min(...values);
  const hi = Math.max(...values);
  return lo === hi ? `${fmt(lo)} each` : `${fmt(lo)}–${fmt(hi)}`;
}

export async function runInspect(args: string[], io: Io): Promise<number> {
  const { values, common, positionals } = parseCommand('inspect', args, { json: { type: 'boolean' } }, 1);
  if (common.help) {
    await writeTo(io.stdout, INSPECT_HELP);
    return 0;
  }
  const session = new Session('inspect', urlArg('inspect', positionals), common, io);
  return session.run(async () => {
    session.startProgress();
    const source = await openParquet(session.backend, session.path, { metadataCache: false, signal: session.signal });
    session.stopProgress();
    try {
      const columns = columnInfo(source);
      const snap = session.snapshot();
      const t0 = snap.requests[0]?.start ?? 0;
      const createdBy = source.metadata.created_by;
      if (values.json) {
        const out = {
          url: session.display,
          size: source.size,
          etag: source.etag ?? null,
          createdBy: createdBy ?? null,
          rows: source.numRows,
          rowGroups: source.rowGroups.length,
          rowGroupList: source.rowGroups.map((g) => ({ index: g.index, rows: g.numRows, compressedBytes: g.bytes })),
          columns,
          footerBytes: source.footerLength,
          metadataBytes: source.metadataLength,
          pageIndex: source.pageIndex ? { offset: source.pageIndex.offset, length: source.pageIndex.length } : null,
          requests: {
            gets: snap.gets,
            heads: snap.heads,
            roundTrips: snap.roundTrips,
            bytesReceived: snap.bytesReceived,
            list: snap.requests.map((r) => requestJson(r, t0)),
          },
        };
        await writeTo(io.stdout, `${JSON.stringify(out, null, 2)}\n`);
        return 0;
      }
      const lines: string[] = [];
      const kv = (k: string, v: string) => lines.push(`${k.padEnd(12)}${v}`);
      kv('object', session.display);
      kv('size', `${formatCount(source.size)} bytes (${formatBytes(source.size)})`);
      kv('etag', source.etag ?? '(none)');
      if (createdBy) kv('created by', createdBy);
      kv('rows', formatCount(source.numRows));
      const groups = source.rowGroups;
      kv(
        'row groups',
        groups.length === 0
          ? '0'
          : `${formatCount(groups.length)} (${range(groups.map((g) => g.numRows), (n) => `${formatCount(n)} rows`)}; ${range(groups.map((g) => g.bytes), formatBytes)} compressed)`,
      );
      kv('footer', `${formatCount(source.footerLength)} bytes (${formatBytes(source.footerLength)}: metadata ${formatCount(source.metadataLength)} + length 4 + magic 4)`);
      kv('page index', source.pageIndex ? `yes, ${formatBytes(source.pageIndex.length)} at offset ${formatCount(source.pageIndex.offset)}` : 'no');
      lines.push('', `columns (${columns.length})`);
      const head = ['name', 'type', 'compressed', 'uncompressed', 'codec'];
      const rows = columns.map((c) => [c.name, c.type + (c.repetition && c.repetition !== 'REQUIRED' ? ` ${c.repetition.toLowerCase()}` : ''), formatBytes(c.compressedBytes), formatBytes(c.uncompressedBytes), c.codec ?? '']);
      const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] as string).length)));
      const fmt = (r: string[]) => `  ${r.map((v, i) => (i === 2 || i === 3 ? v.padStart(widths[i] as number) : v.padEnd(widths[i] as number))).join('  ').trimEnd()}`;
      lines.push(fmt(head), ...rows.map(fmt));
      lines.push('', `requests    ${plural(snap.gets, 'GET')}, ${plural(snap.heads, 'HEAD')}, ${plural(snap.roundTrips, 'round trip')}; ${formatBytes(snap.bytesReceived)} received`);
      lines.push(...requestLines(snap.requests));
      await writeTo(io.stdout, `${lines.join('\n')}\n`);
      return 0;
    } finally {
      await source.close();
    }
  });
}
