/**
 * The default entry loads in a browser: esbuild bundles src/index.ts for `platform: 'browser'` and
 * the walk over the bundle's inputs (the metafile) finds no `node:` import and no Node-only module.
 * The same walk over the Node entry finds them, so the walk can see what it looks for.
 */
import { build, type Metafile } from 'esbuild';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/** Modules that only work on Node: their presence in the browser graph is a failure by itself. */
const NODE_ONLY = [/node_modules\/undici\//, /node_modules\/@aws-sdk\/credential-provider-node\//, /node_modules\/@smithy\/hash-node\//, /src\/backends\/fs\//, /src\/runtime-node\.ts$/, /src\/parquet\/decode-worker\.ts$/];

let outdir: string;
beforeAll(async () => {
  outdir = await mkdtemp(join(tmpdir(), 'brr-bundle-'));
});
afterAll(() => rm(outdir, { recursive: true, force: true }));

async function metafile(entry: string, platform: 'browser' | 'node'): Promise<Metafile> {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform,
    loader: { '.wasm': 'file' },
    outdir,
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  return result.metafile;
}

/** Every `node:` (or bare builtin) import any input makes, as `importer → path`. */
function nodeImports(meta: Metafile): string[] {
  const out: string[] = [];
  for (const [file, input] of Object.entries(meta.inputs)) {
    for (const imp of input.imports) {
      if (imp.path.startsWith('node:') || (imp.external && /^(fs|path|url|stream|events|crypto|worker_threads|module|os|http|https|net|tls|zlib|buffer)(\/|$)/.test(imp.path))) {
        out.push(`${file} → ${imp.path}`);
      }
    }
  }
  return out;
}

describe('browser bundle of the default entry', () => {
  it('reaches no node: import and no Node-only module', async () => {
    const meta = await metafile('src/index.ts', 'browser');
    expect(nodeImports(meta)).toEqual([]);
    const inputs = Object.keys(meta.inputs);
    expect(inputs.filter((f) => NODE_ONLY.some((re) => re.test(f)))).toEqual([]);
    // What the page needs is in it: the fetch backend, hyparquet and parquet-wasm's web build.
    expect(inputs).toEqual(expect.arrayContaining(['src/backends/fetch/backend.ts', 'src/parquet/decode-page.ts']));
    expect(inputs.some((f) => f.includes('node_modules/parquet-wasm/esm/parquet_wasm.js'))).toBe(true);
    expect(inputs.some((f) => f.includes('node_modules/hyparquet/'))).toBe(true);
    expect(Object.keys(meta.outputs).some((f) => f.endsWith('.wasm'))).toBe(true);
  }, 60_000);

  it('the Node entry does import node: modules (the walk sees them)', async () => {
    const found = nodeImports(await metafile('src/node.ts', 'node'));
    expect(found).toEqual(expect.arrayContaining(['src/runtime-node.ts → node:stream', 'src/parquet/decode-worker.ts → node:worker_threads']));
  }, 60_000);
});
