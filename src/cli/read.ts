/**
 * `brr read <url>`: decoded rows. The selection is planned first, so only the needed row groups and
 * column chunks are fetched (one parallel wave after the open); parquet-wasm decodes them in a worker
 * into an apache-arrow Table, which is printed as an aligned table, CSV or JSON lines.
 */
import type { Table } from 'apache-arrow';
import { openParquet } from '../parquet/source.js';
import { isWholeRead } from '../parquet/whole.js';
import { COMMON_HELP, HIVE_HELP, UsageError, intFlag, parseCommand, str, urlArg } from './args.js';
import { columnKind } from '../parquet/row-filter.js';
import { parseFilter, toRowGroupFilter, type Condition } from './filter.js';
import { ROW_FORMATS, formatCount, plural, writeRows, type RowFormat } from './format.js';
import { SELECTION_OPTIONS, checkColumns, selectionFrom } from './plan.js';
import { Session, writeTo, type Io } from './session.js';
import { datasetSelection, readDataset } from './dataset.js';

export const READ_HELP = `Usage: brr read <url> [--columns a,b] [--limit N] [--format table|csv|jsonl] [--hive]

Decoded rows. Only the row groups and column chunks the selection needs are fetched.

  --columns a,b         columns to output (default all)
  --limit N             at most N rows; only the row groups holding them are read
  --row-groups 0,3      only these row groups
  --filter EXPR         only the rows matching all comparisons, e.g. 'id>=100,word=delta'; row
                        groups that statistics (or bloom filters, or the page index) rule out are
                        not read (see 'brr plan --help')
  --format FMT          table (default; aligned, long cells cut), csv (RFC 4180 quoting) or jsonl
                        (one JSON object per row; 64-bit integers and decimals as strings)
${HIVE_HELP}

${COMMON_HELP}
`;

export async function runRead(args: string[], io: Io): Promise<number> {
  const { values, common, positionals } = parseCommand('read', args, { ...SELECTION_OPTIONS, limit: { type: 'string' }, format: { type: 'string' }, hive: { type: 'boolean' } }, 1);
  if (common.help) {
    await writeTo(io.stdout, READ_HELP);
    return 0;
  }
  const url = urlArg('read', positionals);
  const limit = intFlag('read', 'limit', str(values, 'limit'));
  const format = (str(values, 'format') ?? 'table') as RowFormat;
  if (!ROW_FORMATS.includes(format)) throw new UsageError(`--format must be one of ${ROW_FORMATS.join(', ')}, got ${JSON.stringify(format)}`, 'read');
  const selection = selectionFrom('read', values);
  const filterText = str(values, 'filter');
  const conditions: Condition[] = filterText === undefined ? [] : parseFilter(filterText, 'read');
  const session = new Session('read', url, common, io);
  if (values.hive) return session.run(() => readDataset(session, datasetSelection('read', selection), conditions, format, limit));
  return session.run(async () => {
    session.startProgress();
    // No selection, no filter, no limit: every byte will be read, so the open's one GET asks for the
    // whole-read window (a file up to ~1.9 MiB is read in that one round trip).
    const whole = isWholeRead(selection) && conditions.length === 0 && limit === undefined;
    const source = await openParquet(session.backend, session.path, { metadataCache: false, signal: session.signal, ...(whole ? { expect: 'whole' as const } : {}) });
    try {
      // The filter's columns are decoded too (readTable tests each row), then left out of the output.
      const outColumns = selection.columns;
      const decodeColumns = outColumns ? [...new Set([...outColumns, ...conditions.map((c) => c.column)])] : undefined;
      // One whole-call read: if the object changes before the rows are decoded, it is planned and
      // read again on the new version (nothing is written before).
      const read = await source.readWhole(async (file) => {
        checkColumns('read', file.columns, [...(outColumns ?? []), ...conditions.map((c) => c.column)]);
        const filter = conditions.length ? toRowGroupFilter(conditions, (c) => columnKind(file.schema, c)) : undefined;
        const plan = file.plan({ ...selection, ...(filter ? { filter } : {}), ...(decodeColumns ? { columns: decodeColumns } : {}) });
        let rowGroups = plan.rowGroups.filter((g) => (file.rowGroups[g]?.numRows ?? 0) > 0); // empty row groups hold nothing to decode
        if (limit !== undefined && conditions.length === 0) {
          // Just the leading row groups that hold `limit` rows.
          const keep: number[] = [];
          let rows = 0;
          for (const g of rowGroups) {
            if (rows >= limit) break;
            keep.push(g);
            rows += file.rowGroups[g]?.numRows ?? 0;
          }
          rowGroups = keep;
        }
        // Output fields are top-level (parquet-wasm decodes whole top-level fields), in the order asked for.
        const outFields = [...new Set((outColumns ?? plan.columns).map((c) => c.split('.')[0] as string))];
        const facts = { outFields, rowGroups, numRows: file.numRows, groups: file.rowGroups.length, decodedRows: rowGroups.reduce((n, g) => n + (file.rowGroups[g]?.numRows ?? 0), 0) };
        if (rowGroups.length === 0) return { ...facts, decoded: undefined };
        const toFetch = file.plan({ ...(decodeColumns ? { columns: decodeColumns } : {}), rowGroups }).bytesToFetch;
        session.startProgress(() => toFetch);
        const decoded = await file.readTable({ ...(outColumns ? { columns: outColumns } : {}), ...(filter ? { filter } : {}), rowGroups, signal: session.signal });
        return { ...facts, decoded };
      });
      session.stopProgress();
      const { outFields, rowGroups, decoded } = read;
      if (!decoded) {
        if (format === 'csv') await writeTo(io.stdout, `${outFields.join(',')}\n`);
        else if (format === 'table') await writeTo(io.stdout, `${outFields.join('  ')}\n(0 rows)\n`);
        return 0;
      }
      const table: Table = decoded.select(outFields);
      const written = await writeRows(table, format, limit ?? Infinity, (text) => writeTo(io.stdout, text));
      if (format === 'table') {
        await writeTo(io.stdout, `(${plural(written, 'row')}${written < read.numRows ? ` of ${formatCount(read.numRows)}; ${formatCount(read.decodedRows)} decoded from ${rowGroups.length} of ${read.groups} row groups` : ''})\n`);
      }
      return 0;
    } finally {
      await source.close();
    }
  });
}
