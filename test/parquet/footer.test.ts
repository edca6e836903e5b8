import { describe, expect, it } from 'vitest';
import { FIXTURES, fixture } from '../../bench/fixtures.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { ReaderError } from '../../src/errors.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { DEFAULT_FOOTER_WINDOW, readTail, readTailParts } from '../../src/parquet/footer.js';
import { parseMetadata } from '../../src/parquet/metadata.js';
import type { Backend } from '../../src/types.js';
import { testingFile } from '../support/parquet-testing.js';

function requests(b: ReturnType<typeof withMetrics>): string[] {
  return b.metrics.snapshot().requests.map((r) => `${r.op} ${r.rangeHeader ?? ''}`.trim());
}

async function failure(p: Promise<unknown>): Promise<ReaderError> {
  const e = await p.then(
    () => new Error('expected failure'),
    (x: unknown) => x,
  );
  expect(e).toBeInstanceOf(ReaderError);
  return e as ReaderError;
}

/** A backend without suffix ranges (capability off), to exercise the stat + bounded fallback. */
function noSuffix(inner: Backend): Backend {
  return { ...inner, kind: inner.kind, capabilities: { ...inner.capabilities, suffix: false }, stat: inner.stat, read: inner.read };
}

describe('readTail: the footer in one GET', () => {
  it('a file smaller than the window comes back whole in one suffix GET, no HEAD', async () => {
    const seed = await fixture(FIXTURES.seed);
    expect(seed.byteLength).toBeLessThan(DEFAULT_FOOTER_WINDOW);
    const b = withMetrics(memoryBackend({ 'seed.parquet': seed }));
    const tail = await readTail(b, 'seed.parquet');
    expect(requests(b)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    expect(tail.offset).toBe(0);
    expect(tail.meta.size).toBe(seed.byteLength);
    expect(tail.requests).toBe(1);
    expect(parseMetadata(tail, {}).row_groups.length).toBe(50);
  });

  it('metadata longer than the window costs exactly one more GET, pinned with If-Match', async () => {
    const wide = await fixture(FIXTURES.wide);
    const b = withMetrics(memoryBackend({ 'wide.parquet': wide }));
    const tail = await readTail(b, 'wide.parquet', { footerSizeHint: 64 * 1024 });
    const need = tail.metadataLength + 8;
    expect(need).toBeGreaterThan(128 * 1024);
    const start = wide.byteLength - need;
    expect(requests(b)).toEqual(['GET bytes=-65536', `GET bytes=${start}-${wide.byteLength - 65536 - 1}`]);
    expect(tail.requests).toBe(2);
    expect(Buffer.from(tail.bytes).equals(Buffer.from(wide.subarray(start)))).toBe(true);
    expect(parseMetadata(tail, {}).row_groups[0]?.columns.length).toBe(320);
  });

  it('falls back to HEAD + bounded GET when the backend has no suffix ranges', async () => {
    const file = testingFile('data/alltypes_plain.parquet');
    const b = withMetrics(noSuffix(memoryBackend({ f: file })));
    const tail = await readTail(b, 'f', { footerSizeHint: 4096 });
    expect(requests(b)).toEqual(['HEAD', `GET bytes=0-${file.byteLength - 1}`]);
    expect(parseMetadata(tail, {}).num_rows).toBe(8n);
  });

  it('reads every good file of parquet-testing with one GET', async () => {
    for (const name of ['alltypes_plain.parquet', 'alltypes_tiny_pages.parquet', 'nested_structs.rust.parquet', 'nulls.snappy.parquet']) {
      const b = withMetrics(memoryBackend({ f: testingFile(`data/${name}`) }));
      const tail = await readTail(b, 'f');
      expect(tail.requests).toBe(1);
      expect(b.metrics.snapshot().gets).toBe(1);
      expect(() => parseMetadata(tail, {})).not.toThrow();
    }
  });
});

describe('readTail: bad input is a typed error (catalogue 18–21)', () => {
  const open = (bytes: Uint8Array) => readTail(memoryBackend({ f: bytes }), 'f');

  it('a file under 12 bytes', async () => {
    const e = await failure(open(new TextEncoder().encode('PAR1PAR1')));
    expect(e.kind).toBe('InvalidData');
    expect([e.code, e.context.size]).toEqual(['FOOTER_TOO_SHORT', 8]);
    expect((await failure(open(new Uint8Array(0)))).code).toBe('FOOTER_TOO_SHORT');
  });

  it('a trailing magic other than PAR1, and PARE (encrypted)', async () => {
    const bytes = new Uint8Array(100).fill(7);
    expect((await failure(open(bytes))).code).toBe('BAD_MAGIC');
    const enc = testingFile('data/uniform_encryption.parquet.encrypted');
    const e = await failure(open(enc));
    expect(e.kind).toBe('Unsupported');
    expect(e.code).toBe('ENCRYPTED');
  });

  it('a metadata length larger than the file, without allocating it', async () => {
    const bytes = new Uint8Array(64);
    bytes.set(new TextEncoder().encode('PAR1'), 0);
    new DataView(bytes.buffer).setUint32(56, 0xfffffff0, true);
    bytes.set(new TextEncoder().encode('PAR1'), 60);
    const e = await failure(open(bytes));
    expect(e.kind).toBe('InvalidData');
    expect([e.code, e.context.metadataLength]).toEqual(['METADATA_TOO_LONG', 4294967280]);
  });

  it('corrupt Thrift metadata names its offset', async () => {
    const good = testingFile('data/alltypes_plain.parquet');
    const bad = good.slice();
    const ml = new DataView(bad.buffer).getUint32(bad.byteLength - 8, true);
    const metaStart = bad.byteLength - 8 - ml;
    bad.fill(0xff, metaStart, metaStart + 40);
    const tail = await readTail(memoryBackend({ f: bad }), 'f');
    let err: unknown;
    try {
      parseMetadata(tail, { path: 'f' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ReaderError);
    expect((err as ReaderError).kind).toBe('InvalidData');
    expect([(err as ReaderError).code, (err as ReaderError).context.metadataOffset]).toEqual(['METADATA_CORRUPT', metaStart]);
  });
});

describe('readTailParts: the tail kept joined or in the chunks it arrived in', () => {
  const join = (parts: Uint8Array[]) => Buffer.concat(parts);

  it('chunks: the body\'s own chunks, no window-sized buffer; joined: one buffer; the same bytes, offset and footer length as readTail', async () => {
    const wide = await fixture(FIXTURES.wide);
    const b = memoryBackend({ w: wide }, { chunkSize: 64 * 1024 });
    const whole = await readTail(b, 'w');
    const chunked = await readTailParts(b, 'w', {}, 'chunks');
    const joined = await readTailParts(b, 'w', {}, 'joined');
    expect(chunked.chunks.length).toBeGreaterThan(10);
    expect(chunked.chunks.every((c) => c.buffer === wide.buffer)).toBe(true); // views of what the backend handed out
    expect(joined.chunks.length).toBe(1);
    for (const t of [chunked, joined]) {
      expect(join(t.chunks).equals(Buffer.from(whole.bytes))).toBe(true);
      expect([t.offset, t.metadataLength, t.requests, t.meta.size]).toEqual([whole.offset, whole.metadataLength, whole.requests, whole.meta.size]);
    }
  });

  it('a footer longer than the window: one more GET in both keepings, the head before the window\'s chunks', async () => {
    const wide = await fixture(FIXTURES.wide);
    for (const keep of ['chunks', 'joined'] as const) {
      const b = withMetrics(memoryBackend({ w: wide }, { chunkSize: 16 * 1024 }));
      const t = await readTailParts(b, 'w', { footerSizeHint: 64 * 1024 }, keep);
      expect(b.metrics.snapshot().gets).toBe(2);
      expect(t.requests).toBe(2);
      expect(t.offset).toBe(wide.byteLength - t.metadataLength - 8);
      expect(join(t.chunks).equals(Buffer.from(wide.subarray(t.offset)))).toBe(true);
    }
  });

  it('bad input is the same typed error in both keepings (a tail cut below the 8-byte footer)', async () => {
    for (const keep of ['chunks', 'joined'] as const) {
      const e = await failure(readTailParts(memoryBackend({ f: new Uint8Array(5) }), 'f', {}, keep));
      expect(e.code).toBe('FOOTER_TOO_SHORT');
    }
  });
});

