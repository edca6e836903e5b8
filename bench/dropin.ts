/**
 * Benchmark section "drop-in": each decoder reading by itself through a file object — its own
 * loader, our drop-in object (`openAsyncBuffer`, `openBlob`, `openArrowFileHandle`), and our
 * planned path — on the same object server; plus "plan == wire": for every benchmark scenario,
 * `plan.requests` must equal the server's list of what `prefetch(plan)` sent.
 */
import type { FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { RecordBatchReader, tableFromIPC } from 'apache-arrow';
import { asyncBufferFromUrl, parquetReadObjects, type FileMetaData } from 'hyparquet';
import { ParquetFile } from 'parquet-wasm';
import { arrowFileHandle } from '../src/adapters/arrow-ipc.js';
import { openArrowFileHandle } from '../src/arrow/open.js';
import { openWindow } from '../src/parquet/open.js';
import { openAsyncBuffer, openBlob } from '../src/parquet/dropin.js';
import type { PlanSelection } from '../src/parquet/planner.js';
import { openParquet } from '../src/parquet/source.js';
import { RangeReader } from '../src/range-reader/range-reader.js';
import type { Backend } from '../src/types.js';
import { FIXTURE_DIR, FIXTURES, fixture, type FixtureSpec } from './fixtures.js';
import { runCell, type CellResult, type Model } from './measure.js';
import { readsWhole, type ReadSpec } from '../src/cli/bench/readers.js';
import type { ReadTarget, ReaderDef, Scenario } from './readers.js';
import type { ServerClient } from './server-client.js';

export interface PlanWireResult {
  file: string;
  scenario: string;
  /** `bytes=a-b` of each planned request, sorted. */
  planned: string[];
  /** `bytes=a-b` of each GET the server saw for `prefetch(plan)`, sorted. */
  wire: string[];
  ok: boolean;
}

export interface DropInResults {
  cells: CellResult[];
  planWire: PlanWireResult[];
}

/** A file of the main matrix and its scenarios (for plan == wire). */
export interface MatrixFile {
  name: string;
  key: string;
  scenarios: Scenario[];
}

const opened = { metadataCache: false as const, url: { retry: false as const } };
const columnsOf = (s: { columns?: string[] }) => (s.columns ? { columns: s.columns } : {});
/** The planned path knows its read: a whole read opens with `expect: 'whole'` (one GET for a file that fits the whole-read window). */
const plannedOpen = (s: ReadSpec) => ({ ...opened, ...(readsWhole(s) ? { expect: 'whole' as const } : {}) });
const selectionOf = (s: Scenario): PlanSelection => ({ ...columnsOf(s), ...(s.rowGroups ? { rowGroups: s.rowGroups } : {}), ...(s.filter ? { filter: s.filter } : {}) });

function url(t: ReadTarget): string {
  if (!t.httpUrl) throw new Error('drop-in cells need a plain http URL');
  return t.httpUrl;
}

async function wasmRows(file: ParquetFile, s: { columns?: string[] }): Promise<number> {
  try {
    const table = await file.read(columnsOf(s));
    return tableFromIPC(table.intoIPCStream()).numRows;
  } finally {
    file.free();
  }
}

async function arrowRows(handle: unknown): Promise<number> {
  // apache-arrow's types name Node's FileHandle; it only uses fd, stat, read and close.
  const reader = await RecordBatchReader.from(handle as FileHandle);
  let rows = 0;
  for await (const b of reader) rows += b.numRows;
  return rows;
}

const def = (id: string, label: string, ours: boolean, kind: 'parquet' | 'ipc', run: ReaderDef['run']): ReaderDef => ({ id, label, ours, decodes: true, kind, run });

/** The readers of the section: `<decoder>/<loader>`, loader = own | drop-in | planned. */
export const DROPIN_READERS: readonly ReaderDef[] = [
  def('hyparquet/own', "hyparquet: parquetReadObjects({ file: await asyncBufferFromUrl({ url }) })", false, 'parquet', async (t, s) => {
    const rows = await parquetReadObjects({ file: await asyncBufferFromUrl({ url: url(t) }), ...columnsOf(s) });
    return { rows: rows.length };
  }),
  def('hyparquet/drop-in', 'hyparquet: parquetReadObjects({ file: await openAsyncBuffer(url) })', true, 'parquet', async (t, s) => {
    const file = await openAsyncBuffer(url(t), opened);
    const rows = await parquetReadObjects({ file, ...columnsOf(s) });
    await file.close();
    return { rows: rows.length };
  }),
  def('hyparquet/planned', '(await openParquet(url, { expect })).readObjects({ columns })', true, 'parquet', async (t, s) => {
    const source = await openParquet(url(t), plannedOpen(s));
    const rows = await source.readObjects(columnsOf(s));
    await source.close();
    return { rows: rows.length };
  }),
  def('parquet-wasm/own', 'parquet-wasm: (await ParquetFile.fromUrl(url)).read({ columns })', false, 'parquet', async (t, s) => ({ rows: await wasmRows(await ParquetFile.fromUrl(url(t)), s) })),
  def('parquet-wasm/drop-in', 'parquet-wasm: (await ParquetFile.fromFile(await openBlob(url))).read({ columns })', true, 'parquet', async (t, s) => {
    const blob = await openBlob(url(t), opened);
    const rows = await wasmRows(await ParquetFile.fromFile(blob as never), s);
    await blob.close();
    return { rows };
  }),
  def('parquet-wasm/planned', '(await openParquet(url, { expect })).readTable({ columns })', true, 'parquet', async (t, s) => {
    const source = await openParquet(url(t), plannedOpen(s));
    const table = await source.readTable(columnsOf(s));
    await source.close();
    return { rows: table.numRows };
  }),
  def('apache-arrow/own', 'apache-arrow over a plain file handle (a GET per read)', false, 'ipc', async (t) => {
    const reader = new RangeReader(t.backend(), t.key, { dropOnSeek: true, size: t.size });
    const handle = arrowFileHandle(reader);
    const rows = await arrowRows(handle);
    await handle.close();
    return { rows };
  }),
  def('apache-arrow/drop-in', 'apache-arrow: RecordBatchReader.from(await openArrowFileHandle(url))', true, 'ipc', async (t) => {
    const handle = await openArrowFileHandle(url(t), { url: { retry: false } });
    const rows = await arrowRows(handle);
    await handle.close();
    return { rows };
  }),
];

/**
 * plan == wire: for each scenario with data to read, open, plan, and compare `plan.requests` with
 * what the server saw for `prefetch(plan)` alone. Also the plan `readTable` makes (with the page index).
 */
async function planWire(server: ServerClient, backend: () => Backend, files: readonly MatrixFile[]): Promise<PlanWireResult[]> {
  const out: PlanWireResult[] = [];
  for (const f of files) {
    for (const s of f.scenarios) {
      if (s.id === 'metadata') continue; // no data plan
      for (const pageIndex of [false, true]) {
        const source = await openParquet(backend(), f.key, { metadataCache: false });
        const plan = source.plan({ ...selectionOf(s), ...(pageIndex ? { pages: false, pageIndex: true, leadingMagic: true } : {}) });
        await server.reset();
        await source.prefetch(plan);
        const wire = (await server.log()).filter((r) => r.method === 'GET').map((r) => r.range ?? '').sort();
        await source.close();
        const planned = plan.requests.map((r) => `bytes=${r.offset}-${r.offset + r.length - 1}`).sort();
        const ok = wire.length === planned.length && wire.every((w, i) => w === planned[i]);
        out.push({ file: f.name, scenario: `${s.id}${pageIndex ? '+pageIndex' : ''}`, planned, wire, ok });
      }
    }
  }
  return out;
}

const twoOf = (label: string, columns: string[]): Scenario => ({ id: 'projection', label, columns });
/** The files and scenarios of the section: the seed-like files on both sides of the tail window, the big file, the IPC file. */
const TARGETS: readonly { spec: FixtureSpec; scenarios: Scenario[]; kind: 'parquet' | 'ipc' }[] = [
  { spec: FIXTURES.seed, scenarios: [{ id: 'full', label: 'full read' }, twoOf('2 columns', ['price', 'word'])], kind: 'parquet' },
  { spec: FIXTURES.seedPlus, scenarios: [{ id: 'full', label: 'full read' }, twoOf('2 columns', ['price', 'word'])], kind: 'parquet' },
  { spec: FIXTURES.big, scenarios: [twoOf('2 of 9 columns', ['x2', 'x6'])], kind: 'parquet' },
  { spec: FIXTURES.ipc, scenarios: [{ id: 'full', label: 'all record batches' }], kind: 'ipc' },
];

/** Cells the section runs (for progress). */
export const DROPIN_CELLS = TARGETS.reduce((n, t) => n + t.scenarios.length * DROPIN_READERS.filter((r) => r.kind === t.kind).length, 0);

export interface DropInOptions {
  check: boolean;
  iterations: number;
  budgetMs: number;
  model: Model;
}

/** Runs the section on the running object server; `files`: the main matrix's files (for plan == wire). */
export async function runDropIn(server: ServerClient, backend: () => Backend, files: readonly MatrixFile[], opts: DropInOptions, step: (what: string) => void = () => undefined): Promise<DropInResults> {
  const cells: CellResult[] = [];
  for (const t of TARGETS) {
    const bytes = await fixture(t.spec);
    await server.put(t.spec.file, join(FIXTURE_DIR, t.spec.file));
    // The drop-in readers find the metadata themselves; the target's is not used.
    const target: ReadTarget = { backend, key: t.spec.file, httpUrl: `${server.url}/${t.spec.file}`, size: bytes.byteLength, metadata: {} as FileMetaData, metadataLength: 0 };
    for (const s of t.scenarios) {
      for (const reader of DROPIN_READERS.filter((r) => r.kind === t.kind)) {
        step(`drop-in · ${t.spec.name} · ${s.id} · ${reader.id}`);
        const expect = { bytesNeeded: bytes.byteLength, floorRoundTrips: bytes.byteLength <= openWindow({ expect: readsWhole(s) ? 'whole' : 'part' }) ? 1 : 2 };
        cells.push(await runCell(server, t.spec.name, target, s, reader, expect, opts));
      }
    }
  }
  step('drop-in · plan == wire');
  return { cells, planWire: await planWire(server, backend, files) };
}

type Check = { name: string; ok: boolean; detail: string; advisory?: string };

/** The issue's targets for the section. */
export function checkDropIn(r: DropInResults): Check[] {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const cell = (file: string, scenario: string, reader: string) => r.cells.find((c) => c.file === file && c.scenario === scenario && c.reader === reader && !c.error);
  const show = (c: CellResult | undefined) => (c ? `${c.gets} GET ${c.heads} HEAD ${c.roundTrips} RT` : 'missing');
  const hyp = ['seed', 'seedPlus'].flatMap((f) => ['full', 'projection'].map((s) => ({ f, s, c: cell(f, s, 'hyparquet/drop-in') })));
  add('drop-in hyparquet, seed-like files (full, 2 columns): ≤ 2 GETs, 0 HEADs, ≤ 2 round trips', hyp.every(({ c }) => c !== undefined && c.gets <= 2 && c.heads === 0 && c.roundTrips <= 2), hyp.map(({ f, s, c }) => `${f}/${s}: ${show(c)}`).join(', '));
  const big = cell('big', 'projection', 'hyparquet/drop-in');
  const bigPlanned = cell('big', 'projection', 'hyparquet/planned');
  add('drop-in hyparquet, big file 2 columns: ≤ planned requests + 1 GETs, 2 round trips', big !== undefined && bigPlanned !== undefined && big.gets <= bigPlanned.gets && big.roundTrips === 2, `${show(big)} (planned path, open included: ${show(bigPlanned)})`);
  const wasm = cell('seed', 'projection', 'parquet-wasm/drop-in');
  const wasmFull = cell('seed', 'full', 'parquet-wasm/drop-in');
  add('drop-in parquet-wasm, seed-like file: ≤ 3 GETs', wasm !== undefined && wasmFull !== undefined && wasm.gets <= 3 && wasmFull.gets <= 3, `projection ${show(wasm)}, full ${show(wasmFull)}`);
  const arrow = cell('ipc', 'full', 'apache-arrow/drop-in');
  add('drop-in apache-arrow, 48-batch IPC file: ≤ 2 GETs, 0 HEADs', arrow !== undefined && arrow.gets <= 2 && arrow.heads === 0, show(arrow));
  const ours = r.cells.filter((c) => c.ours);
  add('drop-in: no HEAD, no failed cell', ours.every((c) => c.heads === 0) && r.cells.every((c) => !c.error), r.cells.filter((c) => c.error || (c.ours && c.heads > 0)).map((c) => `${c.file}/${c.scenario}/${c.reader}: ${c.error ?? `${c.heads} HEADs`}`).join(', ') || 'all');
  const bad = r.planWire.filter((p) => !p.ok);
  add('plan == wire: plan.requests is what prefetch(plan) sends, every scenario', r.planWire.length > 0 && bad.length === 0, bad.map((p) => `${p.file}/${p.scenario}: planned ${p.planned.length}, sent ${p.wire.length}`).join(', ') || `${r.planWire.length} plans`);
  return checks;
}

/** The section as a Markdown table. */
export function dropInTable(r: DropInResults): string {
  const rows = r.cells.map(
    (c) =>
      `| ${c.file} | ${c.scenario} | ${c.ours ? `**${c.reader}**` : c.reader} | ${c.gets} | ${c.heads} | ${c.roundTrips} | ${(c.bytesMoved / 1e6).toFixed(2)} | ${c.error ? 'error' : c.wallMs.toFixed(c.wallMs >= 100 ? 0 : 1)} |`,
  );
  const ok = r.planWire.filter((p) => p.ok).length;
  return [
    '| file | scenario | decoder/loader | GETs | HEADs | RTs | MB moved | wall ms |',
    '|---|---|---|---:|---:|---:|---:|---:|',
    ...rows,
    '',
    `plan == wire: ${ok} of ${r.planWire.length} plans sent exactly their planned requests.`,
  ].join('\n');
}
