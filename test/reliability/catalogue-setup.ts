/**
 * Shared rig of the fault catalogue (test/reliability/catalogue-*.test.ts): an ObjectServer behind the
 * fault proxy, moto behind another one, the targets every network case runs on, and small helpers.
 * Each catalogue file calls `useCatalogue()` once at top level; the state below is set by its hooks
 * (live ESM bindings: read it inside tests, never at import time).
 */
import { afterAll, beforeAll, beforeEach, expect } from 'vitest';
import { Agent } from 'undici';

import { httpBackend, type HttpBackendOptions } from '../../src/backends/http/backend.js';
import { s3Backend, type S3BackendOptions } from '../../src/backends/s3/backend.js';
import { BufferReader } from '../../src/buffer-reader/buffer-reader.js';
import { ReaderError } from '../../src/errors.js';
import { withRetry, type RetryEvent, type RetryOptions } from '../../src/layers/retry.js';

import { openParquet } from '../../src/parquet/source.js';
import { RangeReader } from '../../src/range-reader/range-reader.js';

import type { Backend } from '../../src/types.js';
import { FaultProxy } from '../support/fault-proxy.js';
import { randomBytes } from '../support/data.js';
import { requireMotoInCi, startMoto, type MotoServer } from '../support/moto.js';
import { testingFile } from '../support/parquet-testing.js';
import { failure, startRig, within, type Rig } from './helpers.js';

export const motoOk = requireMotoInCi('test/reliability/catalogue-*.test.ts');
export const SIZE = 120_000;
export const data = randomBytes(SIZE, 31);
export const v2 = randomBytes(SIZE, 32);
export const BUCKET = 'catalogue';
export const SECRET = 'catalogue-secret-key-0123456789';

export let rig: Rig;
export let agent: Agent;
export let moto: MotoServer | undefined;
export let s3proxy: FaultProxy | undefined;

/**
 * Starts the rig for the calling test file (each file has its own servers: files run in parallel
 * processes). `s3: false` for files with no S3 case: no moto is started, and `targets()` is HTTP only.
 */
export function useCatalogue(opts: { s3?: boolean } = {}): void {
  beforeAll(async () => {
    rig = await startRig();
    agent = new Agent({ connections: 16 });
    if (motoOk && opts.s3 !== false) {
      moto = await startMoto();
      await moto.createBucket(BUCKET);
      s3proxy = await FaultProxy.start(moto.endpoint);
    }
  }, 60_000);
  afterAll(async () => {
    await agent.close();
    await s3proxy?.stop();
    await moto?.stop();
    await rig.stop();
  });
  beforeEach(async () => {
    rig.proxy.reset();
    rig.server.fault = undefined;
    rig.server.put('o.bin', data);
    rig.server.put('empty.bin', new Uint8Array(0));
    if (moto && s3proxy) {
      s3proxy.reset();
      await moto.put(BUCKET, 'o.bin', data);
    }
  });
}

export const fast: RetryOptions = { baseMs: 1, capMs: 10 };
export const rawHttp = (opts: HttpBackendOptions = {}): Backend => httpBackend({ baseUrl: rig.proxy.url, dispatcher: agent, ...opts });
export const http = (opts: RetryOptions = {}, events?: RetryEvent[]) =>
  withRetry(rawHttp(), { ...fast, ...(events ? { onRetry: (e) => events.push(e) } : {}), ...opts });
export const rawS3 = (opts: Partial<S3BackendOptions> = {}): Backend =>
  s3Backend({
    bucket: BUCKET,
    endpoint: (s3proxy as FaultProxy).url,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDCATALOGUE', secretAccessKey: SECRET },
    dispatcher: agent,
    env: {},
    ...opts,
  });
export const s3 = (opts: RetryOptions = {}, events?: RetryEvent[]) =>
  withRetry(rawS3(), { ...fast, ...(events ? { onRetry: (e) => events.push(e) } : {}), ...opts });
export const httpWire = () => rig.proxy.log.map((r) => [r.method, r.range ?? null, r.ifMatch ?? null, r.status]);

/** The targets a network case runs on: HTTP always, S3 over moto when it is here (always in CI). */
export const targets = () =>
  [
    { name: 'http', backend: http, proxy: () => rig.proxy, swap: async () => void rig.server.put('o.bin', v2) },
    ...(motoOk ? [{ name: 's3', backend: s3, proxy: () => s3proxy as FaultProxy, swap: async () => void (await moto?.put(BUCKET, 'o.bin', v2)) }] : []),
  ] as const;

/** Reads to the end with `n`-byte reads; asserts that no read returns 0 before the end, and one does at it. */
export async function drain(reader: RangeReader | BufferReader, size: number, n = 7000): Promise<Uint8Array> {
  const out = new Uint8Array(size);
  for (;;) {
    const pos = reader.position;
    const got = await reader.read(pos < size ? out.subarray(pos, Math.min(size, pos + n)) : new Uint8Array(1));
    if (got === 0) {
      expect(pos, 'read returned 0 before the end').toBe(size);
      return out;
    }
  }
}

// 18–21: Parquet footer bad input, over HTTP with the default retries on (openParquet by URL).
// also: test/parquet/footer.test.ts (each case on memory); test/parquet/bad-data.test.ts and
// test/parquet/corpus.test.ts (every file of parquet-testing/bad_data through parquet-wasm and hyparquet).
export const good = testingFile('data/alltypes_plain.parquet');
export const goodMetadataLength = new DataView(good.buffer, good.byteOffset).getUint32(good.byteLength - 8, true);

export async function badFooter(name: string, bytes: Uint8Array, kind: ReaderError['kind'], code: ReaderError['code']): Promise<ReaderError> {
  rig.server.put(name, bytes);
  const err = await within(failure(openParquet(`${rig.proxy.url}/${name}`, { metadataCache: false }), kind), 1_000);
  expect(err.code).toBe(code);
  expect(rig.proxy.log).toHaveLength(1);
  return err;
}
