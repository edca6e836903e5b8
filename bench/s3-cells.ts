/**
 * The S3 backend in the matrix: our readers on moto with signatures checked, behind the same
 * latency model as the HTTP cells (the object server in proxy mode: first byte no sooner than the
 * modelled TTFB, bodies paced per connection, every request logged). So the S3 backend's request
 * counts — and what SigV4 signing and S3's responses cost it — sit next to the HTTP backend's,
 * counted by the proxy's log and checked against our metrics like every other cell.
 *
 * The peers need a plain URL and are left out here (`brr bench s3://…` runs them with signed
 * requests); the naive baseline runs in the full matrix.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parquetMetadata, type FileMetaData } from 'hyparquet';
import { s3Backend } from '../src/backends/s3/backend.js';
import { expectation } from '../src/cli/bench/expect.js';
import { NAIVE, OURS_HYPARQUET, OURS_PARQUET_WASM, type ReadTarget, type ReaderDef } from '../src/cli/bench/readers.js';
import { IN_CI, motoAvailability, startMoto } from '../test/support/moto.js';
import { FIXTURE_DIR, type FixtureSpec } from './fixtures.js';
import { runCell, type CellOptions, type CellResult } from './measure.js';
import { readSpec, type Scenario } from './readers.js';
import { ServerClient } from './server-client.js';

/** The S3 cells' file name in the results: the seed file, read through the S3 backend. */
export const S3_FILE = 'seed-s3';
const BUCKET = 'brr-bench';

export interface S3CellsInput {
  check: boolean;
  spec: FixtureSpec;
  scenarios: (meta: FileMetaData) => Scenario[];
  cell: CellOptions;
  /** Called before each cell (progress). */
  step(what: string): void;
}

/** The cells this run will have (for the progress count). */
export function s3CellCount(check: boolean, scenarios: number): number {
  return check ? 2 : scenarios * 3;
}

/**
 * Runs the S3 cells. Without moto: in CI it throws (the S3 cells are part of the benchmark there),
 * elsewhere it returns why they were skipped.
 */
export async function runS3Cells(input: S3CellsInput): Promise<{ cells: CellResult[]; skipped?: string }> {
  const available = motoAvailability();
  if (!available.ok) {
    if (IN_CI) throw new Error(`the S3 cells need moto in CI: ${available.reason}`);
    return { cells: [], skipped: available.reason ?? 'moto is not available' };
  }
  const moto = await startMoto({ auth: true });
  let proxy: ServerClient | undefined;
  try {
    const bytes = new Uint8Array(await readFile(join(FIXTURE_DIR, input.spec.file)));
    await moto.createBucket(BUCKET);
    await moto.put(BUCKET, input.spec.file, bytes);
    proxy = await new ServerClient().start({ ttfbMs: input.cell.model.ttfbMs, bytesPerSecond: input.cell.model.bytesPerSecond, upstream: moto.endpoint });
    const endpoint = proxy.url;
    const credentials = { accessKeyId: moto.accessKeyId, secretAccessKey: moto.secretAccessKey };
    const metadata = parquetMetadata(bytes);
    const metadataLength = new DataView(bytes.buffer, bytes.byteOffset).getUint32(bytes.byteLength - 8, true);
    const target: ReadTarget = {
      backend: () => s3Backend({ bucket: BUCKET, endpoint, region: moto.region, credentials, env: {} }),
      key: input.spec.file,
      size: bytes.byteLength,
      metadata,
      metadataLength,
    };
    // --check: the full read by our two readers (a few seconds); the full run: every seed scenario, naive too.
    const scenarios = input.scenarios(metadata).filter((s) => !input.check || s.id === 'full');
    const readers: ReaderDef[] = input.check ? [OURS_PARQUET_WASM, OURS_HYPARQUET] : [NAIVE, OURS_PARQUET_WASM, OURS_HYPARQUET];
    const cells: CellResult[] = [];
    for (const s of scenarios) {
      const expect = expectation({ metadata, size: bytes.byteLength, metadataLength }, readSpec(s));
      for (const reader of readers) {
        input.step(`${S3_FILE} · ${s.id} · ${reader.id}`);
        cells.push(await runCell(proxy, S3_FILE, target, s, reader, expect, input.cell));
      }
    }
    return { cells };
  } finally {
    await proxy?.stop();
    await moto.stop();
  }
}
