/**
 * `brr read` sizes its open by what it will read: with no selection, filter or limit every byte is
 * read, so it opens with `expect: 'whole'` (one GET for a file up to the whole-read window); with a
 * selection it keeps the tail window. Counts from the local HTTP object server's own log.
 */
import { tableFromIPC } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { DEFAULT_GAP } from '../../src/buffer-reader/cost-model.js';
import { DEFAULT_FOOTER_WINDOW } from '../../src/parquet/footer.js';
import { ensureBuilt, run } from './run.js';

let server: ObjectServer;
let seedPlus: Uint8Array;

beforeAll(async () => {
  ensureBuilt();
  seedPlus = await fixture(FIXTURES.seedPlus); // ~1.1 MB: over the tail window, inside the whole-read window
  server = await new ObjectServer().start();
  server.put('seedPlus.parquet', seedPlus);
}, 120_000);
afterAll(() => server?.stop());

const log = () => server.requests.map((r) => `${r.method} ${r.range ?? ''}`.trim());

describe('brr read: the open window follows the selection', () => {
  it('no selection: one GET of the whole-read window, every row', async () => {
    expect(seedPlus.byteLength).toBeGreaterThan(DEFAULT_FOOTER_WINDOW);
    server.resetLog();
    const r = await run(['read', `${server.url}/seedPlus.parquet`, '--format', 'csv'], { timeoutMs: 60_000 });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const ref = tableFromIPC(readParquet(seedPlus).intoIPCStream());
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(ref.numRows + 1);
    expect(lines[0]).toBe(ref.schema.fields.map((f) => f.name).join(','));
    expect(lines[1]?.split(',')[0]).toBe(String(ref.getChild('id')?.get(0)));
    expect(lines.at(-1)?.split(',')[0]).toBe(String(ref.getChild('id')?.get(ref.numRows - 1)));
    expect(log()).toEqual([`GET bytes=-${DEFAULT_GAP}`]);
  }, 90_000);

  it('--columns: the tail window, then the chunks not held', async () => {
    server.resetLog();
    const r = await run(['read', `${server.url}/seedPlus.parquet`, '--columns', 'id', '--format', 'csv'], { timeoutMs: 60_000 });
    expect(r.code).toBe(0);
    expect(r.out.trimEnd().split('\n')).toHaveLength(75 * 200 + 1);
    const sent = log();
    expect(sent[0]).toBe(`GET bytes=-${DEFAULT_FOOTER_WINDOW}`);
    expect(sent.length).toBeGreaterThan(1);
    expect(sent.slice(1).every((s) => /^GET bytes=\d+-\d+$/.test(s))).toBe(true);
  }, 90_000);
});
