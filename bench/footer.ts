/**
 * How long an open spends on a wide footer before it can plan (issue 14): the footer layout walk
 * (`readFooterLayout`: schema, row counts, chunk offsets) against hyparquet's full `parquetMetadata`
 * of the same bytes, measured in the same run, interleaved so both see the same machine. Not a test;
 * the end-to-end target (the wide-file projection's I/O ≤ 1.3× its floor) is in `npm run bench`.
 *
 *   npx tsx bench/footer.ts            (or: npm run bench:footer)
 *
 * Writes bench/results/footer.json (git-ignored).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parquetMetadata } from 'hyparquet';
import { readFooterLayout } from '../src/parquet/footer-layout.js';
import { FIXTURES, fixture } from './fixtures.js';

/** Timed calls of each parse (after the first, reported apart as "cold"); the median is reported. */
const ITERATIONS = Math.max(5, Number(process.env.FOOTER_ITERATIONS ?? 41));
const RESULTS = join(dirname(fileURLToPath(import.meta.url)), 'results', 'footer.json');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[s.length >> 1] as number;
}

async function main(): Promise<void> {
  const file = await fixture(FIXTURES.wide);
  const metadataLength = new DataView(file.buffer, file.byteOffset).getUint32(file.byteLength - 8, true);
  const footer = file.slice(file.byteLength - metadataLength - 8);
  const time = (f: () => unknown): number => {
    const t0 = performance.now();
    f();
    return performance.now() - t0;
  };
  const cold = { layout: time(() => readFooterLayout(footer)), full: time(() => parquetMetadata(footer)) };
  const layout: number[] = [];
  const full: number[] = [];
  for (let i = 0; i < ITERATIONS; i++) {
    layout.push(time(() => readFooterLayout(footer)));
    full.push(time(() => parquetMetadata(footer)));
  }
  const result = {
    when: new Date().toISOString(),
    file: FIXTURES.wide.file,
    footerBytes: metadataLength + 8,
    columnChunks: readFooterLayout(footer).row_groups.reduce((n, g) => n + g.columns.length, 0),
    iterations: ITERATIONS,
    coldMs: cold,
    medianMs: { layout: median(layout), full: median(full) },
    minMs: { layout: Math.min(...layout), full: Math.min(...full) },
    fullOverLayout: median(full) / median(layout),
  };
  console.log(`${result.file}: ${result.footerBytes} footer bytes, ${result.columnChunks} column chunks`);
  console.log(`  first call      layout ${cold.layout.toFixed(1)} ms   full parse ${cold.full.toFixed(1)} ms`);
  console.log(`  median of ${ITERATIONS}    layout ${result.medianMs.layout.toFixed(2)} ms   full parse ${result.medianMs.full.toFixed(2)} ms   (${result.fullOverLayout.toFixed(1)}×)`);
  await mkdir(dirname(RESULTS), { recursive: true });
  await writeFile(RESULTS, `${JSON.stringify(result, null, 2)}\n`);
  console.log('wrote bench/results/footer.json');
}

main().catch((err: unknown) => {
  console.error(err);
  process.exitCode = 1;
});
