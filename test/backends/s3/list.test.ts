/**
 * ListObjectsV2: the XML parse (URL-encoded keys, pages, broken answers) without I/O, then a real moto
 * (no auth: keys holding `=` and `+` — see DESIGN.md; the signatures of such listings are checked
 * against botocore in signer.test.ts) for pages of 1,000 keys, odd keys and error mapping.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Backend } from '../../../src/backends/s3/backend.js';
import { listQuery, parseListPage } from '../../../src/backends/s3/list.js';
import { withMetrics } from '../../../src/layers/metrics.js';
import { withRetry } from '../../../src/layers/retry.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../../support/moto.js';

const ok = requireMotoInCi('test/backends/s3/list.test.ts');

describe('listQuery / parseListPage', () => {
  it('asks for 1,000 URL-encoded keys a page, with the continuation token and, one level, a delimiter', () => {
    expect(listQuery('a/', { cursor: 't+/=', recursive: false })).toEqual({
      'list-type': '2',
      'encoding-type': 'url',
      'max-keys': '1000',
      prefix: 'a/',
      delimiter: '/',
      'continuation-token': 't+/=',
    });
    expect(listQuery('')).toEqual({ 'list-type': '2', 'encoding-type': 'url', 'max-keys': '1000' });
  });

  it('decodes URL-encoded keys (+ is a space), ETags and dates; keeps the token of a truncated page', () => {
    const xml = `<?xml version="1.0" encoding="UTF-8"?><ListBucketResult><Name>b</Name><EncodingType>url</EncodingType>
      <IsTruncated>true</IsTruncated><NextContinuationToken>abc&amp;def</NextContinuationToken>
      <Contents><Key>y%3D2024/a+b%2Bc%C3%A9.parquet</Key><LastModified>2024-05-01T10:00:00.000Z</LastModified><ETag>&quot;e1&quot;</ETag><Size>42</Size></Contents>
      <CommonPrefixes><Prefix>y%3D2025/</Prefix></CommonPrefixes></ListBucketResult>`;
    expect(parseListPage(xml, {})).toEqual({
      entries: [{ path: 'y=2024/a b+cé.parquet', size: 42, etag: '"e1"', lastModified: new Date('2024-05-01T10:00:00.000Z') }],
      cursor: 'abc&def',
    });
  });

  it('rejects a truncated page without a token, an entry without a size, and a non-listing body', () => {
    const page = (inner: string) => `<ListBucketResult><EncodingType>url</EncodingType>${inner}</ListBucketResult>`;
    expect(() => parseListPage(page('<IsTruncated>true</IsTruncated>'), {})).toThrow(expect.objectContaining({ code: 'BAD_LISTING' }));
    expect(() => parseListPage(page('<Contents><Key>k</Key></Contents>'), {})).toThrow(expect.objectContaining({ code: 'BAD_LISTING' }));
    expect(() => parseListPage(page('<Contents><Key>%E0%A4%A</Key><Size>1</Size></Contents>'), {})).toThrow(expect.objectContaining({ code: 'BAD_LISTING' }));
    expect(() => parseListPage('<html>proxy error</html>', {})).toThrow(expect.objectContaining({ kind: 'Unexpected', code: 'BAD_LISTING' }));
  });
});

describe.skipIf(!ok)('s3 listing on moto', () => {
  let moto: MotoServer;
  const keys = Array.from({ length: 1001 }, (_, i) => `many/year=${2020 + (i % 3)}/part-${String(i).padStart(4, '0')}.bin`);
  const odd = ['odd/a b.bin', 'odd/a+b.bin', 'odd/k=v&w=%41.bin', 'odd/é日本.bin', 'odd/x~!*().bin'];

  beforeAll(async () => {
    moto = await startMoto();
    await moto.putWithBoto3('list', [...keys, ...odd].map((key) => ({ key, data: new TextEncoder().encode(key) })), true);
  }, 120_000);
  afterAll(async () => {
    await moto?.stop();
  });

  const backend = () => s3Backend({ bucket: 'list', endpoint: moto.endpoint, region: moto.region, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'unchecked' }, env: {} });

  it('lists 1,001 keys in 2 LIST pages of at most 1,000 (continuation tokens), sorted, with sizes', async () => {
    const b = withMetrics(backend());
    const seen: { path: string; size: number }[] = [];
    for await (const e of b.list?.('many/') ?? []) seen.push({ path: e.path, size: e.size });
    expect(seen).toEqual([...keys].sort().map((path) => ({ path, size: path.length })));
    const snap = b.metrics.snapshot();
    expect(snap.requests.map((r) => [r.op, r.entries])).toEqual([
      ['LIST', 1000],
      ['LIST', 1],
    ]);
    expect(snap).toMatchObject({ gets: 0, heads: 0, lists: 2 });
  });

  it('decodes keys with spaces, +, =, &, %, non-ASCII and sub-delims exactly, and reads them back by the listed path', async () => {
    const b = backend();
    const seen: string[] = [];
    for await (const e of b.list('odd/')) seen.push(e.path);
    expect(seen).toEqual([...odd].sort());
    for (const path of seen) expect((await b.stat(path)).size).toBe(new TextEncoder().encode(path).byteLength);
  });

  it('lists one level by a hive prefix (delimiter /): the year folders are not objects', async () => {
    const b = backend();
    const page = await b.listPage('many/', { recursive: false });
    expect(page).toEqual({ entries: [] });
    const one = await b.listPage('many/year=2021/', { recursive: false });
    expect(one.entries).toHaveLength(334);
  });

  it('maps a missing bucket to NotFound (NoSuchBucket), not retried', async () => {
    const b = withRetry(s3Backend({ bucket: 'no-such-bucket', endpoint: moto.endpoint, region: moto.region, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'x' }, env: {} }), { baseMs: 1 });
    await expect(b.listPage?.('')).rejects.toMatchObject({ kind: 'NotFound', context: { code: 'NoSuchBucket', op: 'list' } });
    expect(b.retryCounters()).toMatchObject({ attempts: 1, retries: 0 });
  });
});
