/**
 * The `brr` binary end to end: real child processes against the local HTTP object server, local
 * files and moto (S3, signatures checked). Output, request counts (from the server's own log), exit
 * codes and error messages.
 */
import { spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cp, mkdir, mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Int64, Table, TimestampMillisecond, Utf8, tableFromIPC, vectorFromArray } from 'apache-arrow';
import { readParquet } from 'parquet-wasm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURES, FIXTURE_DIR, fixture, toParquet } from '../../bench/fixtures.js';
import { ObjectServer } from '../../bench/object-server.js';
import { openParquet } from '../../src/parquet/source.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import type { RowGroupFilter } from '../../src/parquet/filter.js';
import { randomBytes } from '../support/data.js';
import { allRows, rowMatches, writeFilterFixture } from '../support/filter-fixture.js';
import { PARQUET_TESTING_DIR, testingFile } from '../support/parquet-testing.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { CLI_BUILT, ROOT, ensureBuilt, run } from './run.js';

const motoOk = requireMotoInCi('test/cli/cli.test.ts');
let moto: MotoServer | undefined;
const BUCKET = 'brr-cli';
let server: ObjectServer;
let seed: Uint8Array;
let wide: Uint8Array;
let quoting: Uint8Array;
let tmp: string;

const LONG = 'x'.repeat(50);

/** Strings that need CSV quoting, 64-bit integers beyond 2^53, nulls and timestamps. */
function quotingFile(): Uint8Array {
  const table = new Table({
    name: vectorFromArray(['plain', 'a,b', 'say "hi"', 'two\nlines', null, LONG], new Utf8()),
    big: vectorFromArray([2n ** 60n + 1n, -1n, 0n, 9007199254740993n, null, 5n], new Int64()),
    when: vectorFromArray([0, 1_700_000_000_000, null, 86_400_000, 1, 2], new TimestampMillisecond()),
  });
  return toParquet(table, 3);
}

beforeAll(async () => {
  ensureBuilt();
  const starting = motoOk ? startMoto({ auth: true }) : undefined;
  [seed, wide] = await Promise.all([fixture(FIXTURES.seed), fixture(FIXTURES.wide)]);
  if (starting) {
    moto = await starting;
    await moto.createBucket(BUCKET);
    await moto.put(BUCKET, 'data/seed.parquet', seed);
  }
  quoting = quotingFile();
  server = await new ObjectServer().start();
  server.put('seed.parquet', seed);
  server.put('wide.parquet', wide);
  server.put('quoting.parquet', quoting);
  server.put('alltypes_plain.parquet', testingFile('data/alltypes_plain.parquet'));
  server.put('random.bin', randomBytes(5000, 7));
  server.put('empty.bin', new Uint8Array(0));
  tmp = await mkdtemp(join(tmpdir(), 'brr-cli-'));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  await moto?.stop();
  if (tmp) await rm(tmp, { recursive: true, force: true });
});

const url = (key: string) => `${server.url}/${key}`;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');
/**
 * A copy of `bytes` under a key of its own, so a test can read the server's own log for it while
 * other tests run at the same time. `log()` gives `METHOD range` lines (what a server bills).
 */
function own(tag: string, bytes: Uint8Array, name = 'file.parquet') {
  const key = `${tag}/${name}`;
  server.put(key, bytes);
  const requests = () => server.requests.filter((r) => r.path === key);
  return { url: url(key), requests, log: () => requests().map((r) => `${r.method} ${r.range ?? ''}`.trim()) };
}
const noStack = (stderr: string) => expect(stderr).not.toMatch(/\n\s+at /);

function reference(bytes: Uint8Array, rowGroups?: number[]) {
  return tableFromIPC(readParquet(bytes, rowGroups ? { rowGroups } : undefined).intoIPCStream());
}

// Tests run concurrently (each spawns processes); those that read the server log use objects of their own.
describe.concurrent('brr (usage)', () => {
  it('--help lists the commands; no command is a usage error (64); an unknown one too', async () => {
    const [help, none, unknown] = await Promise.all([run(['--help']), run([]), run(['frobnicate'])]);
    expect(help.code).toBe(0);
    for (const c of ['inspect', 'plan', 'cat', 'read', 'bench', '--waterfall', '--stats']) expect(help.out).toContain(c);
    expect(none.code).toBe(64);
    expect(none.stderr).toContain('Usage: brr <command>');
    expect(unknown.code).toBe(64);
    expect(unknown.stderr).toContain('unknown command "frobnicate"');
    expect(unknown.stderr).toContain("Run 'brr --help' for usage.");
  });

  it('bad flags are usage errors (64) with the command to ask for help, before any request', async () => {
    const f = own('usage', seed);
    const cases = await Promise.all([
      run(['read', f.url, '--limit', 'ten']),
      run(['read', f.url, '--format', 'xml']),
      run(['cat']),
      run(['cat', f.url, '--range', 'bytes=9-2']),
      run(['cat', f.url, '--range', 'bytes=0-1', '--offset', '3']),
      run(['plan', f.url, '--filter', 'id~3']),
      run(['plan', f.url, '--bogus']),
      run(['inspect', f.url, f.url]),
    ]);
    const messages = [
      '--limit must be a non-negative integer, got "ten"',
      '--format must be one of table, csv, jsonl, got "xml"',
      'cat needs a URL or path',
      '--range end must not be before its start',
      '--range cannot be combined with --offset or --length',
      "--filter term \"id~3\" needs one of = < <= > >= (e.g. 'id>=10')",
      "Unknown option '--bogus'",
      'unexpected argument',
    ];
    cases.forEach((r, i) => {
      expect(r.code, messages[i]).toBe(64);
      expect(r.stderr).toContain(messages[i]);
      expect(r.stderr).toMatch(/Run 'brr (read|cat|plan|inspect) --help' for usage\./);
      expect(r.out).toBe('');
      noStack(r.stderr);
    });
    expect(f.log()).toEqual([]);
  });

  it('each command has --help', async () => {
    const rs = await Promise.all(['inspect', 'plan', 'cat', 'read', 'bench'].map((c) => run([c, '--help'])));
    rs.forEach((r, i) => {
      expect(r.code).toBe(0);
      expect(r.out).toContain(`Usage: brr ${['inspect', 'plan', 'cat', 'read', 'bench'][i]}`);
    });
  });
});

describe.concurrent('brr inspect', () => {
  it('prints size, ETag, rows, row groups, typed columns, footer, page index and the one GET it took', async () => {
    const f = own('inspect', seed);
    const r = await run(['inspect', f.url]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    const footer = new DataView(seed.buffer, seed.byteOffset).getUint32(seed.byteLength - 8, true) + 8;
    expect(r.out).toContain(`size        ${seed.byteLength.toLocaleString('en-US')} bytes`);
    expect(r.out).toMatch(/^etag {8}"[0-9a-f]{32}"$/m);
    expect(r.out).toMatch(/^rows {8}10,000$/m);
    expect(r.out).toMatch(/^row groups  50 \(200 rows each; /m);
    expect(r.out).toContain(`footer      ${footer.toLocaleString('en-US')} bytes`);
    expect(r.out).toMatch(/^page index  yes, /m);
    expect(r.out).toContain('columns (12)');
    expect(r.out).toMatch(/^ {2}id +INT64 +[\d.]+ KiB +[\d.]+ KiB +SNAPPY$/m);
    expect(r.out).toMatch(/^ {2}word +BYTE_ARRAY STRING optional /m);
    expect(r.out).toMatch(/^ {2}ts +INT64 TIMESTAMP\(MILLIS\) optional /m);
    expect(r.out).toMatch(/^requests {4}1 GET, 0 HEADs, 1 round trip; /m);
    expect(f.log()).toEqual([expect.stringMatching(/^GET bytes=-\d+$/)]);
    expect(r.out).toContain(f.log()[0]);
  });

  it('--json: the same facts, machine-readable; compressed bytes per column add up to the row groups', async () => {
    const r = await run(['inspect', url('wide.parquet'), '--json']);
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out) as {
      size: number;
      rows: number;
      rowGroups: number;
      rowGroupList: { compressedBytes: number }[];
      columns: { name: string; type: string; compressedBytes: number }[];
      footerBytes: number;
      pageIndex: { offset: number; length: number } | null;
      requests: { gets: number; heads: number; list: { op: string; range: string }[] };
    };
    expect(j.size).toBe(wide.byteLength);
    expect(j.rows).toBe(800);
    expect(j.rowGroups).toBe(4);
    expect(j.columns).toHaveLength(320);
    expect(j.columns[13]).toMatchObject({ name: 'c013_qty', type: 'INT32' });
    const sum = (xs: number[]) => xs.reduce((a, b) => a + b, 0);
    expect(sum(j.columns.map((c) => c.compressedBytes))).toBe(sum(j.rowGroupList.map((g) => g.compressedBytes)));
    expect(j.footerBytes).toBe(new DataView(wide.buffer, wide.byteOffset).getUint32(wide.byteLength - 8, true) + 8);
    expect(j.pageIndex).not.toBeNull();
    expect(j.requests.gets).toBeGreaterThanOrEqual(1);
    expect(j.requests.heads).toBe(0);
    expect(j.requests.list[0]?.range).toMatch(/^bytes=-\d+$/);
  });

  it('a file without a page index says so; Parquet types of an Impala file', async () => {
    const r = await run(['inspect', url('alltypes_plain.parquet')]);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^page index  no$/m);
    expect(r.out).toMatch(/^ {2}timestamp_col +INT96 optional /m);
    expect(r.out).toMatch(/^rows {8}8$/m);
  });

  it('not a Parquet file: invalid data (65), one line, no stack; --debug adds the stack', async () => {
    const [plain, debug] = await Promise.all([run(['inspect', url('random.bin')]), run(['inspect', url('random.bin'), '--debug'])]);
    expect(plain.code).toBe(65);
    expect(plain.stderr).toMatch(/^brr: invalid data: .*PAR1/);
    expect(plain.stderr.trim().split('\n')).toHaveLength(1);
    noStack(plain.stderr);
    expect(debug.code).toBe(65);
    expect(debug.stderr).toMatch(/\n\s+at /);
  });

  it('an encrypted file is unsupported (69); an unknown URL scheme is a usage error (64)', async () => {
    const [encrypted, ftp] = await Promise.all([
      run(['inspect', join(PARQUET_TESTING_DIR, 'data', 'encrypt_columns_and_footer.parquet.encrypted')]),
      run(['inspect', 'ftp://example.com/f.parquet']),
    ]);
    expect(encrypted.code).toBe(69);
    expect(encrypted.stderr).toMatch(/^brr: unsupported: .*encrypted/);
    expect(ftp.code).toBe(64);
    expect(ftp.stderr).toContain('unsupported URL scheme "ftp://"');
    noStack(encrypted.stderr + ftp.stderr);
  });

  it('a missing object: not found (2)', async () => {
    const r = await run(['inspect', url('missing.parquet')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^brr: not found: /);
    noStack(r.stderr);
  });

  it('local files by path and by file:// URL; a missing path is not found (2)', async () => {
    const path = join(FIXTURE_DIR, FIXTURES.seed.file);
    const [byPath, byUrl, missing] = await Promise.all([
      run(['inspect', path, '--json']),
      run(['inspect', pathToFileURL(path).href, '--json']),
      run(['inspect', join(tmp, 'nope.parquet')]),
    ]);
    expect(byPath.code).toBe(0);
    expect(byUrl.code).toBe(0);
    expect(JSON.parse(byPath.out).rows).toBe(10_000);
    expect(JSON.parse(byUrl.out).size).toBe(seed.byteLength);
    expect(missing.code).toBe(2);
  });
});

describe.concurrent('brr plan', () => {
  it('prints the plan the library makes, and reads nothing but the footer', async () => {
    const f = own('plan', wide);
    const r = await run(['plan', f.url, '--columns', 'c013_qty,c250_label', '--row-groups', '2', '--json']);
    expect(r.code).toBe(0);
    expect(f.log()).toEqual([expect.stringMatching(/^GET bytes=-\d+$/)]); // the open, no data
    const j = JSON.parse(r.out) as {
      open: { requests: number };
      plan: { columns: string[]; rowGroups: number[]; requests: { offset: number; length: number }[]; requestCount: number; roundTrips: number; bytesToFetch: number; s3CostUsd: number };
      total: { requests: number; roundTrips: number; s3CostUsd: number };
    };
    const source = await openParquet(httpBackend(), url('wide.parquet'), { metadataCache: false });
    const lib = source.plan({ columns: ['c013_qty', 'c250_label'], rowGroups: [2] });
    await source.close();
    expect(j.plan.columns).toEqual(['c013_qty', 'c250_label']);
    expect(j.plan.rowGroups).toEqual([2]);
    expect(j.plan.requests.map((q) => [q.offset, q.length])).toEqual(lib.requests.map((q) => [q.offset, q.length]));
    expect(j.plan.requestCount).toBeGreaterThanOrEqual(1);
    expect(j.plan.bytesToFetch).toBe(lib.bytesToFetch);
    expect(j.total.requests).toBe(j.open.requests + j.plan.requestCount);
    expect(j.total.s3CostUsd).toBeCloseTo(j.total.requests * 0.0000004, 12);
  });

  it('human output: pruned row groups, requests, round trips, S3 cost', async () => {
    const r = await run(['plan', url('seed.parquet'), '--filter', 'id>=5000,id<5200']);
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/^row groups   1 of 50: 25; 49 row groups pruned by the filter \(0–24, 26–49\)$/m);
    expect(r.out).toMatch(/^round trips  0 for the data after 1 for the open = 1$/m); // the seed fits the tail window
    expect(r.out).toMatch(/^S3 cost      \$0\.0000004 per read /m);
    const w = await run(['plan', url('wide.parquet'), '--columns', 'c013_qty', '--row-groups', '1']);
    const source = await openParquet(httpBackend(), url('wide.parquet'), { metadataCache: false });
    const lib = source.plan({ columns: ['c013_qty'], rowGroups: [1] });
    await source.close();
    expect(w.out).toContain(`ranges       ${lib.ranges.length} range${lib.ranges.length === 1 ? '' : 's'} to fetch → ${lib.requestCount} request`);
    lib.requests.forEach((q, i) => expect(w.out).toMatch(new RegExp(`^ +${i + 1}  bytes=${q.offset}-${q.offset + q.length - 1} `, 'm')));
    expect(w.out).toMatch(new RegExp(`^requests {5}${1 + lib.requestCount} \\(open 1 \\+ data ${lib.requestCount}\\)$`, 'm'));
  });

  it('unknown columns, out-of-range row groups and filter columns are invalid input (64)', async () => {
    const [col, rg, filt] = await Promise.all([
      run(['plan', url('wide.parquet'), '--columns', 'c013_qtyy']),
      run(['plan', url('seed.parquet'), '--row-groups', '50']),
      run(['plan', url('seed.parquet'), '--filter', 'nope>=1']),
    ]);
    expect(col.code).toBe(64);
    expect(col.stderr).toContain('no column "c013_qtyy" in the file (did you mean "c013_qty"?); 320 columns');
    expect(rg.code).toBe(64);
    expect(rg.stderr).toContain('row group 50 does not exist (the file has 50)');
    expect(filt.code).toBe(64);
    expect(filt.stderr).toContain('no column "nope"');
  });
});

describe.concurrent('brr cat', () => {
  it('--offset/--length: exactly those bytes, in exactly one GET', async () => {
    const f = own('cat', seed);
    const r = await run(['cat', f.url, '--offset', '100', '--length', '1000']);
    expect(r.code).toBe(0);
    expect(sha(r.stdout)).toBe(sha(seed.subarray(100, 1100)));
    expect(f.log()).toEqual(['GET bytes=100-1099']);
  });

  it('the whole object, a suffix and an open-ended range; an empty object is empty', async () => {
    const [whole, tail, from, empty] = await Promise.all([
      run(['cat', url('wide.parquet')]),
      run(['cat', url('seed.parquet'), '--range', 'bytes=-8']),
      run(['cat', url('random.bin'), '--range', 'bytes=4990-']),
      run(['cat', url('empty.bin')]),
    ]);
    expect(whole.code).toBe(0);
    expect(sha(whole.stdout)).toBe(sha(wide));
    expect(tail.stdout.subarray(4).toString('latin1')).toBe('PAR1');
    expect(from.stdout).toEqual(Buffer.from(randomBytes(5000, 7).subarray(4990)));
    expect(empty.code).toBe(0);
    expect(empty.stdout.byteLength).toBe(0);
  });

  it('a range past the end is invalid input (64); a missing object not found (2)', async () => {
    const [past, missing] = await Promise.all([run(['cat', url('random.bin'), '--offset', '5000']), run(['cat', url('nope.bin')])]);
    expect(past.code).toBe(64);
    expect(past.stderr).toMatch(/^brr: range not satisfiable: /);
    expect(missing.code).toBe(2);
    expect(missing.stdout.byteLength).toBe(0);
    noStack(past.stderr + missing.stderr);
  });

  it('stdout closed early (`| head -c`): exits 0, quietly', async () => {
    const r = await run(['cat', url('wide.parquet')], {
      onStdout: (_chunk, child) => child.stdout?.destroy(),
    });
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
  });
});

describe.concurrent('brr read', () => {
  it('--format csv: the rows parquet-wasm decodes, only the row groups the limit needs', async () => {
    const f = own('read-limit', wide);
    const r = await run(['read', f.url, '--columns', 'c013_qty,c017_word', '--limit', '5', '--format', 'csv', '--stats']);
    expect(r.code).toBe(0);
    const log = f.requests();
    const ref = reference(wide, [0]);
    const expected = ['c013_qty,c017_word', ...Array.from({ length: 5 }, (_, i) => `${ref.getChild('c013_qty')?.get(i)},${ref.getChild('c017_word')?.get(i)}`)];
    expect(r.out).toBe(`${expected.join('\n')}\n`);
    // Only row group 0 was planned: the CLI's data requests are the library's plan for it.
    const source = await openParquet(httpBackend(), url('wide.parquet'), { metadataCache: false });
    const one = source.plan({ columns: ['c013_qty', 'c017_word'], rowGroups: [0] });
    const all = source.plan({ columns: ['c013_qty', 'c017_word'] });
    await source.close();
    expect(one.bytesToFetch).toBeLessThan(all.bytesToFetch);
    // The open, then row group 0's chunks (the plan for it): not those of row groups 1–3.
    expect(log.map((q) => q.method)).toEqual(['GET', 'GET']);
    expect(log.reduce((n, q) => n + q.bytes, 0)).toBe(source.held.length + one.bytesToFetch);
    expect(r.stderr).toMatch(/^brr: 2 GETs, 0 HEADs, 2 round trips; /);
  });

  it('--format csv quotes per RFC 4180; nulls are empty; 64-bit integers exact', async () => {
    const r = await run(['read', url('quoting.parquet'), '--format', 'csv']);
    expect(r.code).toBe(0);
    expect(r.out).toBe(
      [
        'name,big,when',
        'plain,1152921504606846977,1970-01-01T00:00:00.000Z',
        '"a,b",-1,2023-11-14T22:13:20.000Z',
        '"say ""hi""",0,',
        '"two\nlines",9007199254740993,1970-01-02T00:00:00.000Z',
        ',,1970-01-01T00:00:00.001Z',
        `${LONG},5,1970-01-01T00:00:00.002Z`,
        '',
      ].join('\n'),
    );
  });

  it('--format jsonl: one object per row, bigint as string, null as null', async () => {
    const r = await run(['read', url('quoting.parquet'), '--format', 'jsonl', '--limit', '5']);
    expect(r.code).toBe(0);
    const rows = r.out.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows).toHaveLength(5);
    expect(rows[0]).toEqual({ name: 'plain', big: '1152921504606846977', when: '1970-01-01T00:00:00.000Z' });
    expect(rows[2]).toEqual({ name: 'say "hi"', big: '0', when: null });
    expect(rows[4]).toEqual({ name: null, big: null, when: '1970-01-01T00:00:00.001Z' });
  });

  it('--format table: aligned columns, long cells cut, a row count', async () => {
    const r = await run(['read', url('quoting.parquet')]);
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^name +big +when$/);
    expect(lines[1]).toMatch(/^─+ {2}─+ {2}─+$/);
    const bigAt = (lines[1] as string).indexOf('  ─') + 2;
    const bigWidth = (lines[1] as string).slice(bigAt).indexOf(' ');
    // Numbers right-aligned in their column: every row's `big` cell ends at the same place.
    for (const l of lines.slice(2, 8)) expect(l.slice(bigAt, bigAt + bigWidth)).toMatch(/^ *\S+$/);
    expect(r.out).toContain(`${'x'.repeat(31)}…`);
    expect(r.out).not.toContain(LONG);
    expect(r.out).toContain('two lines');
    expect(lines.at(-1)).toBe('(6 rows)');
  });

  it('--filter keeps the matching rows and reads only the row groups that may hold them', async () => {
    const r = await run(['read', url('seed.parquet'), '--filter', 'id>=5000,id<5003', '--columns', 'id,word', '--format', 'jsonl']);
    expect(r.code).toBe(0);
    const ref = reference(seed, [25]);
    expect(r.out.trim().split('\n').map((l) => JSON.parse(l))).toEqual([0, 1, 2].map((i) => ({ id: String(5000 + i), word: ref.getChild('word')?.get(i) })));
  });

  it('--filter returns exactly the reference rows (hyparquet, no filter, filtered in plain JS), page index and all', async () => {
    const bytes = writeFilterFixture();
    const f = own('filter-rows', bytes);
    const rows = await allRows(bytes);
    for (const [text, filter] of [
      ['id>=4000,id<4100,word=delta', { and: [{ column: 'id', gte: 4_000 }, { column: 'id', lt: 4_100 }, { column: 'word', eq: 'delta' }] }],
      ['ts>=2024-01-09T07:00:00Z,price>99', { and: [{ column: 'ts', gte: new Date('2024-01-09T07:00:00Z') }, { column: 'price', gt: 99 }] }],
    ] as const) {
      const r = await run(['read', f.url, '--filter', text, '--columns', 'id,k', '--format', 'jsonl']);
      expect(r.code, r.stderr).toBe(0);
      const want = rows.filter((row) => rowMatches(row, filter as RowGroupFilter)).map((row) => ({ id: String(row.id), k: row.k }));
      expect(want.length).toBeGreaterThan(0);
      expect(r.out.trim().split('\n').map((l) => JSON.parse(l))).toEqual(want);
    }
  });

  it('--limit 0 prints the header only', async () => {
    const r = await run(['read', url('seed.parquet'), '--limit', '0', '--columns', 'id,word', '--format', 'csv']);
    expect(r.code).toBe(0);
    expect(r.out).toBe('id,word\n');
  });
});

describe.concurrent('--stats and --waterfall', () => {
  it('--stats agrees with the server; --waterfall draws one row per request', async () => {
    const f = own('waterfall', wide);
    const out = join(tmp, 'waterfall.html');
    const r = await run(['read', f.url, '--columns', 'c013_qty', '--format', 'jsonl', '--stats', '--waterfall', out]);
    expect(r.code).toBe(0);
    const gets = f.requests().filter((q) => q.method === 'GET').length;
    const heads = f.requests().length - gets;
    expect(r.stderr).toMatch(new RegExp(`^brr: ${gets} GETs?, ${heads} HEADs?, \\d+ round trips?; [\\d.]+ (B|KiB|MiB) received \\(\\d+ B\\) in \\d+ ms\\n$`));
    const html = await readFile(out, 'utf8');
    expect(html).toMatch(/^<!doctype html>/);
    expect(html).toContain(`brr read ${f.url}`);
    expect(gets).toBeGreaterThanOrEqual(2);
    expect(html.match(/<g><title>/g)).toHaveLength(gets + heads);
    for (const q of f.requests()) expect(html).toContain(`${q.method} ${q.range}`);
    expect(html).not.toContain('<script');
  });

  it('--stats says when the server ignored Range, and counts the bytes that crossed the wire (catalogue 35)', async () => {
    const ignoring = await new ObjectServer().start();
    try {
      ignoring.fault = 'ignore-range';
      ignoring.put('seed.parquet', seed);
      const r = await run(['cat', `${ignoring.url}/seed.parquet`, '--offset', '100', '--length', '1000', '--stats']);
      expect(r.code).toBe(0);
      expect(sha(r.stdout)).toBe(sha(seed.subarray(100, 1100)));
      expect(ignoring.requests.map((q) => `${q.method} ${q.range ?? ''}`)).toEqual(['GET bytes=100-1099']);
      // the server sent the object from byte 0; the reader stops once it has byte 1099
      const m = /received \((\d+) B\) in \d+ ms; the server ignored Range on 1 GET \((\d+) B received outside the asked ranges\)\n$/.exec(r.stderr);
      expect(m, r.stderr).not.toBeNull();
      const [received, outside] = [Number(m?.[1]), Number(m?.[2])];
      expect(received).toBeGreaterThanOrEqual(1100);
      expect(received).toBeLessThanOrEqual(seed.byteLength);
      expect(outside).toBe(received - 1000);
    } finally {
      await ignoring.stop();
    }
  });

  it('--waterfall is written after a failure too; an unwritable path is an error (1)', async () => {
    const out = join(tmp, 'failed.html');
    const [failed, unwritable] = await Promise.all([
      run(['inspect', url('missing.parquet'), '--waterfall', out]),
      run(['inspect', url('seed.parquet'), '--waterfall', join(tmp, 'no', 'such', 'dir.html')]),
    ]);
    expect(failed.code).toBe(2);
    expect(await readFile(out, 'utf8')).toContain('404');
    expect(unwritable.code).toBe(1);
    expect(unwritable.stderr).toContain('cannot write the waterfall to');
  });
});

describe.concurrent('brr bench', () => {
  it('runs bench/main.ts from the checkout and passes its flags through (its own errors come back)', async () => {
    const r = await run(['bench', '--no-such-bench-flag']);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain("Unknown option '--no-such-bench-flag'");
  });

  it('installed from npm (no bench/ beside dist/): a clear message and 69', async () => {
    const pkg = join(tmp, 'installed');
    await mkdir(pkg, { recursive: true });
    await cp(join(ROOT, 'dist'), join(pkg, 'dist'), { recursive: true });
    await cp(join(ROOT, 'package.json'), join(pkg, 'package.json'));
    await symlink(join(ROOT, 'node_modules'), join(pkg, 'node_modules'));
    const r = await run(['bench'], { script: join(pkg, 'dist', 'cli', 'main.js'), cwd: pkg });
    expect(r.code).toBe(69);
    expect(r.stderr).toContain("brr bench without a URL runs the repository's synthetic matrix, which needs a checkout (bench/ is not in the npm package)");
    expect(r.stderr).toContain("'brr bench <url>' benchmarks your own file from anywhere");
    noStack(r.stderr);
    // The rest of the installed CLI works there.
    const inspect = await run(['inspect', url('seed.parquet'), '--json'], { script: join(pkg, 'dist', 'cli', 'main.js'), cwd: pkg });
    expect(JSON.parse(inspect.out).rows).toBe(10_000);
  });
});

/** util-linux `script` gives the child a terminal (a pty) for stderr while stdout goes to a file. */
const hasScript = spawnSync('script', ['--version'], { encoding: 'utf8' }).status === 0;
if (!hasScript) console.warn('[skip] the progress-bar-on-a-terminal test needs util-linux `script` (for a pty)');

/** Runs a shell command under `script` (stderr on a pty); what the terminal showed comes back as stdout. */
function inTerminal(cmd: string): Promise<{ status: number | null; stdout: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-qec', cmd, '/dev/null'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString('utf8')));
    child.on('error', reject);
    child.on('close', (status) => {
      clearTimeout(timer);
      resolve({ status, stdout });
    });
  });
}

describe.concurrent('progress bar', () => {
  it.skipIf(!hasScript)('on a terminal, a transfer over a second shows a bar that is erased at the end; the output is untouched', async () => {
    // 800 kB at 500 kB/s: about 1.6 s.
    const slow = await new ObjectServer({ bytesPerSecond: 500_000 }).start();
    try {
      const bytes = randomBytes(800_000, 11);
      slow.put('slow.bin', bytes);
      const out = join(tmp, 'slow.bin');
      const cmd = `${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_BUILT)} cat ${slow.url}/slow.bin > ${JSON.stringify(out)}`;
      const r = await inTerminal(cmd);
      expect(r.status).toBe(0);
      const frames = r.stdout.split('\r').filter((f) => f.includes('%'));
      expect(frames.length).toBeGreaterThanOrEqual(2);
      expect(frames[0]).toMatch(/^\[#*\.*\] +\d+%  [\d.]+ KiB \/ 781 KiB  [\d.]+ KiB\/s  1 req\x1b\[K$/);
      expect(r.stdout.endsWith('\r\x1b[K')).toBe(true); // erased
      expect(sha(await readFile(out))).toBe(sha(bytes));
      // A quick one draws nothing.
      const quick = await inTerminal(`${JSON.stringify(process.execPath)} ${JSON.stringify(CLI_BUILT)} cat ${url('random.bin')} > /dev/null`);
      expect(quick.status).toBe(0);
      expect(quick.stdout).toBe('');
    } finally {
      await slow.stop();
    }
  });
});

describe.concurrent('Ctrl-C', () => {
  it('stops the transfer: "interrupted", exit 130, no stack', async () => {
    const slow = await new ObjectServer({ bytesPerSecond: 200_000 }).start();
    try {
      slow.put('slow.bin', randomBytes(2_000_000, 5));
      let sent = false;
      const r = await run(['cat', `${slow.url}/slow.bin`], {
        onStdout: (_chunk, child) => {
          if (sent) return;
          sent = true;
          child.kill('SIGINT');
        },
      });
      expect(r.code).toBe(130);
      expect(r.stderr).toBe('brr: interrupted\n');
      expect(r.stdout.byteLength).toBeLessThan(2_000_000);
    } finally {
      await slow.stop();
    }
  });
});

describe.concurrent('the bin', () => {
  it('package.json names dist/cli/main.js as the brr bin, with a node shebang', async () => {
    const pkg = JSON.parse(await readFile(join(ROOT, 'package.json'), 'utf8')) as { bin?: Record<string, string>; files?: string[]; version: string };
    expect(pkg.bin).toEqual({ brr: './dist/cli/main.js' });
    expect(pkg.files).toContain('dist');
    const built = await readFile(join(ROOT, 'dist', 'cli', 'main.js'), 'utf8');
    expect(built.startsWith('#!/usr/bin/env node\n')).toBe(true);
    const [dist, source] = await Promise.all([run(['--version']), run(['--version'], { source: true })]);
    expect(dist.out).toBe(`${pkg.version}\n`);
    expect(source.out).toBe(`${pkg.version}\n`);
  });

  it('the source through tsx behaves as the build (dev use: npx tsx src/cli/main.ts)', async () => {
    const [a, b] = await Promise.all([run(['read', url('seed.parquet'), '--limit', '3', '--format', 'jsonl']), run(['read', url('seed.parquet'), '--limit', '3', '--format', 'jsonl'], { source: true })]);
    expect(a.code).toBe(0);
    expect(b.out).toBe(a.out);
    expect(a.out.trim().split('\n')).toHaveLength(3);
  });
});

describe.skipIf(!motoOk)('brr against S3 (moto, signatures checked)', { concurrent: true }, () => {
  const bucket = BUCKET;
  const env = (secret?: string) => {
    const m = moto as MotoServer;
    return { AWS_ENDPOINT_URL_S3: m.endpoint, AWS_REGION: m.region, AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: secret ?? m.secretAccessKey };
  };

  it('inspect, plan, cat and read s3:// URLs', async () => {
    const s3 = `s3://${bucket}/data/seed.parquet`;
    const [inspect, plan, cat, read] = await Promise.all([
      run(['inspect', s3, '--json'], { env: env() }),
      run(['plan', s3, '--row-groups', '3', '--stats'], { env: env() }),
      run(['cat', s3, '--range', 'bytes=0-3'], { env: env() }),
      run(['read', s3, '--columns', 'id', '--limit', '2', '--format', 'csv'], { env: env() }),
    ]);
    expect(inspect.code).toBe(0);
    expect(JSON.parse(inspect.out)).toMatchObject({ size: seed.byteLength, rows: 10_000, rowGroups: 50, requests: { gets: 1, heads: 0 } });
    expect(plan.code).toBe(0);
    expect(plan.stderr).toMatch(/^brr: 1 GET, 0 HEADs, 1 round trip; /);
    expect(cat.out).toBe('PAR1');
    expect(read.out).toBe('id\n0\n1\n');
  });

  it('--endpoint and --region flags instead of the environment', async () => {
    const m = moto as MotoServer;
    const r = await run(['cat', `s3://${bucket}/data/seed.parquet`, '--range', 'bytes=-4', '--endpoint', m.endpoint, '--region', m.region], {
      env: { AWS_ACCESS_KEY_ID: m.accessKeyId, AWS_SECRET_ACCESS_KEY: m.secretAccessKey },
    });
    expect(r.code).toBe(0);
    expect(r.out).toBe('PAR1');
  });

  it('a wrong secret is permission denied (3) and the secret is never printed, not even with --debug', async () => {
    const secret = 'wrongSecretKEY0123456789abcdefghijklmnop';
    const [plain, debug] = await Promise.all([
      run(['inspect', `s3://${bucket}/data/seed.parquet`], { env: env(secret) }),
      run(['inspect', `s3://${bucket}/data/seed.parquet`, '--debug'], { env: env(secret) }),
    ]);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toMatch(/^brr: permission denied: /);
    noStack(plain.stderr);
    expect(debug.code).toBe(3);
    for (const r of [plain, debug]) {
      expect(r.stderr).not.toContain(secret);
      expect(r.stderr).not.toContain(secret.slice(0, 12));
    }
  });

  it('a missing key is not found (2)', async () => {
    const r = await run(['cat', `s3://${bucket}/data/missing.parquet`], { env: env() });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^brr: not found: /);
  });
});
