/**
 * plan == wire: `plan.requests` is, by construction, the list `prefetch(plan)` sends (one wave
 * planner, the reader's caps). Asserted against a real HTTP server's log for the benchmark's
 * scenarios (the benchmark asserts it too, for every scenario it runs: bench/dropin.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import type { PlanSelection } from '../../src/parquet/planner.js';
import { openParquet } from '../../src/parquet/source.js';

let server: ObjectServer;
beforeAll(async () => {
  server = await new ObjectServer({ ttfbMs: 5 }).start();
  for (const f of [FIXTURES.seed, FIXTURES.seedPlus, FIXTURES.wide, FIXTURES.big]) server.put(f.file, await fixture(f));
}, 300_000);
afterAll(() => server.stop());

const scenarios: { file: string; name: string; selection: PlanSelection }[] = [
  { file: FIXTURES.seed.file, name: 'seed full', selection: {} },
  { file: FIXTURES.seed.file, name: 'seed projection', selection: { columns: ['price', 'word'] } },
  { file: FIXTURES.seedPlus.file, name: 'seedPlus full', selection: {} },
  { file: FIXTURES.seedPlus.file, name: 'seedPlus projection', selection: { columns: ['price', 'word'] } },
  { file: FIXTURES.seedPlus.file, name: 'seedPlus rowgroup', selection: { rowGroups: [7] } },
  { file: FIXTURES.wide.file, name: 'wide projection', selection: { columns: ['c013_qty', 'c250_label'] } },
  { file: FIXTURES.wide.file, name: 'wide rowgroup', selection: { rowGroups: [2] } },
  { file: FIXTURES.big.file, name: 'big projection', selection: { columns: ['x2', 'x6'] } },
  { file: FIXTURES.big.file, name: 'big rowgroup', selection: { rowGroups: [9] } },
  { file: FIXTURES.big.file, name: 'big filter', selection: { columns: ['id', 'x0'], filter: { column: 'id', gte: 12 * 130_000, lt: 13 * 130_000 } } },
];

describe('plan == wire', () => {
  for (const s of scenarios) {
    for (const pageIndex of [false, true]) {
      it(`${s.name}${pageIndex ? ' (readTable: with the page index)' : ''}: prefetch(plan) sends exactly plan.requests`, async () => {
        const source = await openParquet(httpBackend({ baseUrl: server.url }), s.file, { metadataCache: false });
        const plan = source.plan({ ...s.selection, ...(pageIndex ? { pages: false, pageIndex: true, leadingMagic: true } : {}) });
        const caps = source.reader.caps(); // before the model learns from the prefetch
        server.resetLog();
        const sent = await source.prefetch(plan);
        const wire = server.requests.map((r) => `${r.method} ${r.range ?? ''}`).sort();
        expect(wire).toEqual(plan.requests.map((r) => `GET bytes=${r.offset}-${r.offset + r.length - 1}`).sort());
        expect(sent).toEqual({ requests: plan.requestCount, bytes: plan.bytesToFetch });
        // The plan says what it assumed: the reader's caps and its model's figures.
        expect(plan.model).toMatchObject(caps);
        expect(plan.model.ttfbMs).toBeGreaterThan(0);
        expect(plan.model.bytesPerSecond).toBeGreaterThan(0);
        await source.close();
      }, 60_000);
    }
  }

  it('a plan made after the model learned says so: its figures and caps differ where its requests do', async () => {
    const { CostModel } = await import('../../src/buffer-reader/cost-model.js');
    const model = new CostModel({ ttfbMs: 30, bytesPerSecond: 64 * 1024 * 1024 });
    const source = await openParquet(httpBackend({ baseUrl: server.url }), FIXTURES.big.file, { metadataCache: false, reader: { costModel: model } });
    const before = source.plan({ columns: ['x2', 'x6'] });
    for (let i = 0; i < 40; i++) model.observe({ ttfbMs: 1, bytes: 8 * 1024 * 1024, transferMs: 4 }); // a fast local store
    const after = source.plan({ columns: ['x2', 'x6'] });
    expect(after.model.ttfbMs).toBeLessThan(before.model.ttfbMs);
    expect(after.model.gap).not.toBe(before.model.gap);
    expect(after.model.gap).toBe(source.reader.gap);
    await source.close();
  });
});
