/**
 * Our SigV4 (via @smithy/signature-v4 with S3's settings) against botocore's S3SigV4Auth: the same
 * random requests signed at the same fixed timestamp must carry the identical Authorization header.
 */
import { describe, expect, it } from 'vitest';
import { encodeQuery, signS3Request } from '../../../src/backends/s3/signer.js';
import { encodeKey } from '../../../src/backends/s3/url.js';
import { listQuery } from '../../../src/backends/s3/list.js';
import { requireMotoInCi, runHelper } from '../../support/moto.js';

const ok = requireMotoInCi('test/backends/s3/signer.test.ts');

describe('signS3Request', () => {
  it('matches the AWS documentation example for S3 GET Object (SigV4, header auth)', async () => {
    // "Signature Calculations for the Authorization Header: Transferring Payload in a Single Chunk",
    // example GET Object: examplebucket, /test.txt, Range bytes=0-9, 20130524T000000Z, us-east-1.
    const headers = await signS3Request(
      { method: 'GET', protocol: 'https:', host: 'examplebucket.s3.amazonaws.com', path: '/test.txt', headers: { range: 'bytes=0-9' } },
      { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' },
      'us-east-1',
      new Date(Date.UTC(2013, 4, 24)),
    );
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
        'SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, ' +
        'Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41',
    );
    expect(headers['x-amz-content-sha256']).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(headers['x-amz-date']).toBe('20130524T000000Z');
    expect(headers.host).toBe('examplebucket.s3.amazonaws.com');
  });

  it('adds the session token as x-amz-security-token and signs it', async () => {
    const creds = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret' };
    const req = { method: 'GET', protocol: 'https:', host: 'b.s3.amazonaws.com', path: '/k' } as const;
    const date = new Date(Date.UTC(2024, 0, 1));
    const plain = await signS3Request(req, creds, 'us-east-1', date);
    const withToken = await signS3Request(req, { ...creds, sessionToken: 'tok+en/==' }, 'us-east-1', date);
    expect(plain['x-amz-security-token']).toBeUndefined();
    expect(withToken['x-amz-security-token']).toBe('tok+en/==');
    expect(withToken.authorization).toContain('x-amz-security-token');
    expect(withToken.authorization).not.toBe(plain.authorization);
  });
});

/** A small seeded PRNG (LCG) so a failure can be replayed. */
function prng(seed: number) {
  let s = seed >>> 0;
  const next = () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
  return {
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T,
    chance: (p: number) => next() < p,
  };
}

const KEY_PIECES = ['a', 'Z', '0', 'data', '.parquet', ' ', '+', '%', '%20', '=', '&', '/', '//', 'é', '日本', '😀', '~', '!', '*', "'", '(', ')', ':', '@', ',', ';', '$', '[', ']', '#', '?', '\t', '-', '_', '.', '..'];
const QUERY_NAMES = ['versionId', 'partNumber', 'response-content-type', 'response-content-disposition', 'x-id', 'acl', 'prefix'];
const QUERY_VALUES = ['', '1', 'GetObject', 'text/plain; charset=utf-8', 'attachment; filename="a b.txt"', 'a+b=c&d', '~tilde', 'é', '3HL4kqtJlcpXroDTDmJ+rmSpXd3dIbrHY+MTRCxf3vjVBH40Nr8X8gdRQBpUMLUo'];
const HEADERS: [string, string[]][] = [
  ['range', ['bytes=0-99', 'bytes=-8', 'bytes=100-']],
  ['if-match', ['"d41d8cd98f00b204e9800998ecf8427e"', '"abc-2"']],
  ['if-none-match', ['"x"']],
  ['content-type', ['application/octet-stream', 'text/plain;  charset=utf-8']],
  ['x-amz-meta-note', ['  padded   value ', 'plain']],
  ['X-Amz-Meta-Mixed-Case', ['Value']],
  ['content-md5', ['1B2M2Y8AsgTpgAMYFKSHmA==']],
  ['user-agent', ['brr-test/1.0']],
];
const HOSTS: { protocol: 'http:' | 'https:'; host: string; pathStyle: boolean }[] = [
  { protocol: 'http:', host: '127.0.0.1:9000', pathStyle: true },
  { protocol: 'https:', host: 's3.eu-west-1.amazonaws.com', pathStyle: true },
  { protocol: 'https:', host: 'my-bucket.s3.us-east-1.amazonaws.com', pathStyle: false },
  { protocol: 'http:', host: 'minio.local:9000', pathStyle: true },
];

interface Case {
  method: string;
  protocol: 'http:' | 'https:';
  host: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: Uint8Array;
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
  date: Date;
}

function randomCase(r: ReturnType<typeof prng>): Case {
  const target = r.pick(HOSTS);
  let key = '';
  const pieces = 1 + r.int(6);
  for (let i = 0; i < pieces; i++) key += r.pick(KEY_PIECES);
  const path = target.pathStyle ? `/my-bucket/${encodeKey(key)}` : `/${encodeKey(key)}`;
  const query: Record<string, string> = {};
  for (let i = r.int(3); i > 0; i--) query[r.pick(QUERY_NAMES)] = r.pick(QUERY_VALUES);
  const headers: Record<string, string> = {};
  for (const [name, values] of HEADERS) if (r.chance(0.3)) headers[name] = r.pick(values);
  const method = r.pick(['GET', 'HEAD', 'PUT', 'DELETE']);
  const body = method === 'PUT' ? Uint8Array.from({ length: r.int(200) }, () => r.int(256)) : undefined;
  const c: Case = {
    method,
    ...target,
    path,
    query,
    headers,
    accessKeyId: `AKIA${r.int(1e9)}`,
    secretAccessKey: `s3cr3t/${r.int(1e9)}+K7MDENG`,
    region: r.pick(['us-east-1', 'eu-west-1', 'ap-southeast-2']),
    date: new Date(Date.UTC(2020 + r.int(10), r.int(12), 1 + r.int(28), r.int(24), r.int(60), r.int(60))),
  };
  if (body) c.body = body;
  if (r.chance(0.4)) c.sessionToken = `IQoJb3JpZ2luX2VjE${r.int(1e9)}+/==`;
  return c;
}

function amzDate(d: Date): string {
  return d.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

describe.skipIf(!ok)('signS3Request against botocore S3SigV4Auth', () => {
  it('gives the identical Authorization header on 300 random requests', async () => {
    const r = prng(20240601);
    const cases = Array.from({ length: 300 }, () => randomCase(r));
    const ours = await Promise.all(
      cases.map((c) =>
        signS3Request(
          { method: c.method, protocol: c.protocol, host: c.host, path: c.path, query: c.query, headers: c.headers, ...(c.body ? { body: c.body } : {}) },
          { accessKeyId: c.accessKeyId, secretAccessKey: c.secretAccessKey, ...(c.sessionToken ? { sessionToken: c.sessionToken } : {}) },
          c.region,
          c.date,
        ),
      ),
    );
    const theirs = (await runHelper(['sign'], {
      requests: cases.map((c) => ({
        method: c.method,
        url: `${c.protocol}//${c.host}${c.path}${encodeQuery(c.query)}`,
        headers: c.headers,
        body64: c.body ? Buffer.from(c.body).toString('base64') : '',
        accessKeyId: c.accessKeyId,
        secretAccessKey: c.secretAccessKey,
        sessionToken: c.sessionToken ?? null,
        region: c.region,
        timestamp: amzDate(c.date),
      })),
    })) as { signed: { authorization: string; headers: Record<string, string> }[] };
    expect(theirs.signed).toHaveLength(cases.length);
    const mismatches: string[] = [];
    cases.forEach((c, i) => {
      const b = theirs.signed[i] as { authorization: string; headers: Record<string, string> };
      const o = ours[i] as Record<string, string>;
      const same =
        o.authorization === b.authorization &&
        o['x-amz-date'] === b.headers['x-amz-date'] &&
        o['x-amz-content-sha256'] === b.headers['x-amz-content-sha256'] &&
        o['x-amz-security-token'] === b.headers['x-amz-security-token'];
      if (!same) mismatches.push(`#${i} ${c.method} ${c.host}${c.path}${encodeQuery(c.query)} ${JSON.stringify(c.headers)}\n  ours:     ${o.authorization}\n  botocore: ${b.authorization}`);
    });
    expect(mismatches).toEqual([]);
    // The batch covered what it claims to: tokens, queries, bodies, each addressing style.
    expect(cases.filter((c) => c.sessionToken).length).toBeGreaterThan(50);
    expect(cases.filter((c) => Object.keys(c.query).length).length).toBeGreaterThan(50);
    expect(cases.filter((c) => c.body && c.body.length).length).toBeGreaterThan(30);
    expect(cases.filter((c) => /%[89A-F][0-9A-F]/.test(c.path)).length).toBeGreaterThan(50);
  });

  it('gives the identical Authorization header on ListObjectsV2 requests by hive prefixes (=, /, %, spaces, tokens)', async () => {
    const prefixes = ['', 'events/', 'events/year=2024/', 'events/year=2024/month=05/', 'a b/c+d=e%20/', 'événements/jour=2024-05-01/', 'x/k=__HIVE_DEFAULT_PARTITION__/'];
    const cases = prefixes.flatMap((prefix, i) =>
      [{}, { recursive: false }, { cursor: `1${'Zm9vYmFy+/='.repeat(i + 1)}` }].map((opts) => ({ query: listQuery(prefix, opts), date: new Date(Date.UTC(2025, 4, 1 + i, 12)) })),
    );
    const creds = { accessKeyId: 'AKIALISTTEST', secretAccessKey: 'list/secret+K7MDENG' };
    const ours = await Promise.all(
      cases.map((c) => signS3Request({ method: 'GET', protocol: 'http:', host: '127.0.0.1:9000', path: '/bucket', query: c.query }, creds, 'us-east-1', c.date)),
    );
    const theirs = (await runHelper(['sign'], {
      requests: cases.map((c) => ({
        method: 'GET',
        url: `http://127.0.0.1:9000/bucket${encodeQuery(c.query)}`,
        headers: {},
        body64: '',
        ...creds,
        sessionToken: null,
        region: 'us-east-1',
        timestamp: amzDate(c.date),
      })),
    })) as { signed: { authorization: string }[] };
    expect(ours.map((h) => h.authorization)).toEqual(theirs.signed.map((b) => b.authorization));
    expect(cases.some((c) => c.query.prefix?.includes('=') && c.query.delimiter === '/')).toBe(true);
  });
});
