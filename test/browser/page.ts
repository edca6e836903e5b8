/**
 * The page's script: bundled by esbuild for the browser from the package itself
 * (`import ... from 'buffered-range-reader'`, resolved through its exports with the browser
 * conditions), then driven by test/browser/browser.test.ts through `window.brr`.
 */
import { fetchBackend, isReaderError, openParquet, type ReaderError } from 'buffered-range-reader';

/** JSON for values the decoders return (BigInt, Date, typed arrays). */
function plain(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => {
      if (typeof v === 'bigint') return `${v}n`;
      if (v instanceof Date) return v.toISOString();
      if (ArrayBuffer.isView(v) && !(v instanceof DataView)) return Array.from(v as unknown as ArrayLike<number>);
      return v;
    }),
  );
}

function errorInfo(err: unknown): { readerError: boolean; kind?: string; code?: string; message: string } {
  if (isReaderError(err)) return { readerError: true, kind: (err as ReaderError).kind, code: err.code, message: err.message };
  return { readerError: false, message: String(err) };
}

const api = {
  /** openParquet(url) → readObjects and readTable; the rows, the table's columns and the reader's own request count. */
  async read(url: string, noIfMatch = false) {
    try {
      const source = noIfMatch ? await openParquet(fetchBackend({ ifMatch: false }), url, { metadataCache: false }) : await openParquet(url, { metadataCache: false });
      const objects = await source.readObjects();
      const table = await source.readTable();
      const columns: Record<string, unknown> = {};
      for (const field of table.schema.fields) columns[field.name] = plain([...(table.getChild(field.name) ?? [])]);
      const result = { ok: true as const, rows: plain(objects), numRows: table.numRows, columns, openRequests: source.openRequests };
      await source.close();
      return result;
    } catch (err) {
      return { ok: false as const, error: errorInfo(err) };
    }
  },
  /** One read through fetchBackend, with or without If-Match: what it costs in preflights is on the server's log. */
  async rawRead(url: string, range: { offset: number; length: number } | { suffix: number }, ifMatch?: string) {
    try {
      const res = await fetchBackend().read(url, range, ifMatch ? { ifMatch } : {});
      let bytes = 0;
      for await (const chunk of res.body) bytes += chunk.byteLength;
      return { ok: true as const, bytes, size: res.meta.size, etag: res.meta.etag ?? null };
    } catch (err) {
      return { ok: false as const, error: errorInfo(err) };
    }
  },
  /** A decode that cannot finish settles through the timeout; an aborted one through the signal. */
  async guarded(url: string) {
    const source = await openParquet(url, { metadataCache: false });
    const controller = new AbortController();
    const aborted = source.readTable({ signal: controller.signal }).then(
      () => 'resolved',
      (err: unknown) => errorInfo(err),
    );
    controller.abort();
    return { aborted: await aborted };
  },
};

(globalThis as unknown as { brr: typeof api }).brr = api;
(globalThis as unknown as { brrReady: boolean }).brrReady = true;
