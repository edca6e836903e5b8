// The runtime smoke suite, run by Bun, Deno and Node 22/24 on the built package (see smoke.test.ts,
// which starts the servers, runs this under each runtime and checks the servers' side).
// Plain JavaScript on purpose: every runtime runs it as it is, importing dist like a user would.
import assert from 'node:assert/strict';

const cfg = JSON.parse(process.env.BRR_SMOKE ?? '{}');
const entry = cfg.entry === 'default' ? '../../dist/index.js' : '../../dist/node.js';
const brr = await import(new URL(entry, import.meta.url).href);
const out = { runtime: cfg.runtime, entry: cfg.entry, steps: [] };
const step = (name, detail) => out.steps.push({ name, ...detail });
const requests = (m) => m.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());

// HTTP: openParquet(url) → plan → readObjects → readTable on a file within the tail window.
{
  const source = await brr.openParquet(`${cfg.http}/within.parquet`, { metadataCache: false });
  assert.equal(source.openRequests, 1);
  const plan = source.plan({});
  assert.equal(plan.requestCount, 0, 'the whole file came with the open');
  const rows = await source.readObjects();
  assert.equal(rows.length, cfg.within.rows);
  assert.deepEqual(JSON.parse(JSON.stringify(rows[cfg.within.probe.index], (_k, v) => (typeof v === 'bigint' ? `${v}n` : v))), cfg.within.probe.row);
  const table = await source.readTable();
  assert.equal(table.numRows, cfg.within.rows);
  assert.deepEqual(table.schema.fields.map((f) => f.name), cfg.within.columns);
  await source.close();
  step('http within the window', { rows: rows.length, tableRows: table.numRows });
}

// HTTP: a file just over the window: the plan says one more request, and that is what is sent.
{
  const backend = brr.withMetrics(brr.fetchBackend({ baseUrl: cfg.http }));
  const source = await brr.openParquet(backend, 'over.parquet', { metadataCache: false });
  const plan = source.plan({});
  assert.equal(plan.requestCount, 1);
  const rows = await source.readObjects();
  assert.equal(rows.length, cfg.over.rows);
  const table = await source.readTable({ columns: ['id'] });
  assert.equal(table.numRows, cfg.over.rows);
  const sent = requests(backend);
  assert.equal(sent.length, 2, `requests: ${sent.join(', ')}`);
  assert.equal(sent[0], `GET bytes=-${brr.DEFAULT_FOOTER_WINDOW}`);
  await source.close();
  step('http over the window (fetchBackend)', { requests: sent });
}

// A missing object is a ReaderError NotFound.
{
  const err = await brr.openParquet(`${cfg.http}/missing.parquet`, { metadataCache: false }).then(() => undefined, (e) => e);
  assert.ok(brr.isReaderError(err), String(err));
  assert.equal(err.kind, 'NotFound');
  step('404 is NotFound', {});
}

// S3 on moto (signature-checking mode): signed with explicit credentials.
{
  const s3 = brr.withMetrics(
    brr.s3Backend({
      bucket: cfg.s3.bucket,
      endpoint: cfg.s3.endpoint,
      region: cfg.s3.region,
      credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: cfg.s3.secretAccessKey },
      env: {},
    }),
  );
  const source = await brr.openParquet(s3, 'within.parquet', { metadataCache: false });
  const rows = await source.readObjects();
  assert.equal(rows.length, cfg.within.rows);
  const table = await source.readTable();
  assert.equal(table.numRows, cfg.within.rows);
  assert.deepEqual(requests(s3), [`GET bytes=-${brr.DEFAULT_FOOTER_WINDOW}`]);
  const wrong = brr.s3Backend({ bucket: cfg.s3.bucket, endpoint: cfg.s3.endpoint, region: cfg.s3.region, credentials: { accessKeyId: cfg.s3.accessKeyId, secretAccessKey: 'not-the-secret' }, env: {} });
  const denied = await wrong.stat('within.parquet').then(() => undefined, (e) => e);
  assert.ok(brr.isReaderError(denied) && denied.kind === 'PermissionDenied', String(denied));
  await source.close();
  step('s3 on moto', { requests: requests(s3) });
}

console.log(JSON.stringify(out));
