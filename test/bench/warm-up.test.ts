/** bench/measure.ts: the warm-up pass's run of a cell, on the real object server, and how a cell reports it. */
import { writeFile, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parquetMetadata } from 'hyparquet';
import { httpBackend } from '../../src/backends/http/backend.js';
import { expectation } from '../../src/cli/bench/expect.js';
import { OURS_HYPARQUET, type ReadTarget } from '../../src/cli/bench/readers.js';
import { readSpec, type Scenario } from '../../bench/readers.js';
import { runCell, warmUp } from '../../bench/measure.js';
import { ServerClient } from '../../bench/server-client.js';
import { toParquet, mixedTable } from '../../bench/fixtures.js';

const MODEL = { ttfbMs: 5, bytesPerSecond: 200e6 };
let server: ServerClient;
let dir: string;
let target: ReadTarget;
let bytes: Uint8Array;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'brr-warmup-'));
  bytes = toParquet(mixedTable(6, 3, 50, 1), 50);
  await writeFile(join(dir, 'f.parquet'), bytes);
  server = await new ServerClient().start(MODEL);
  await server.put('f.parquet', join(dir, 'f.parquet'));
  target = { backend: () => httpBackend({ baseUrl: server.url }), key: 'f.parquet' };
});

afterAll(async () => {
  await server?.stop();
  await rm(dir, { recursive: true, force: true });
});

describe('warmUp', () => {
  const scenario: Scenario = { id: 'projection', label: '1 column', columns: ['qty'] };

  it('runs the reader once on a fresh server log and gives that run’s wall and I/O time', async () => {
    const run = await warmUp(server, target, scenario, OURS_HYPARQUET);
    const log = await server.log();
    expect(log.length).toBeGreaterThan(0); // the run's requests, and only those (the log was reset first)
    expect(log.every((r) => r.method === 'GET')).toBe(true);
    expect(run.ioMs).toBeGreaterThanOrEqual(MODEL.ttfbMs);
    expect(run.wallMs).toBeGreaterThanOrEqual(run.ioMs - 1);
  });

  it('is reported beside the cell’s timed runs, which it is not one of', async () => {
    const cold = await warmUp(server, target, scenario, OURS_HYPARQUET);
    const metadata = parquetMetadata(bytes);
    const metadataLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
    const expect_ = expectation({ metadata, size: bytes.byteLength, metadataLength }, readSpec(scenario));
    const cell = await runCell(server, 'f', target, scenario, OURS_HYPARQUET, expect_, { iterations: 2, budgetMs: 10_000, model: MODEL, cold });
    expect(cell.error).toBeUndefined();
    expect(cell.coldIoMs).toBe(cold.ioMs);
    expect(cell.coldWallMs).toBe(cold.wallMs);
    expect(cell.ioRuns).toHaveLength(2);
  });
});
