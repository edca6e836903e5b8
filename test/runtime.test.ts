/**
 * src/runtime.ts: what the default entry does without the Node parts, and what the Node entry
 * installs. The suite runs with the Node runtime installed (test/support/node-runtime.ts); these
 * tests take its hooks away for a moment to see the portable behaviour in-process.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { backendFromUrl } from '../src/backends/url.js';
import { s3Backend } from '../src/backends/s3/backend.js';
import { ReaderError } from '../src/errors.js';
import { memoryBackend } from '../src/backends/memory/backend.js';
import { BufferReader } from '../src/buffer-reader/buffer-reader.js';
import { runtime, type RuntimeHooks } from '../src/runtime.js';

let saved: RuntimeHooks;
const portable = () => {
  saved = { ...runtime };
  for (const k of Object.keys(runtime) as (keyof RuntimeHooks)[]) if (k !== 'name') delete runtime[k];
  runtime.name = 'portable';
};
const restore = () => {
  Object.assign(runtime, saved);
};

describe('the Node entry installs the Node parts', () => {
  it('backendFromUrl: undici for http(s), fs for paths', () => {
    expect(runtime.name).toBe('node');
    expect(backendFromUrl('https://example.com/f.parquet', { retry: false }).backend.kind).toBe('http');
    expect(backendFromUrl('./f.parquet', { retry: false }).backend.kind).toBe('fs');
    expect(backendFromUrl('file:///tmp/f.parquet', { retry: false })).toMatchObject({ path: 'f.parquet' });
  });
});

describe('without it (the default entry)', () => {
  beforeEach(portable);
  afterEach(restore);

  it('backendFromUrl picks fetch for http(s)', () => {
    expect(backendFromUrl('https://example.com/f.parquet', { retry: false }).backend.kind).toBe('fetch');
  });

  it('local paths are Unsupported, saying they need Node', () => {
    let err: unknown;
    try {
      backendFromUrl('./f.parquet');
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReaderError);
    expect(err).toMatchObject({ kind: 'Unsupported', code: 'UNSUPPORTED' });
    expect((err as Error).message).toMatch(/need Node/);
  });

  it('toNodeReadable is Unsupported; toReadableStream works', async () => {
    const reader = new BufferReader(memoryBackend({ k: new Uint8Array([1, 2, 3]) }), 'k');
    expect(() => reader.toNodeReadable()).toThrow(expect.objectContaining({ kind: 'Unsupported' }));
    expect([...new Uint8Array(await new Response(reader.toReadableStream()).arrayBuffer())]).toEqual([1, 2, 3]);
    await reader.close();
  });

  it('S3 without credentials has no default chain: CREDENTIALS_MISSING before any request', async () => {
    const s3 = s3Backend({ bucket: 'b', endpoint: 'http://127.0.0.1:9', region: 'us-east-1', env: {} });
    const err = await s3.stat('k').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toMatchObject({ kind: 'PermissionDenied', code: 'CREDENTIALS_MISSING' });
    expect((err as Error).message).toMatch(/needs Node/);
  });
});
