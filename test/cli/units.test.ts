/** The CLI's pure pieces: filter syntax, range syntax, CSV quoting, money, lists, exit codes, progress bar, waterfall. */
import { describe, expect, it } from 'vitest';
import { UsageError, intFlag, listFlag } from '../../src/cli/args.js';
import { parseRangeSpec } from '../../src/cli/cat.js';
import { EXIT, describeError, exitCodeFor } from '../../src/cli/exit.js';
import { parseFilter, toRowGroupFilter } from '../../src/cli/filter.js';
import { csvField, formatBytes } from '../../src/cli/format.js';
import { compactList, usd } from '../../src/cli/plan.js';
import { ProgressBar } from '../../src/cli/progress.js';
import { WATERFALL_MAX_ROWS, waterfallHtml } from '../../src/cli/waterfall.js';
import { ReaderError } from '../../src/errors.js';
import type { RequestRecord } from '../../src/layers/metrics.js';
import { rowGroupMayMatch } from '../../src/parquet/filter.js';

describe('--filter', () => {
  it('maps comparisons to a RowGroupFilter: one alone, several ANDed', () => {
    expect(toRowGroupFilter(parseFilter('a>=10'))).toEqual({ column: 'a', gte: 10 });
    expect(toRowGroupFilter(parseFilter('a>=10, b<5 ,c=abc,d<=2.5,e>-3,f==x'))).toEqual({
      and: [
        { column: 'a', gte: 10 },
        { column: 'b', lt: 5 },
        { column: 'c', eq: 'abc' },
        { column: 'd', lte: 2.5 },
        { column: 'e', gt: -3 },
        { column: 'f', eq: 'x' },
      ],
    });
  });

  it('values: big integers as bigint, booleans, ISO dates, quoted strings (with commas and operators)', () => {
    const f = parseFilter(`id>=9007199254740993,ok=true,ts>=2024-01-31,at<2024-01-31T12:00:00Z,zip="01234",name='a,b<c',s.x=1`);
    expect(f.map((c) => [c.column, c.op, c.value])).toEqual([
      ['id', 'gte', 9007199254740993n],
      ['ok', 'eq', true],
      ['ts', 'gte', new Date('2024-01-31T00:00:00Z')],
      ['at', 'lt', new Date('2024-01-31T12:00:00Z')],
      ['zip', 'eq', '01234'],
      ['name', 'eq', 'a,b<c'],
      ['s.x', 'eq', 1],
    ]);
  });

  it('bad terms are usage errors', () => {
    for (const bad of ['a', '>=3', 'a>=', 'a>=1,', 'a="x']) expect(() => parseFilter(bad), bad).toThrow(UsageError);
  });

  it('prunes with the library on statistics', () => {
    const rg = (min: bigint, max: bigint) =>
      ({ columns: [{ meta_data: { path_in_schema: ['id'], statistics: { min_value: min, max_value: max } } }] }) as unknown as Parameters<typeof rowGroupMayMatch>[1];
    const f = toRowGroupFilter(parseFilter('id>=100,id<200'));
    expect(rowGroupMayMatch(f, rg(0n, 99n))).toBe(false);
    expect(rowGroupMayMatch(f, rg(150n, 300n))).toBe(true);
    expect(rowGroupMayMatch(f, rg(200n, 300n))).toBe(false);
  });

  it('string columns compare with the value as written; other columns with the parsed value', () => {
    const conditions = parseFilter('zip=01234,day>=2024-01-31,n<9007199254740993');
    const kinds: Record<string, 'string' | 'date' | 'bigint'> = { zip: 'string', day: 'date', n: 'bigint' };
    expect(toRowGroupFilter(conditions, (c) => kinds[c])).toEqual({
      and: [
        { column: 'zip', eq: '01234' },
        { column: 'day', gte: new Date('2024-01-31') },
        { column: 'n', lt: 9007199254740993n },
      ],
    });
    kinds.day = 'string';
    expect(toRowGroupFilter(parseFilter('day=2024-01-31'), (c) => kinds[c])).toEqual({ column: 'day', eq: '2024-01-31' });
    // Without the file's kinds (before the open): the parsed values.
    expect(toRowGroupFilter(parseFilter('zip=01234'))).toEqual({ column: 'zip', eq: 1234 });
  });
});

describe('flags', () => {
  it('--range specs', () => {
    expect(parseRangeSpec('bytes=0-99')).toEqual({ offset: 0, length: 100 });
    expect(parseRangeSpec('5-5')).toEqual({ offset: 5, length: 1 });
    expect(parseRangeSpec('bytes=100-')).toEqual({ offset: 100 });
    expect(parseRangeSpec('bytes=-8')).toEqual({ suffix: 8 });
    for (const bad of ['bytes=-', 'bytes=-0', 'bytes=9-2', 'bytes=0-1,5-6', 'items=0-1', '']) expect(() => parseRangeSpec(bad), bad).toThrow(UsageError);
  });

  it('integers and lists', () => {
    expect(intFlag('x', 'limit', '42')).toBe(42);
    expect(intFlag('x', 'limit', undefined)).toBeUndefined();
    for (const bad of ['-1', '1e3', '0x10', '1.5', '', '99999999999999999999']) expect(() => intFlag('x', 'limit', bad), bad).toThrow(UsageError);
    expect(listFlag('x', 'columns', 'a, b.c')).toEqual(['a', 'b.c']);
    expect(() => listFlag('x', 'columns', 'a,,b')).toThrow(UsageError);
  });
});

describe('output', () => {
  it('CSV fields are quoted per RFC 4180 only when needed', () => {
    expect(csvField('plain')).toBe('plain');
    expect(csvField('a,b')).toBe('"a,b"');
    expect(csvField('say "hi"')).toBe('"say ""hi"""');
    expect(csvField('two\nlines')).toBe('"two\nlines"');
    expect(csvField('cr\r')).toBe('"cr\r"');
  });

  it('money, sizes and compact lists', () => {
    expect(usd(0.0000004)).toBe('$0.0000004');
    expect(usd(0.0000012)).toBe('$0.0000012');
    expect(usd(0.4)).toBe('$0.40');
    expect(usd(0)).toBe('$0');
    expect(formatBytes(1023)).toBe('1023 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(compactList([0, 1, 2, 3, 5, 7, 8, 9, 11, 12])).toBe('0–3, 5, 7–9, 11, 12');
    expect(compactList([])).toBe('');
  });
});

describe('exit codes and messages', () => {
  it('map error kinds to codes', () => {
    expect(exitCodeFor(new ReaderError('NotFound', 'x'))).toBe(EXIT.notFound);
    expect(exitCodeFor(new ReaderError('PermissionDenied', 'x'))).toBe(EXIT.permissionDenied);
    expect(exitCodeFor(new ReaderError('InvalidInput', 'x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new ReaderError('InvalidData', 'x'))).toBe(EXIT.invalidData);
    expect(exitCodeFor(new ReaderError('Unsupported', 'x'))).toBe(EXIT.unavailable);
    expect(exitCodeFor(new ReaderError('Aborted', 'x'))).toBe(EXIT.interrupted);
    expect(exitCodeFor(new ReaderError('Unavailable', 'x'))).toBe(EXIT.error);
    expect(exitCodeFor(new UsageError('x'))).toBe(EXIT.usage);
    expect(exitCodeFor(new TypeError('x'))).toBe(EXIT.error);
  });

  it('one line without --debug; stack and causes with it', () => {
    const err = new ReaderError('Unavailable', 'server error', { backend: 'http', op: 'read', path: 'https://h/f?X-Amz-Signature=abc' }, { cause: new Error('socket hang up') });
    const plain = describeError(err, false);
    expect(plain).toBe('brr: service unavailable: server error (http read "https://h/f?X-Amz-Signature=[redacted]")\n');
    const debug = describeError(err, true);
    expect(debug).toMatch(/\n\s+at /);
    expect(debug).toContain('caused by: Error: socket hang up');
    expect(debug).not.toContain('abc');
  });
});

describe('progress bar', () => {
  function stream(isTTY: boolean) {
    const writes: string[] = [];
    return { writes, out: { isTTY, columns: 100, write: (s: string) => writes.push(s) } };
  }

  it('stays quiet for the first second, then draws bytes, percent and rate; stop erases it', () => {
    let now = 0;
    const s = stream(true);
    const bar = new ProgressBar(s.out, () => ({ bytes: 512 * 1024, total: 1024 * 1024, requests: 2 }), { now: () => now });
    now = 900;
    expect(bar.render()).toBe(false);
    now = 2000;
    expect(bar.render()).toBe(true);
    expect(s.writes[0]).toBe('\r[############............]  50%  512 KiB / 1.0 MiB  256 KiB/s  2 req\x1b[K');
    bar.stop();
    expect(s.writes.at(-1)).toBe('\r\x1b[K');
  });

  it('without a total: bytes, rate, requests and time; nothing at all when stderr is not a terminal', () => {
    let now = 0;
    const tty = stream(true);
    const withoutTotal = new ProgressBar(tty.out, () => ({ bytes: 3000, requests: 1 }), { now: () => now });
    now = 1500;
    withoutTotal.render();
    expect(tty.writes[0]).toBe('\r2.9 KiB  2.0 KiB/s  1 req  1.5 s\x1b[K');
    const pipe = stream(false);
    const bar = new ProgressBar(pipe.out, () => ({ bytes: 1, requests: 1 }), { now: () => 10_000 }).start();
    expect(bar.render()).toBe(false);
    bar.stop();
    expect(pipe.writes).toEqual([]);
  });
});

describe('waterfall', () => {
  const rec = (i: number, extra: Partial<RequestRecord> = {}): RequestRecord => ({
    op: 'GET',
    path: 'f.parquet',
    rangeHeader: `bytes=${i * 10}-${i * 10 + 9}`,
    status: 206,
    bytes: 10,
    delivered: 10,
    bytesRequested: 10,
    start: 100 + i,
    firstByte: 105 + i,
    end: 110 + i,
    open: false,
    ...extra,
  });

  it('one row per request with its range, a summary, escaped text, no scripts', () => {
    const html = waterfallHtml({ title: 'brr cat <x>', requests: [rec(0), rec(1, { op: 'HEAD', rangeHeader: undefined, status: 404 })] });
    expect(html.match(/<g><title>/g)).toHaveLength(2);
    expect(html).toContain('GET bytes=0-9');
    expect(html).toContain('1 GET, 1 HEAD, 1 round trip, 20 B received');
    expect(html).toContain('brr cat &lt;x&gt;');
    expect(html).toContain('fill="#e03131"'); // the failed HEAD
    expect(html).not.toContain('<script');
  });

  it('caps the rows and says how many were left out; an empty list says so', () => {
    const many = Array.from({ length: WATERFALL_MAX_ROWS + 5 }, (_, i) => rec(i));
    const html = waterfallHtml({ title: 't', requests: many });
    expect(html.match(/<g><title>/g)).toHaveLength(WATERFALL_MAX_ROWS);
    expect(html).toContain(`First ${WATERFALL_MAX_ROWS} of ${WATERFALL_MAX_ROWS + 5} requests shown.`);
    expect(waterfallHtml({ title: 't', requests: [] })).toContain('No requests were made.');
  });

  it('sections: one heading, summary and time axis each; without requests of its own the page is just the sections', () => {
    const html = waterfallHtml({
      title: 'brr bench x',
      requests: [],
      sections: [
        { title: 'naive: <one per chunk>', requests: [rec(0), rec(1), rec(2)] },
        { title: 'ours', requests: [rec(0)] },
        { title: 'empty', requests: [] },
      ],
    });
    expect(html.indexOf('<svg ')).toBeGreaterThan(html.indexOf('<h2>')); // no chart of its own before the sections
    expect(html.match(/<h2>/g)).toHaveLength(3);
    expect(html).toContain('<h2>naive: &lt;one per chunk&gt;</h2>\n<div class="notes">3 GETs, 0 HEADs, 1 round trip, 30 B received');
    expect(html).toContain('<h2>ours</h2>\n<div class="notes">1 GET, 0 HEADs, 1 round trip, 10 B received');
    expect(html.match(/<g><title>/g)).toHaveLength(4);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('<h2>empty</h2>\n<div class="notes">0 GETs, 0 HEADs, 0 round trips, 0 B received, 1.0 ms</div>\n<p class="note">No requests were made.</p>');
  });
});
