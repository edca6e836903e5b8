/**
 * The request waterfall as a self-contained HTML page (inline SVG; no scripts, no external assets):
 * one row per request, a pale bar while waiting for the first byte and a solid one while the body
 * arrives. Shared by `brr --waterfall` (the benchmark has its own multi-cell report in bench/).
 */
import type { RequestRecord } from '../layers/metrics.js';
import { countRoundTrips } from '../layers/metrics.js';

/** Rows drawn at most; the rest are counted in a note (a page of 10,000 bars helps nobody). */
export const WATERFALL_MAX_ROWS = 2000;

export interface WaterfallSection {
  title: string;
  requests: readonly RequestRecord[];
}

export interface WaterfallInput {
  title: string;
  /** Lines under the title (the command, the object). */
  notes?: string[];
  requests: readonly RequestRecord[];
  /** More waterfalls after the first (or instead of it, when `requests` is empty), each with its own heading and time axis (`brr bench`: one per reader). */
  sections?: readonly WaterfallSection[];
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] as string);
}

function bytesText(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1024 / 1024).toFixed(2)} MiB`;
}

function failed(r: RequestRecord): boolean {
  return typeof r.status === 'string' ? r.status !== 'ok' : r.status >= 400;
}

/** One chart: its SVG and the line that sums it up. Times are relative to the first request's start. */
function chart(requests: readonly RequestRecord[]): { summary: string; svg: string } {
  const all = [...requests].sort((a, b) => a.start - b.start);
  const rows = all.slice(0, WATERFALL_MAX_ROWS);
  const t0 = all[0]?.start ?? 0;
  const span = Math.max(1, ...all.map((r) => r.end - t0));
  const labelW = 300;
  const chartW = 760;
  const rowH = 18;
  const top = 24;
  const height = top + Math.max(1, rows.length) * rowH + 8;
  const x = (t: number) => labelW + ((t - t0) / span) * chartW;
  const ticks: string[] = [];
  for (let i = 0; i <= 5; i++) {
    const t = (span * i) / 5;
    const px = labelW + (chartW * i) / 5;
    ticks.push(
      `<line x1="${px.toFixed(1)}" y1="${top - 4}" x2="${px.toFixed(1)}" y2="${height}" stroke="#e3e5e8"/>` +
        `<text x="${px.toFixed(1)}" y="${top - 8}" text-anchor="${i === 0 ? 'start' : i === 5 ? 'end' : 'middle'}" class="tick">${t.toFixed(t >= 100 ? 0 : 1)} ms</text>`,
    );
  }
  const bars = rows.map((r, i) => {
    const y = top + i * rowH;
    const color = failed(r) ? '#e03131' : r.op === 'HEAD' ? '#d9822b' : '#2b8a3e';
    const first = r.firstByte ?? r.end;
    const wait = Math.max(0, x(first) - x(r.start));
    const body = Math.max(1.5, x(r.end) - x(first));
    const label = `${r.op} ${r.rangeHeader ?? ''}`.trim();
    const detail = `${label} · status ${r.status} · ${bytesText(r.bytes)} · first byte ${(first - r.start).toFixed(1)} ms · ${(r.end - r.start).toFixed(1)} ms`;
    return (
      `<g><title>${escapeHtml(`${detail}\n${r.path}`)}</title>` +
      `<text x="4" y="${y + 13}" class="label">${escapeHtml(`${label}  ${bytesText(r.bytes)}`)}</text>` +
      `<rect x="${x(r.start).toFixed(1)}" y="${y + 4}" width="${wait.toFixed(1)}" height="10" fill="${color}" opacity="0.3"/>` +
      `<rect x="${(x(r.start) + wait).toFixed(1)}" y="${y + 4}" width="${body.toFixed(1)}" height="10" fill="${color}"/></g>`
    );
  });
  const gets = all.filter((r) => r.op === 'GET').length;
  const heads = all.length - gets;
  const received = all.reduce((n, r) => n + r.bytes, 0);
  const summary = `${gets} GET${gets === 1 ? '' : 's'}, ${heads} HEAD${heads === 1 ? '' : 's'}, ${countRoundTrips(all)} round trip${countRoundTrips(all) === 1 ? '' : 's'}, ${bytesText(received)} received, ${span.toFixed(1)} ms`;
  const more = all.length > rows.length ? `<p class="note">First ${rows.length} of ${all.length} requests shown.</p>` : '';
  const empty = all.length === 0 ? '<p class="note">No requests were made.</p>' : '';
  const svg = `${empty}<svg width="${labelW + chartW + 8}" height="${height}" viewBox="0 0 ${labelW + chartW + 8} ${height}" role="img" aria-label="request waterfall">${ticks.join('')}${bars.join('')}</svg>\n${more}`;
  return { summary, svg };
}

/** Renders the page: the main waterfall, then each section's. */
export function waterfallHtml(input: WaterfallInput): string {
  // With sections and no requests of its own, the page is just the sections.
  const main = input.sections?.length && input.requests.length === 0 ? undefined : chart(input.requests);
  const sections = (input.sections ?? []).map((sec) => {
    const c = chart(sec.requests);
    return `<h2>${escapeHtml(sec.title)}</h2>\n<div class="notes">${escapeHtml(c.summary)}</div>\n${c.svg}`;
  });
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>${escapeHtml(input.title)}</title><style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222;background:#fff}h1{font-size:18px;margin:0 0 4px}h2{font-size:15px;margin:20px 0 4px}
.notes{font-size:13px;color:#555;margin:0 0 12px}.note{font-size:12px;color:#777}svg{background:#f6f7f9;border:1px solid #e3e5e8;display:block}
.label{font:11px ui-monospace,monospace;fill:#333}.tick{font:10px system-ui,sans-serif;fill:#777}.legend span{display:inline-block;width:10px;height:10px;margin:0 4px 0 12px}
</style></head><body>
<h1>${escapeHtml(input.title)}</h1>
<div class="notes">${(input.notes ?? []).map((n) => `${escapeHtml(n)}<br>`).join('')}${main ? escapeHtml(main.summary) : ''}</div>
<div class="legend note">one row per request, by start time · pale: waiting for the first byte · solid: body<span style="background:#2b8a3e"></span>GET<span style="background:#d9822b"></span>HEAD<span style="background:#e03131"></span>failed</div>
${main?.svg ?? ''}${sections.join('\n')}</body></html>
`;
}
