/**
 * S3 error mapping: the pure mapping of codes and statuses, then the same errors end to end through
 * the backend from a small local server that answers like S3 does when moto cannot (SlowDown with
 * Retry-After, InternalError, RequestTimeout, wrong region, a SignatureDoesNotMatch body that echoes
 * the string to sign and the signature).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { inspect } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { s3Backend } from '../../../src/backends/s3/backend.js';
import { mapS3Error, parseS3ErrorXml } from '../../../src/backends/s3/errors.js';
import { ReaderError } from '../../../src/errors.js';

const xml = (code: string, message: string, extra = '') =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${message}</Message>${extra}<RequestId>4442587FB7D0A2F9</RequestId></Error>`;
const opts = { credentials: 'explicit credentials', region: 'us-east-1' };
const ctx = { backend: 's3', op: 'read', path: 'k' };

describe('mapS3Error', () => {
  it.each([
    ['NoSuchKey', 404, 'NotFound', false, 'NOT_FOUND'],
    ['NoSuchBucket', 404, 'NotFound', false, 'NOT_FOUND'],
    ['AccessDenied', 403, 'PermissionDenied', false, 'ACCESS_DENIED'],
    ['InvalidAccessKeyId', 403, 'PermissionDenied', false, 'INVALID_ACCESS_KEY'],
    ['SignatureDoesNotMatch', 403, 'PermissionDenied', false, 'SIGNATURE_MISMATCH'],
    ['RequestTimeTooSkewed', 403, 'PermissionDenied', false, 'CLOCK_SKEW'],
    ['ExpiredToken', 400, 'PermissionDenied', false, 'CREDENTIALS_EXPIRED'],
    ['SlowDown', 503, 'RateLimited', true, 'RATE_LIMITED'],
    ['InternalError', 500, 'Unavailable', true, 'SERVER_UNAVAILABLE'],
    ['RequestTimeout', 400, 'Timeout', true, 'TIMEOUT'],
    ['InvalidRange', 416, 'RangeNotSatisfied', false, 'RANGE_NOT_SATISFIABLE'],
    ['PreconditionFailed', 412, 'ConditionNotMatch', false, 'ETAG_CHANGED'],
    ['InvalidObjectState', 403, 'Unsupported', false, 'UNSUPPORTED'],
  ] as const)('%s (%i) → %s, retryable %s, %s', (code, status, kind, retryable, stable) => {
    const err = mapS3Error({ status, body: xml(code, 'msg') }, ctx, opts);
    expect([err.kind, err.code]).toEqual([kind, stable]);
    expect(err.retryable).toBe(retryable);
    expect(err.context).toMatchObject({ code, status, requestId: '4442587FB7D0A2F9', backend: 's3', path: 'k' });
  });

  it('maps HEAD responses (no body) by status', () => {
    expect(mapS3Error({ status: 404 }, ctx, opts).kind).toBe('NotFound');
    expect(mapS3Error({ status: 403 }, ctx, opts).kind).toBe('PermissionDenied');
    expect(mapS3Error({ status: 403 }, ctx, opts)).toMatchObject({ code: 'ACCESS_DENIED', context: { credentials: 'explicit credentials' } });
    expect(mapS3Error({ status: 412 }, ctx, opts).kind).toBe('ConditionNotMatch');
    const slow = mapS3Error({ status: 503, retryAfter: '7' }, ctx, opts);
    expect([slow.kind, slow.retryable, slow.retryAfterMs]).toEqual(['RateLimited', true, 7000]);
    expect(mapS3Error({ status: 500 }, ctx, opts).kind).toBe('Unavailable');
  });

  it('honours Retry-After on SlowDown', () => {
    const err = mapS3Error({ status: 503, body: xml('SlowDown', 'Please reduce your request rate.'), retryAfter: '2' }, ctx, opts);
    expect(err.retryAfterMs).toBe(2000);
    expect(err.message).toContain('Please reduce your request rate.');
  });

  it('names the bucket region on a wrong-region answer', () => {
    const moved = mapS3Error({ status: 301, body: xml('PermanentRedirect', 'use the right endpoint'), bucketRegion: 'eu-west-1' }, ctx, opts);
    expect([moved.kind, moved.code, moved.context.bucketRegion]).toEqual(['InvalidInput', 'WRONG_REGION', 'eu-west-1']);
    const header = mapS3Error({ status: 400, body: xml('AuthorizationHeaderMalformed', 'bad region', '<Region>ap-south-1</Region>') }, ctx, opts);
    expect([header.code, header.context.bucketRegion]).toEqual(['WRONG_REGION', 'ap-south-1']);
  });

  it('makes ExpiredToken retryable only when the credentials can refresh', () => {
    const body = xml('ExpiredToken', 'The provided token has expired.');
    expect(mapS3Error({ status: 400, body }, ctx, opts).retryable).toBe(false);
    const refreshing = mapS3Error({ status: 400, body }, ctx, { ...opts, credentials: 'credentials from environment', refreshable: true });
    expect([refreshing.kind, refreshing.retryable]).toEqual(['PermissionDenied', true]);
    expect([refreshing.code, refreshing.context.credentials]).toEqual(['CREDENTIALS_EXPIRED', 'credentials from environment']);
  });

  it('keeps only Code and Message of a SignatureDoesNotMatch body, and redacts secrets', () => {
    const body = xml(
      'SignatureDoesNotMatch',
      'The request signature we calculated does not match the signature you provided. Key SECRETKEY123',
      '<AWSAccessKeyId>AKIA1</AWSAccessKeyId><StringToSign>AWS4-HMAC-SHA256\n20240101T000000Z</StringToSign><SignatureProvided>deadbeef</SignatureProvided><CanonicalRequest>GET /k</CanonicalRequest>',
    );
    const err = mapS3Error({ status: 403, body }, ctx, { ...opts, secrets: ['SECRETKEY123', undefined] });
    const shown = `${err.message} ${JSON.stringify(err.context)} ${inspect(err)}`;
    expect(shown).not.toContain('SECRETKEY123');
    expect(shown).not.toContain('deadbeef');
    expect(shown).not.toContain('AWS4-HMAC-SHA256');
    expect(err.message).toContain('[redacted]');
  });

  it('parses ActualObjectSize from InvalidRange and ignores bodies that are not S3 errors', () => {
    expect(parseS3ErrorXml(xml('InvalidRange', 'x', '<ActualObjectSize>123</ActualObjectSize>')).actualObjectSize).toBe(123);
    expect(parseS3ErrorXml('<html>proxy error</html>')).toEqual({});
    expect(mapS3Error({ status: 502, body: '<html>bad gateway</html>' }, ctx, opts).kind).toBe('Unavailable');
  });
});

/** Answers every request with the scripted response for its path; records what it received. */
class FakeS3 {
  server: Server;
  seen: { method: string; url: string; headers: IncomingMessage['headers'] }[] = [];
  constructor(private readonly script: (req: IncomingMessage, res: ServerResponse) => void) {
    this.server = createServer((req, res) => {
      this.seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers });
      this.script(req, res);
    });
  }
  async start(): Promise<string> {
    await new Promise<void>((r) => this.server.listen(0, '127.0.0.1', () => r()));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  stop(): Promise<void> {
    return new Promise((r) => this.server.close(() => r()));
  }
}

describe('S3 errors end to end (local server answering like S3)', () => {
  let fake: FakeS3;
  let endpoint: string;
  const secret = 'fake-secret-value-0000';
  beforeAll(async () => {
    fake = new FakeS3((req, res) => {
      const key = decodeURIComponent((req.url ?? '').split('/').slice(2).join('/'));
      const send = (status: number, body: string, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/xml', ...headers });
        res.end(req.method === 'HEAD' ? undefined : body);
      };
      const sig = /Signature=([0-9a-f]+)/.exec(String(req.headers.authorization))?.[1] ?? '';
      if (key === 'slow') return send(503, xml('SlowDown', 'Please reduce your request rate.'), { 'retry-after': '3' });
      if (key === 'internal') return send(500, xml('InternalError', 'We encountered an internal error. Please try again.'));
      if (key === 'timeout') return send(400, xml('RequestTimeout', 'Your socket connection to the server was not read from or written to within the timeout period.'));
      if (key === 'moved') return send(301, xml('PermanentRedirect', 'The bucket you are attempting to access must be addressed using the specified endpoint.'), { 'x-amz-bucket-region': 'eu-central-1' });
      if (key === 'badsig') {
        return send(403, xml('SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.', `<StringToSign>${String(req.headers['x-amz-date'])}</StringToSign><SignatureProvided>${sig}</SignatureProvided>`));
      }
      return send(404, xml('NoSuchKey', 'The specified key does not exist.'));
    });
    endpoint = await fake.start();
  });
  afterAll(() => fake.stop());

  const backend = () => s3Backend({ bucket: 'b', endpoint, credentials: { accessKeyId: 'AKIAFAKE', secretAccessKey: secret }, env: {} });

  async function readErr(key: string): Promise<ReaderError> {
    const err = await backend()
      .read(key, { offset: 0, length: 10 })
      .then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(ReaderError);
    return err as ReaderError;
  }

  it('SlowDown → RateLimited, retryable, Retry-After in retryAfterMs', async () => {
    const err = await readErr('slow');
    expect([err.kind, err.retryable, err.retryAfterMs, err.context.code]).toEqual(['RateLimited', true, 3000, 'SlowDown']);
    const head = await backend()
      .stat('slow')
      .then(() => undefined, (e: unknown) => e as ReaderError);
    expect([head?.kind, head?.retryable, head?.retryAfterMs]).toEqual(['RateLimited', true, 3000]);
  });

  it('InternalError → Unavailable and RequestTimeout → Timeout, both retryable', async () => {
    const internal = await readErr('internal');
    expect([internal.kind, internal.retryable]).toEqual(['Unavailable', true]);
    const timeout = await readErr('timeout');
    expect([timeout.kind, timeout.retryable, timeout.context.status]).toEqual(['Timeout', true, 400]);
  });

  it('a wrong region names the right one', async () => {
    const err = await readErr('moved');
    expect([err.kind, err.code, err.context.bucketRegion]).toEqual(['InvalidInput', 'WRONG_REGION', 'eu-central-1']);
  });

  it('a SignatureDoesNotMatch body echoing the signature never leaks it', async () => {
    const err = await readErr('badsig');
    expect(err.kind).toBe('PermissionDenied');
    const sent = fake.seen.filter((s) => s.url.endsWith('/badsig')).at(-1);
    const sig = /Signature=([0-9a-f]+)/.exec(String(sent?.headers.authorization))?.[1];
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    const shown = `${err.message} ${JSON.stringify(err.context)} ${inspect(err, { depth: 8 })}`;
    expect(shown).not.toContain(sig as string);
    expect(shown).not.toContain(secret);
    expect(shown).toContain('explicit credentials');
  });
});
