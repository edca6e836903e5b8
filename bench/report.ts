/** Benchmark output: the terminal table, the README's Markdown table and the HTML waterfall report. */
import type { CellResult } from './measure.js';

export interface ManyFilesResult {
  reader: string;
  label: string;
  ours: boolean;
  pass: 'cold' | 'warm';
  files: number;
  gets: number;
  heads: number;
  wallMs: number;
  clientAgrees?: boolean;
}
import type { DropInResults } from './dropin.js';

export interface BenchResults {
  when: string;
  model: { ttfbMs: number; bytesPerSecond: number };
  countsFrom: 'server' | 'client metrics';
  cells: (CellResult & { vsNaive?: number; vsBestPeer?: number })[];
  manyFiles: ManyFilesResult[];
  /** The one file this run measured (`--only`), if it was one. */
  only?: string;
  /** The "dataset" section (bench/dataset.ts). */
  dataset?: import('./dataset.js').DatasetBench;
  checks?: { name: string; ok: boolean; detail: string; advisory?: string }[];
  /** The "drop-in" section (bench/dropin.ts). */
  dropin?: DropInResults;
  /** The "decode" section (bench/decode.ts): whole-file readTable vs one GET + in-process decode, by stage. */
  decode?: import('./decode.js').DecodeBench;
  /** The "scan" section (bench/scan.ts): sequential scans vs parallel plain GETs, RSS per reader. */
  scan?: import('./scan.js').ScanResult;
}

const mb = (n: number) => (n / 1e6).toFixed(n >= 1e7 ? 0 : 2);
const ms = (n: number) => (Number.isNaN(n) ? 'error' : n >= 100 ? n.toFixed(0) : n.toFixed(1));
const ratio = (n: number | undefined) => (n === undefined || !Number.isFinite(n) ? '–' : n >= 10 ? `${n.toFixed(0)}×` : `${n.toFixed(1)}×`);

/**
 * "vs best peer" compares like with like: a peer of the same cell counts only when it returned the
 * rows ours did (the same count). In the filter scenario parquet-wasm (no predicate) returns every
 * row of the kept row groups and the byte movers (naive, BufReader) decode none: faster at other
 * work, not faster than ours returning only the matching rows. "vs naive" stays the plain ratio to
 * the naive baseline of the cell.
 */
export const RATIO_RULE = 'vs best peer: the fastest peer of the cell that returned the rows ours did';

/** Whether `peer` did the work `ours` did, by RATIO_RULE. */
export function comparable(ours: Pick<CellResult, 'rows'>, peer: Pick<CellResult, 'rows'>): boolean {
  return peer.rows === ours.rows;
}

/** Adds speed-ups against naive and against the fastest comparable peer of the same cell (ours only; RATIO_RULE). */
export function withRatios(cells: CellResult[]): BenchResults['cells'] {
  return cells.map((c) => {
    if (!c.ours) return c;
    const same = cells.filter((o) => o.file === c.file && o.scenario === c.scenario && !o.ours && !o.error);
    const naive = same.find((o) => o.reader === 'naive' || o.reader === 'arrow-plain');
    const best = Math.min(...same.filter((o) => comparable(c, o)).map((o) => o.wallMs));
    return {
      ...c,
      ...(naive ? { vsNaive: naive.wallMs / c.wallMs } : {}),
      ...(Number.isFinite(best) ? { vsBestPeer: best / c.wallMs } : {}),
    };
  });
}

const HEADER = ['file', 'scenario', 'reader', 'GETs', 'HEADs', 'RTs', 'MB moved', 'MB needed', 'wall ms', 'I/O ms', 'floor ms', 'vs naive', 'vs best peer', 'mem MB'];

function row(c: BenchResults['cells'][number]): string[] {
  return [
    c.file,
    c.scenario,
    c.reader,
    String(c.gets),
    String(c.heads),
    String(c.roundTrips),
    mb(c.bytesMoved),
    mb(c.bytesNeeded),
    ms(c.wallMs),
    ms(c.ioMs),
    ms(c.floorMs),
    ratio(c.vsNaive),
    ratio(c.vsBestPeer),
    c.peakMemMB.toFixed(1),
  ];
}

export function terminalTable(r: BenchResults): string {
  const rows = [HEADER, ...r.cells.map((c) => (c.error ? [c.file, c.scenario, c.reader, `ERROR ${c.error}`.slice(0, 80)] : row(c)))];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((x) => (x[i] ?? '').length)));
  const fmt = (x: string[]) => x.map((v, i) => (i < 3 ? v.padEnd(widths[i] as number) : v.padStart(widths[i] as number))).join('  ');
  const lines = [fmt(HEADER), widths.map((w) => '─'.repeat(w)).join('  ')];
  let prev = '';
  for (const x of rows.slice(1)) {
    const key = `${x[0]}/${x[1]}`;
    if (prev && key !== prev) lines.push('');
    prev = key;
    lines.push(fmt(x));
  }
  if (r.manyFiles.length) lines.push('', 'many files (metadata of each file, concurrently):');
  for (const m of r.manyFiles) {
    lines.push(
      `  ${m.reader.padEnd(14)} ${m.pass.padEnd(5)} ${String(m.files).padStart(5)} files  ${String(m.gets).padStart(6)} GETs ${String(m.heads).padStart(6)} HEADs  ${(m.gets / m.files).toFixed(2)} GET/file  ${ms(m.wallMs)} ms`,
    );
  }
  return lines.join('\n');
}

export function markdownTable(r: BenchResults): string {
  const lines = [
    `Measured ${r.when.slice(0, 10)} on this repo's 2-core CI machine: a local object server modelling S3 one region away (${r.model.ttfbMs} ms to first byte, ${(r.model.bytesPerSecond / 1e6).toFixed(0)} MB/s per connection); requests counted by the ${r.countsFrom}; median of up to 3 runs after an untimed warm-up pass of the decoding readers; ${RATIO_RULE} (– when none did).`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `|${HEADER.map((_, i) => (i < 3 ? '---' : '---:')).join('|')}|`,
    ...r.cells.filter((c) => !c.error).map((c) => `| ${row(c).map((v, i) => (i === 2 && c.ours ? `**${v}**` : v)).join(' | ')} |`),
    '',
    '| many files | pass | files | GETs | HEADs | GETs per file | wall ms |',
    '|---|---|---:|---:|---:|---:|---:|',
    ...r.manyFiles.map((m) => `| ${m.ours ? `**${m.reader}**` : m.reader} | ${m.pass} | ${m.files} | ${m.gets} | ${m.heads} | ${(m.gets / m.files).toFixed(2)} | ${ms(m.wallMs)} |`),
  ];
  return lines.join('\n');
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"]/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' })[c] as string);
}

/** A waterfall per cell: one bar per request over time (SVG, no scripts, no external assets). */
export function htmlReport(r: BenchResults): string {
  const groups = new Map<string, BenchResults['cells']>();
  for (const c of r.cells) {
    const k = `${c.file} · ${c.scenario}`;
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  const sections: string[] = [];
  for (const [title, cells] of groups) {
    // A summary on one log-scale axis (wall time per reader), then each reader's own waterfall on its own axis.
    const done = cells.filter((c) => !c.error);
    const maxWall = Math.max(1, ...done.map((c) => c.wallMs));
    const minWall = Math.max(1, Math.min(...done.map((c) => c.wallMs)) / 2);
    const logX = (v: number) => (Math.log(Math.max(v, minWall) / minWall) / Math.log(maxWall / minWall || 2)) * 560;
    const summary = done
      .map((c, i) => {
        const w = Math.max(2, logX(c.wallMs));
        const color = c.ours ? '#2b8a3e' : '#5c7cfa';
        return `<text x="0" y="${14 + i * 18}" font-size="12">${escapeHtml(c.reader)}</text><rect x="150" y="${4 + i * 18}" width="${w.toFixed(1)}" height="12" fill="${color}"/><text x="${(156 + w).toFixed(1)}" y="${14 + i * 18}" font-size="12">${ms(c.wallMs)} ms · ${c.gets} GET${c.heads ? ` + ${c.heads} HEAD` : ''}</text>`;
      })
      .join('');
    const summarySvg = `<svg width="1000" height="${done.length * 18 + 6}" viewBox="0 0 1000 ${done.length * 18 + 6}">${summary}</svg>`;
    // Ours first, then the peers from fastest to slowest.
    const ordered = [...cells].sort((a, b) => Number(b.ours) - Number(a.ours) || a.wallMs - b.wallMs);
    const parts = ordered.map((c) => {
      const maxBars = 120;
      const bars = c.waterfall.slice(0, maxBars);
      const span = Math.max(1, ...bars.map((b) => b.end));
      const h = Math.max(14, bars.length * 3 + 4);
      const width = 900;
      const rects = bars
        .map((b, i) => {
          const x = (b.start / span) * width;
          const w = Math.max(1.5, ((b.end - b.start) / span) * width);
          const color = b.op === 'HEAD' ? '#d9822b' : c.ours ? '#2b8a3e' : '#5c7cfa';
          return `<rect x="${x.toFixed(1)}" y="${2 + i * 3}" width="${w.toFixed(1)}" height="2.5" fill="${color}"><title>${escapeHtml(`${b.op} ${b.range ?? ''} ${b.bytes} B ${b.start.toFixed(1)}–${b.end.toFixed(1)} ms`)}</title></rect>`;
        })
        .join('');
      const more = c.waterfall.length > maxBars ? `; first ${maxBars} of ${c.waterfall.length} requests, 0–${span.toFixed(0)} ms shown` : `; axis 0–${span.toFixed(0)} ms`;
      return `<div class="cell"><div class="label${c.ours ? ' ours' : ''}">${escapeHtml(c.reader)} — ${c.gets} GET, ${c.heads} HEAD, ${c.roundTrips} round trips, ${ms(c.ioMs)} ms I/O, ${ms(c.wallMs)} ms wall${more}</div><svg width="${width}" height="${h}" viewBox="0 0 ${width} ${h}">${rects}</svg></div>`;
    });
    sections.push(`<section><h2>${escapeHtml(title)}</h2><div class="axis">wall time per reader (log scale)</div>${summarySvg}<div class="axis">each reader's requests over time (its own time axis; one bar per request; orange = HEAD)</div>${parts.join('')}</section>`);
  }
  return `<!doctype html><html><head><meta charset="utf-8"><title>buffered-range-reader benchmark</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}h1{font-size:20px}h2{font-size:16px;margin:24px 0 4px}
.cell{margin:6px 0}.label{font-size:12px;color:#444}.label.ours{color:#2b8a3e;font-weight:600}svg{background:#f6f7f9;border:1px solid #e3e5e8;display:block}
.axis{font-size:12px;color:#777}pre{font-size:12px;background:#f6f7f9;padding:8px;overflow:auto}</style></head><body>
<h1>buffered-range-reader — request waterfalls</h1>
<p>Model: ${r.model.ttfbMs} ms to first byte, ${(r.model.bytesPerSecond / 1e6).toFixed(0)} MB/s per connection. Requests counted by the ${r.countsFrom}. ${escapeHtml(r.when)}</p>
${sections.join('\n')}
</body></html>`;
}
