/**
 * The one conformance suite every backend and every layer must pass. A fixture gives a backend and a
 * way to store objects in whatever it reads from (memory, a temp dir, a local HTTP server, moto S3).
 */
import { describe, expect, it, beforeAll, afterAll } from 'vitest';
import { ReaderError } from '../../src/errors.js';
import type { Backend } from '../../src/types.js';
import { randomBytes, readAll } from '../support/data.js';

export interface ConformanceFixture {
  backend: Backend;
  /** Stores (or replaces) an object under `key`; the backend must then see it at `pathOf(key)`. */
  put(key: string, data: Uint8Array): Promise<void>;
  /** The path to pass to the backend for `key`. */
  pathOf(key: string): string;
  /** Expected `backend.kind`. */
  kind: string;
  /**
   * moto 5.2 in signature-checking mode rejects valid signatures (botocore's own) on a query whose
   * values hold `/` or `=`: listings by such a prefix are then checked on a moto without auth, and
   * their signatures against botocore's signer (test/backends/s3/signer.test.ts).
   */
  slashInQueryRejected?: boolean;
  teardown?(): Promise<void>;
}

async function expectKind(p: Promise<unknown>, kind: ReaderError['kind']): Promise<ReaderError> {
  const err = await p.then(
    () => {
      throw new Error(`expected ReaderError ${kind}, got success`);
    },
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ReaderError);
  expect((err as ReaderError).kind).toBe(kind);
  return err as ReaderError;
}

export function describeConformance(name: string, setup: () => Promise<ConformanceFixture>): void {
  describe(`conformance: ${name}`, () => {
    let fx: ConformanceFixture;
    const data = randomBytes(300_000, 7);
    const small = new TextEncoder().encode('hello, range reader!');

    beforeAll(async () => {
      fx = await setup();
      await fx.put('data.bin', data);
      await fx.put('small.txt', small);
      await fx.put('empty.bin', new Uint8Array(0));
    }, 60_000);
    afterAll(async () => {
      await fx?.teardown?.();
    });

    it('reports its kind and capabilities', () => {
      expect(fx.backend.kind).toBe(fx.kind);
      expect(typeof fx.backend.capabilities.suffix).toBe('boolean');
      expect(typeof fx.backend.capabilities.etag).toBe('boolean');
      expect(typeof fx.backend.capabilities.ifMatch).toBe('boolean');
    });

    it('stat gives size and an ETag', async () => {
      const meta = await fx.backend.stat(fx.pathOf('data.bin'));
      expect(meta.size).toBe(data.byteLength);
      if (fx.backend.capabilities.etag) expect(meta.etag).toMatch(/^(W\/)?".+"$/);
    });

    it('reads a bounded range exactly', async () => {
      const r = await readAll(fx.backend, fx.pathOf('data.bin'), { offset: 1000, length: 70_000 });
      expect(r.range).toEqual({ offset: 1000, length: 70_000 });
      expect(r.meta.size).toBe(data.byteLength);
      expect(Buffer.from(r.bytes).equals(Buffer.from(data.subarray(1000, 71_000)))).toBe(true);
    });

    it('reads a one-byte range at the start and at the end', async () => {
      const first = await readAll(fx.backend, fx.pathOf('small.txt'), { offset: 0, length: 1 });
      expect(new TextDecoder().decode(first.bytes)).toBe('h');
      const last = await readAll(fx.backend, fx.pathOf('small.txt'), { offset: small.byteLength - 1, length: 1 });
      expect(new TextDecoder().decode(last.bytes)).toBe('!');
      expect(last.range).toEqual({ offset: small.byteLength - 1, length: 1 });
    });

    it('reads an open-ended range to EOF', async () => {
      const r = await readAll(fx.backend, fx.pathOf('data.bin'), { offset: 250_000 });
      expect(r.range).toEqual({ offset: 250_000, length: 50_000 });
      expect(Buffer.from(r.bytes).equals(Buffer.from(data.subarray(250_000)))).toBe(true);
    });

    it('reads a suffix range and learns the size from it', async () => {
      const r = await readAll(fx.backend, fx.pathOf('data.bin'), { suffix: 8 });
      expect(r.range).toEqual({ offset: data.byteLength - 8, length: 8 });
      expect(r.meta.size).toBe(data.byteLength);
      expect(Buffer.from(r.bytes).equals(Buffer.from(data.subarray(-8)))).toBe(true);
    });

    it('gives the whole object for a suffix larger than it', async () => {
      const r = await readAll(fx.backend, fx.pathOf('small.txt'), { suffix: 1_000_000 });
      expect(r.range).toEqual({ offset: 0, length: small.byteLength });
      expect(new TextDecoder().decode(r.bytes)).toBe('hello, range reader!');
    });

    it('clamps an end past EOF', async () => {
      const r = await readAll(fx.backend, fx.pathOf('small.txt'), { offset: 7, length: 1000 });
      expect(r.range).toEqual({ offset: 7, length: small.byteLength - 7 });
      expect(new TextDecoder().decode(r.bytes)).toBe('range reader!');
    });

    it('rejects a start at or past EOF with RangeNotSatisfied', async () => {
      await expectKind(fx.backend.read(fx.pathOf('small.txt'), { offset: small.byteLength }), 'RangeNotSatisfied');
      await expectKind(fx.backend.read(fx.pathOf('small.txt'), { offset: 10_000, length: 5 }), 'RangeNotSatisfied');
    });

    it('serves a zero-length object: size 0 and an empty body', async () => {
      expect((await fx.backend.stat(fx.pathOf('empty.bin'))).size).toBe(0);
      const open = await readAll(fx.backend, fx.pathOf('empty.bin'), { offset: 0 });
      expect(open.range).toEqual({ offset: 0, length: 0 });
      expect(open.meta.size).toBe(0);
      expect(open.bytes.byteLength).toBe(0);
      const suffix = await readAll(fx.backend, fx.pathOf('empty.bin'), { suffix: 10 });
      expect(suffix.range).toEqual({ offset: 0, length: 0 });
      expect(suffix.bytes.byteLength).toBe(0);
    });

    it('rejects invalid ranges with InvalidInput before any request', async () => {
      const p = fx.pathOf('small.txt');
      await expectKind(fx.backend.read(p, { offset: 0, length: 0 }), 'InvalidInput');
      await expectKind(fx.backend.read(p, { offset: -1, length: 4 }), 'InvalidInput');
      await expectKind(fx.backend.read(p, { suffix: 0 }), 'InvalidInput');
      await expectKind(fx.backend.read(p, { offset: 1.5 }), 'InvalidInput');
    });

    it('maps a missing object to NotFound with backend and path in the context', async () => {
      const p = fx.pathOf('no/such/object.bin');
      const e1 = await expectKind(fx.backend.stat(p), 'NotFound');
      expect(e1.context.path).toBe(p);
      expect(e1.retryable).toBe(false);
      const e2 = await expectKind(fx.backend.read(p, { offset: 0, length: 10 }), 'NotFound');
      expect([e2.code, e2.context.backend]).toEqual(['NOT_FOUND', fx.kind]);
      expect(e2.message).toContain(fx.kind); // the message names the backend
    });

    it('honours If-Match: the current ETag reads, a changed object is ConditionNotMatch', async () => {
      if (!fx.backend.capabilities.ifMatch) return expect(fx.backend.capabilities.ifMatch).toBe(false);
      await fx.put('versioned.bin', new TextEncoder().encode('version one'));
      const { etag } = await fx.backend.stat(fx.pathOf('versioned.bin'));
      expect(etag).toBeTruthy();
      const ok = await readAll(fx.backend, fx.pathOf('versioned.bin'), { offset: 0, length: 7 }, { ifMatch: etag as string });
      expect(new TextDecoder().decode(ok.bytes)).toBe('version');
      expect(ok.meta.etag).toBe(etag);
      await new Promise((r) => setTimeout(r, 5)); // distinct mtime for the fs backend
      await fx.put('versioned.bin', new TextEncoder().encode('version two!'));
      const err = await expectKind(fx.backend.read(fx.pathOf('versioned.bin'), { offset: 0, length: 7 }, { ifMatch: etag as string }), 'ConditionNotMatch');
      expect(err.retryable).toBe(false);
    });

    it('rejects with Aborted (name AbortError) when the signal has already fired', async () => {
      const ac = new AbortController();
      ac.abort();
      const err = await expectKind(fx.backend.read(fx.pathOf('data.bin'), { offset: 0 }, { signal: ac.signal }), 'Aborted');
      expect(err.name).toBe('AbortError');
      await expectKind(fx.backend.stat(fx.pathOf('data.bin'), { signal: ac.signal }), 'Aborted');
    });

    it('stops a body with Aborted when the signal fires mid-read', async () => {
      const ac = new AbortController();
      const res = await fx.backend.read(fx.pathOf('data.bin'), { offset: 0 }, { signal: ac.signal });
      const consume = (async () => {
        let n = 0;
        for await (const chunk of res.body) {
          n += chunk.byteLength;
          if (n > 0) ac.abort();
        }
        return n;
      })();
      await expectKind(consume, 'Aborted');
    });

    it('releases a body abandoned early and keeps serving', async () => {
      for (let i = 0; i < 5; i++) {
        const res = await fx.backend.read(fx.pathOf('data.bin'), { offset: 0 });
        for await (const _ of res.body) break;
      }
      const r = await readAll(fx.backend, fx.pathOf('small.txt'), { offset: 0, length: 5 });
      expect(new TextDecoder().decode(r.bytes)).toBe('hello');
    });

    it('matches the reference bytes on random ranges of every shape', async () => {
      let seed = 12345;
      const rnd = (n: number) => {
        seed = (seed * 1103515245 + 12345) & 0x7fffffff;
        return seed % n;
      };
      for (let i = 0; i < 24; i++) {
        const kind = i % 3;
        const offset = rnd(data.byteLength);
        const range = kind === 0 ? { offset, length: 1 + rnd(40_000) } : kind === 1 ? { offset } : { suffix: 1 + rnd(data.byteLength + 10) };
        const r = await readAll(fx.backend, fx.pathOf('data.bin'), range);
        const want = data.subarray(r.range.offset, r.range.offset + r.range.length);
        expect(r.bytes.byteLength).toBe(r.range.length);
        expect(Buffer.from(r.bytes).equals(Buffer.from(want))).toBe(true);
      }
    });

    describe('listing', () => {
      const keys = ['list/a-c', 'list/a/1', 'list/a/2', 'list/b'];
      beforeAll(async () => {
        if (!fx.backend.capabilities.list) return;
        for (const k of keys) await fx.put(k, new TextEncoder().encode(k));
      }, 60_000);
      const listed = async (prefix: string, recursive?: boolean) => {
        const out: { path: string; size: number }[] = [];
        for await (const e of fx.backend.list?.(prefix, recursive === undefined ? {} : { recursive }) ?? []) out.push({ path: e.path, size: e.size });
        return out;
      };

      it('advertises listing exactly when it has listPage and list', () => {
        const can = fx.backend.capabilities.list === true;
        expect(typeof fx.backend.listPage === 'function').toBe(can);
        expect(typeof fx.backend.list === 'function').toBe(can);
      });

      it('lists a prefix recursively in ascending path order with sizes, ETags and dates', async () => {
        if (!fx.backend.capabilities.list || fx.slashInQueryRejected) return;
        expect(await listed(fx.pathOf('list/'))).toEqual(keys.map((k) => ({ path: fx.pathOf(k), size: k.length })));
        const page = await fx.backend.listPage?.(fx.pathOf('list/a'));
        expect(page?.cursor).toBeUndefined();
        const first = page?.entries[0];
        expect(first?.path).toBe(fx.pathOf('list/a-c'));
        if (fx.backend.capabilities.etag) expect(first?.etag).toMatch(/^(W\/)?".+"$/);
        expect(first?.lastModified).toBeInstanceOf(Date);
      });

      it('lists a name prefix, and nothing for an unknown prefix', async () => {
        if (!fx.backend.capabilities.list) return;
        expect((await listed(fx.pathOf('sm'))).map((e) => e.path)).toEqual([fx.pathOf('small.txt')]);
        expect(await listed(fx.pathOf('no-such-prefix'))).toEqual([]);
      });

      it('lists one level when not recursive, and a directory prefix', async () => {
        if (!fx.backend.capabilities.list || fx.slashInQueryRejected) return;
        expect(await listed(fx.pathOf('list/'), false)).toEqual([
          { path: fx.pathOf('list/a-c'), size: 8 },
          { path: fx.pathOf('list/b'), size: 6 },
        ]);
        expect((await listed(fx.pathOf('list/a/'))).map((e) => e.path)).toEqual([fx.pathOf('list/a/1'), fx.pathOf('list/a/2')]);
        expect(await listed(fx.pathOf('no-such-prefix/'))).toEqual([]);
      });

      it('lists every object from the empty prefix, the empty one included', async () => {
        if (!fx.backend.capabilities.list) return;
        const all = await listed('');
        const paths = all.map((e) => e.path);
        expect([...paths].sort()).toEqual(paths);
        expect(all).toContainEqual({ path: fx.pathOf('empty.bin'), size: 0 });
        expect(all).toContainEqual({ path: fx.pathOf('data.bin'), size: data.byteLength });
      });

      it('rejects a listing with Aborted when the signal has already fired', async () => {
        if (!fx.backend.capabilities.list) return;
        const ac = new AbortController();
        ac.abort();
        await expectKind((fx.backend.listPage as NonNullable<Backend['listPage']>)('', { signal: ac.signal }), 'Aborted');
      });
    });
  });
}
