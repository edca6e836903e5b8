/**
 * ParsedFooter and the lazy full metadata: an open of the wide fixture (a 166 KiB footer) and a plan
 * without a filter read only the footer's layout — hyparquet's `parquetMetadata` runs on the few
 * head fields, never on the whole footer — and the full metadata is parsed once, on first use, and
 * shared by warm opens through the footer cache. Counted by wrapping hyparquet's `parquetMetadata`.
 */
import { deserialize, serialize } from 'node:v8';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

const parsedLengths = vi.hoisted(() => [] as number[]);
vi.mock('hyparquet', async (importOriginal) => {
  const real = await importOriginal<typeof import('hyparquet')>();
  return {
    ...real,
    parquetMetadata: (footer: ArrayBuffer | Uint8Array, options?: Parameters<typeof real.parquetMetadata>[1]) => {
      parsedLengths.push(footer.byteLength);
      return real.parquetMetadata(footer, options);
    },
  };
});

const { parquetMetadata } = await import('hyparquet');
const { FIXTURES, fixture } = await import('../../bench/fixtures.js');
const { ObjectServer } = await import('../../bench/object-server.js');
const { httpBackend } = await import('../../src/backends/http/backend.js');
const { withMetrics } = await import('../../src/layers/metrics.js');
const { createMetadataCache } = await import('../../src/parquet/cache.js');
const { DEFAULT_FOOTER_WINDOW, readTail } = await import('../../src/parquet/footer.js');
const { hyparquetMetadata } = await import('../../src/parquet/footer-layout.js');
const { ParsedFooter, columnChunkRanges, pageIndexRange } = await import('../../src/parquet/metadata.js');
const { memoryBackend } = await import('../../src/backends/memory/backend.js');
const { openParquet } = await import('../../src/parquet/source.js');
const { SHAPED_ROWS, shapedParquet } = await import('../support/parquet-files.js');

let server: InstanceType<typeof ObjectServer>;
let wide: Uint8Array;
let footerLength: number;
/** Footers parsed whole since the last call (the head-only parses are a few KiB). */
const fullParses = () => parsedLengths.splice(0).filter((n) => n === footerLength).length;

beforeAll(async () => {
  wide = await fixture(FIXTURES.wide);
  footerLength = new DataView(wide.buffer, wide.byteOffset).getUint32(wide.byteLength - 8, true) + 8;
  server = await new ObjectServer().start();
  server.put('wide.parquet', wide);
}, 120_000);
afterAll(() => server.stop());

describe('ParsedFooter', () => {
  it('has the layout at once and hyparquet\'s FileMetaData on first use, parsed once', async () => {
    const tail = await readTail(memoryBackend({ f: wide }), 'f');
    parsedLengths.length = 0;
    const footer = ParsedFooter.read(tail, {});
    expect(footer.parsed).toBe(false);
    // One parse by hyparquet: of the head fields alone (version, schema, num_rows, key/value metadata).
    expect(parsedLengths).toHaveLength(1);
    expect(parsedLengths[0]).toBeLessThan(footerLength / 5); // the rest is row groups (the head holds the ARROW:schema)
    expect(fullParses()).toBe(0);
    expect(footer.bytes.byteLength).toBe(footerLength); // only the footer is kept, not the whole tail window
    expect(columnChunkRanges(footer.layout, wide.byteLength, tail.metadataLength, {})).toHaveLength(4);
    const metadata = footer.metadata;
    expect(footer.parsed).toBe(true);
    expect(fullParses()).toBe(1);
    expect(footer.metadata).toBe(metadata);
    expect(fullParses()).toBe(0);
    expect(metadata).toEqual(hyparquetMetadata(wide.subarray(wide.byteLength - footerLength)));
    expect(metadata).toEqual(parquetMetadata(wide.subarray(wide.byteLength - footerLength)));
  });

  it('a corrupt footer is METADATA_CORRUPT at read, as an eager parse is', async () => {
    const bad = wide.slice();
    bad.fill(0xff, bad.byteLength - footerLength + 100, bad.byteLength - footerLength + 120);
    const tail = await readTail(memoryBackend({ f: bad }), 'f');
    expect(() => ParsedFooter.read(tail, { path: 'f' })).toThrow(expect.objectContaining({ kind: 'InvalidData', code: 'METADATA_CORRUPT' }));
  });
});

describe('openParquet on a wide file: planning never waits for the full metadata', () => {
  it('open, plan and prefetch a projection: the same 2 round trips, and no full parse until `metadata` is used', async () => {
    const backend = withMetrics(httpBackend({ baseUrl: server.url }));
    parsedLengths.length = 0;
    const source = await openParquet(backend, 'wide.parquet', { metadataCache: false });
    expect(source.columns).toHaveLength(320);
    expect(source.rowGroups.map((g) => g.numRows)).toEqual([200, 200, 200, 200]);
    const plan = source.plan({ columns: ['c013_qty', 'c250_label'] });
    expect(plan.chunks).toHaveLength(8);
    await source.prefetch(plan);
    expect(fullParses()).toBe(0);
    expect(backend.metrics.snapshot().roundTrips).toBe(2);
    const rows = await source.readObjects({ columns: ['c013_qty', 'c250_label'] }); // hyparquet needs the FileMetaData
    expect(rows).toHaveLength(800);
    expect(fullParses()).toBe(1);
    expect(backend.metrics.snapshot().roundTrips).toBe(2); // everything was prefetched
    await source.close();
  });

  it('a filter needs statistics: its plan parses the full metadata (once)', async () => {
    const source = await openParquet(httpBackend({ baseUrl: server.url }), 'wide.parquet', { metadataCache: false });
    parsedLengths.length = 0;
    const plan = source.plan({ columns: ['c013_qty'], filter: { column: 'id', lt: 200 } });
    expect(plan.rowGroups).toEqual([0]);
    source.plan({ filter: { column: 'id', gte: 600 } });
    expect(fullParses()).toBe(1);
    await source.close();
  });

  it('the footer cache shares one lazy parse between a cold and a warm open', async () => {
    const cache = createMetadataCache();
    const backend = withMetrics(httpBackend({ baseUrl: server.url }));
    parsedLengths.length = 0;
    const cold = await openParquet(backend, 'wide.parquet', { metadataCache: cache });
    const warm = await openParquet(backend, 'wide.parquet', { metadataCache: cache });
    expect(warm.openRequests).toBe(0);
    expect(warm.plan({ columns: ['c013_qty'] }).chunks).toHaveLength(4);
    expect(fullParses()).toBe(0);
    expect(warm.metadata).toBe(cold.metadata);
    expect(fullParses()).toBe(1);
    await cold.close();
    await warm.close();
  });
});

/** A MetadataCache that keeps copies, as one in IndexedDB or another thread does: each `set` and `get` goes through `copy`. */
function copyingCache(copy: <T>(v: T) => T) {
  const store = new Map<string, unknown>();
  return {
    store,
    get: (k: string) => (store.has(k) ? copy(store.get(k)) : undefined) as never,
    set: (k: string, v: unknown) => store.set(k, copy(v)),
    delete: (k: string) => store.delete(k),
  };
}

describe('a footer cache that stores copies (structured clone, v8.serialize)', () => {
  it.each([
    ['structuredClone', <T>(v: T): T => structuredClone(v)],
    ['v8.serialize', <T>(v: T): T => deserialize(serialize(v)) as T],
  ])('%s: the entry is data only (no full parse to store it); a warm open costs no request and reads the copy\'s footer again; a replaced object is forgotten and re-read', async (_, copy) => {
    const cache = copyingCache(copy);
    const backend = httpBackend({ baseUrl: server.url });
    server.put('copied.parquet', wide);
    parsedLengths.length = 0;
    const cold = await openParquet(backend, 'copied.parquet', { metadataCache: cache });
    await cold.close();
    expect(fullParses()).toBe(0);
    const [stored] = [...cache.store.values()] as Record<string, unknown>[];
    expect(Object.keys(stored ?? {}).sort()).toEqual(['etag', 'footer', 'lastModified', 'metadataLength', 'size'].filter((k) => stored?.[k] !== undefined).sort());
    expect((stored?.footer as Uint8Array).byteLength).toBe(footerLength);

    const sent = server.requests.length;
    const warm = await openParquet(backend, 'copied.parquet', { metadataCache: cache });
    expect(warm.openRequests).toBe(0);
    expect(warm.plan({ columns: ['c013_qty'] }).chunks).toHaveLength(4);
    expect(fullParses()).toBe(0);
    const reference = await openParquet(memoryBackend({ f: wide }), 'f', { metadataCache: false });
    expect(await warm.readObjects({ columns: ['c013_qty'] })).toEqual(await reference.readObjects({ columns: ['c013_qty'] }));
    expect(server.requests.slice(sent).every((r) => r.status === 206)).toBe(true);
    await warm.close();

    // Another version of the object: the warm open's first data request is refused (If-Match), the copy is forgotten, the call re-opens.
    const renamed = sameName(wide, 'c025_qty', 'c013_qty');
    server.put('copied.parquet', renamed);
    const stale = await openParquet(backend, 'copied.parquet', { metadataCache: cache });
    expect(stale.openRequests).toBe(0);
    const before = server.requests.length;
    const rows = await stale.readObjects({ columns: ['c013_qty'] });
    expect(rows).toHaveLength(800);
    const log = server.requests.slice(before);
    expect(log[0]?.status).toBe(412);
    expect(log.some((r) => r.range === `bytes=-${DEFAULT_FOOTER_WINDOW}` && r.status === 206)).toBe(true);
    await stale.close();
    const fresh = await openParquet(backend, 'copied.parquet', { metadataCache: cache });
    expect(fresh.openRequests).toBe(0);
    expect(fresh.columns.filter((c) => c === 'c013_qty')).toHaveLength(2); // the new version's footer
    await fresh.close();
    await reference.close();
  });
});

/** The wide fixture with column `name`'s path_in_schema renamed in every row group (its schema element kept): a chunk no schema node names. */
/** Where a column's name is in the wide file's footer: its schema element, then its path in each of the 4 row groups. */
function nameAt(bytes: Uint8Array, name: string): number[] {
  const needle = new TextEncoder().encode(name);
  const at: number[] = [];
  for (let i = bytes.byteLength - footerLength; i <= bytes.byteLength - needle.byteLength; i++) {
    if (needle.every((b, k) => bytes[i + k] === b)) at.push(i);
  }
  expect(at).toHaveLength(5);
  return at;
}

function danglingPath(bytes: Uint8Array, name: string): Uint8Array {
  const out = bytes.slice();
  for (const i of nameAt(out, name).slice(1)) out[i + name.length - 1] = 0x5a; // 'c250_label' -> 'c250_labeZ'
  return out;
}

/** The column `from` renamed `to` (same length) in its schema element and its paths: two leaves of one name. */
function sameName(bytes: Uint8Array, from: string, to: string): Uint8Array {
  const out = bytes.slice();
  for (const i of nameAt(out, from)) out.set(new TextEncoder().encode(to), i);
  return out;
}

describe("an open reads a chunk's ColumnMetaData when a plan first takes it", () => {
  it('a chunk no schema node names, in one column: plans of the others read and decode; a plan of it and columnChunks are METADATA_CORRUPT with no request, readObjects (the full metadata) too', async () => {
    server.put('dangling.parquet', danglingPath(wide, 'c250_label'));
    const source = await openParquet(httpBackend({ baseUrl: server.url }), 'dangling.parquet', { metadataCache: false });
    const sent = server.requests.length;
    const plan = source.plan({ columns: ['c013_qty'] });
    expect(plan.chunks.map((c) => c.column)).toEqual(['c013_qty', 'c013_qty', 'c013_qty', 'c013_qty']);
    const corrupt = expect.objectContaining({ kind: 'InvalidData', code: 'METADATA_CORRUPT', message: expect.stringContaining('column chunk c250_labeZ of row group 0 is not in the schema') });
    expect(() => source.plan({ columns: ['c250_label'] })).toThrow(corrupt);
    expect(() => source.columnChunks).toThrow(corrupt);
    expect(() => source.rowGroups[0]?.bytes).toThrow(corrupt);
    expect(server.requests.length).toBe(sent);
    await expect(source.readObjects({ columns: ['c013_qty'] })).rejects.toMatchObject({ code: 'METADATA_CORRUPT' }); // hyparquet takes the full metadata
    const table = await source.readTable({ columns: ['c013_qty'] });
    const reference = await openParquet(memoryBackend({ f: wide }), 'f', { metadataCache: false });
    const expected = await reference.readObjects({ columns: ['c013_qty'] });
    expect(table.numRows).toBe(800);
    expect([...(table.getChild('c013_qty') ?? [])]).toEqual(expected.map((r) => r.c013_qty));
    await reference.close();
    await source.close();
  });

  it('a footer a later check finds corrupt leaves the cache: once the object is fixed, the next open reads it again and plans every column', async () => {
    server.put('fixable.parquet', danglingPath(wide, 'c250_label'));
    const cache = createMetadataCache();
    const backend = httpBackend({ baseUrl: server.url });
    const first = await openParquet(backend, 'fixable.parquet', { metadataCache: cache });
    expect(() => first.plan({ columns: ['c250_label'] })).toThrow(expect.objectContaining({ code: 'METADATA_CORRUPT' }));
    await first.close();
    server.put('fixable.parquet', wide); // the writer mends the object
    const sent = server.requests.length;
    const second = await openParquet(backend, 'fixable.parquet', { metadataCache: cache });
    expect(server.requests.slice(sent).map((r) => `${r.method} ${r.range}`)).toEqual([`GET bytes=-${DEFAULT_FOOTER_WINDOW}`]);
    expect(second.plan({ columns: ['c250_label'] }).chunks.map((c) => c.column)).toEqual(Array(4).fill('c250_label'));
    await second.close();
  });

  it('readObjects on a footer hyparquet rejects, once the object is replaced by a sound one: the wave finds the change and the call moves to the new version (not METADATA_CORRUPT)', async () => {
    server.put('replaced.parquet', danglingPath(wide, 'c250_label'));
    const source = await openParquet(httpBackend({ baseUrl: server.url }), 'replaced.parquet', { metadataCache: false });
    server.put('replaced.parquet', wide);
    const sent = server.requests.length;
    const rows = await source.readObjects({ columns: ['c013_qty'] });
    const reference = await openParquet(memoryBackend({ f: wide }), 'f', { metadataCache: false });
    expect(rows).toEqual(await reference.readObjects({ columns: ['c013_qty'] }));
    const log = server.requests.slice(sent);
    // The old version's wave: every request answered 412 (If-Match); then the re-open's tail GET, and the new version's wave.
    const refused = log.findIndex((r) => r.status !== 412);
    expect(refused).toBeGreaterThan(0);
    expect(log.slice(refused).map((r) => `${r.method} ${r.status}`)[0]).toBe('GET 206');
    expect(log[refused]?.range).toBe(`bytes=-${DEFAULT_FOOTER_WINDOW}`);
    expect(log.slice(refused).every((r) => r.status === 206)).toBe(true);
    await reference.close();
    await source.close();
  });

  it('two leaves of one name: a plan of it takes both chunks of every row group, as columnChunks has them', async () => {
    const source = await openParquet(memoryBackend({ f: sameName(wide, 'c025_qty', 'c013_qty') }), 'f', { metadataCache: false });
    expect(source.columns.filter((c) => c === 'c013_qty')).toHaveLength(2);
    const fresh = source.plan({ columns: ['c013_qty'] }).chunks;
    expect(fresh).toHaveLength(8);
    expect(fresh).toEqual(source.columnChunks.flat().filter((c) => c.column === 'c013_qty').sort((a, b) => a.offset - b.offset));
    await source.close();
  });

  it('the same chunk read twice is one read: a plan takes the range a previous plan read', async () => {
    const source = await openParquet(memoryBackend({ f: wide }), 'f', { metadataCache: false });
    const first = source.plan({ columns: ['c013_qty'] }).chunks;
    const again = source.plan({ columns: ['c013_qty', 'c250_label'] }).chunks.filter((c) => c.column === 'c013_qty');
    expect(again).toHaveLength(4);
    again.forEach((c, i) => expect(c).toBe(first[i]));
    // ...and the full list holds the same objects, with every other chunk's.
    expect(source.columnChunks.flat()).toHaveLength(1280);
    expect(source.columnChunks.flat().filter((c) => c.column === 'c013_qty')).toEqual(first);
    expect(source.columnChunks[0]?.[13]).toBe(first[0]);
    await source.close();
  });
});

describe('pageIndexRange: the span of every column and offset index, in one pass', () => {
  type Chunk = { column_index_offset?: number | bigint; column_index_length?: number | bigint; offset_index_offset?: number | bigint; offset_index_length?: number | bigint };
  const layout = (groups: Chunk[][]) => ({
    schema: [],
    num_rows: 0,
    row_groups: groups.map((columns) => ({ num_rows: 1, columns: columns.map((c, i) => ({ ...c, meta_data: { path_in_schema: [`c${i}`], total_compressed_size: 1, data_page_offset: 4 } })) })),
  });

  it('spans the lowest entry to the highest end across row groups, column and offset indexes alike; bigint entries too; half-given entries are none', () => {
    const l = layout([
      [{ column_index_offset: 500, column_index_length: 20 }, { offset_index_offset: 700, offset_index_length: 30 }],
      [{ column_index_offset: 400n, column_index_length: 10n, offset_index_offset: 800n, offset_index_length: 50n }, { column_index_offset: 100 }],
    ]);
    expect(pageIndexRange(l, 10_000, 100, {})).toEqual({ offset: 400, length: 450 });
  });

  it('is undefined for a file without a page index (no entries, or only empty ones)', () => {
    expect(pageIndexRange(layout([[{}, {}], [{}]]), 10_000, 100, {})).toBeUndefined();
    expect(pageIndexRange(layout([[{ offset_index_offset: 600, offset_index_length: 0 }]]), 10_000, 100, {})).toBeUndefined();
  });

  it('an entry outside the data region is CHUNK_OUT_OF_FILE naming its row group and column, before anything is fetched', () => {
    const past = layout([[{}], [{}, { offset_index_offset: 9_850, offset_index_length: 100 }]]); // data ends at 10,000 - 100 - 8
    expect(() => pageIndexRange(past, 10_000, 100, { op: 'open', path: 'f' })).toThrow(
      expect.objectContaining({ kind: 'InvalidData', code: 'CHUNK_OUT_OF_FILE', context: expect.objectContaining({ rowGroup: 1, column: 'c1' }) }),
    );
    expect(() => pageIndexRange(layout([[{ column_index_offset: 2, column_index_length: 1 }]]), 10_000, 100, {})).toThrow(expect.objectContaining({ code: 'CHUNK_OUT_OF_FILE' }));
    expect(() => pageIndexRange(layout([[{ column_index_offset: 2n ** 60n, column_index_length: 1 }]]), 10_000, 100, {})).toThrow(expect.objectContaining({ code: 'CHUNK_OUT_OF_FILE' }));
  });

  it('on the wide footer (1,280 chunks) it agrees with hyparquet\'s full metadata', async () => {
    const tail = await readTail(memoryBackend({ w: wide }), 'w');
    const footer = ParsedFooter.read(tail, {});
    expect(pageIndexRange(footer.layout, wide.byteLength, tail.metadataLength, {})).toEqual(pageIndexRange(footer.metadata, wide.byteLength, tail.metadataLength, {}));
  });
});


describe('footers of other shapes (as other writers make them)', () => {
  const pick = (column: 'a' | 'b') => SHAPED_ROWS.map((r) => ({ [column]: r[column] }));

  it("a row group listing its chunks out of schema order (the format forbids it): plans take each column's own chunks and readObjects (hyparquet, by path) reads right; parquet-wasm reads by position, so readTable and readBatches are METADATA_CORRUPT, never another column's values", async () => {
    // Row group 2 lists b before a; the others keep schema order.
    const file = shapedParquet((f) => f.row_groups[2]?.columns.reverse());
    for (const expect_ of ['part', 'whole'] as const) {
      const source = await openParquet(memoryBackend({ f: file }), 'f', { metadataCache: false, expect: expect_ });
      expect(source.columns).toEqual(['a', 'b']);
      for (const column of ['a', 'b'] as const) {
        const chunks = source.plan({ columns: [column] }).chunks;
        const expected = source.metadata.row_groups.map((rg) => rg.columns.find((c) => c.meta_data?.path_in_schema.join('.') === column));
        expect(chunks.map((c) => [c.column, c.offset, c.length])).toEqual(expected.map((c) => [column, Number(c?.meta_data?.dictionary_page_offset ?? c?.meta_data?.data_page_offset), Number(c?.meta_data?.total_compressed_size)]));
        expect(await source.readObjects({ columns: [column] })).toEqual(pick(column));
      }
      expect(await source.readObjects()).toEqual(SHAPED_ROWS);
      const outOfOrder = expect.objectContaining({ kind: 'InvalidData', code: 'METADATA_CORRUPT', message: expect.stringContaining("row group 2 has column b's chunk at position 0, where the schema has a") });
      await expect(source.readTable()).rejects.toThrow(outOfOrder);
      await expect(source.readTable({ columns: ['a'] })).rejects.toThrow(outOfOrder);
      // Row groups in order decode as ever; a batch stream fails at the row group that is not.
      expect([...((await source.readTable({ columns: ['a'], rowGroups: [0, 1, 3] })).getChild('a') ?? [])]).toEqual(SHAPED_ROWS.filter((_, i) => i < 20 || i >= 30).map((r) => r.a));
      const seen: number[] = [];
      await expect(
        (async () => {
          for await (const batch of source.readBatches({ columns: ['b'] })) seen.push(...[...(batch.getChild('b') ?? [])].map(Number));
        })(),
      ).rejects.toThrow(expect.objectContaining({ code: 'METADATA_CORRUPT', message: expect.stringContaining('row group 2') }));
      expect(seen).toEqual(SHAPED_ROWS.slice(0, 20).map((r) => r.b));
      await source.close();
    }
  });

  it('an empty group (num_children 0, no type) is no column: it has no chunks, a plan of it is COLUMN_NOT_FOUND, the columns after it keep their chunks', async () => {
    const file = shapedParquet((f) => {
      f.schema.splice(2, 0, { name: 'e', repetition_type: 'OPTIONAL', num_children: 0 });
      (f.schema[0] as { num_children: number }).num_children = 3;
    });
    const source = await openParquet(memoryBackend({ f: file }), 'f', { metadataCache: false });
    expect(source.columns).toEqual(['a', 'b']);
    expect(() => source.plan({ columns: ['e'] })).toThrow(expect.objectContaining({ kind: 'InvalidInput', code: 'COLUMN_NOT_FOUND' }));
    expect(source.plan({ columns: ['b'] }).chunks.map((c) => c.column)).toEqual(['b', 'b', 'b', 'b']);
    expect(await source.readObjects({ columns: ['b'] })).toEqual(pick('b'));
    await source.close();
  });
});
