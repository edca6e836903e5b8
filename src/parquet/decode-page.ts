/**
 * parquet-wasm's web build (`parquet-wasm/esm`) in the calling thread: the decoder of the default
 * entry (browsers; Deno and Bun when they load it). The wasm is fetched and compiled once, on the
 * first decode (or `initParquetWasm`). `readTable`'s guard settles every read with a timeout and
 * the AbortSignal even when parquet-wasm panics and its own promise never does.
 *
 * Where the .wasm comes from: with esbuild (`--loader:.wasm=file`) the dynamic import below yields
 * its bundled URL; run unbundled from node_modules (Node, Bun, Deno) it is read from disk; a page
 * importing unbundled ES modules (a CDN) falls back to parquet-wasm's own
 * `new URL('parquet_wasm_bg.wasm', import.meta.url)`. Any other bundler (Vite:
 * `import url from 'parquet-wasm/esm/parquet_wasm_bg.wasm?url'`) calls `initParquetWasm(url)` first.
 */
import { toParquetWasmBlob } from '../adapters/parquet-wasm.js';
import { ReaderError, isReaderError } from '../errors.js';
import type { DecodedIpc, Decoder } from '../runtime.js';

type ParquetWasm = typeof import('parquet-wasm/esm');
/** What parquet-wasm's init takes: a URL, a Response, bytes or a compiled module. */
export type ParquetWasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

let loading: Promise<ParquetWasm> | undefined;

/** The bundler's URL of the .wasm (esbuild's file loader), or undefined when unbundled. */
async function bundledWasmUrl(): Promise<string | undefined> {
  try {
    // @ts-ignore -- a .wasm import is a URL string only under a bundler's file loader; unbundled it throws.
    const mod = (await import('parquet-wasm/esm/parquet_wasm_bg.wasm')) as { default?: unknown };
    if (typeof mod.default !== 'string') return undefined;
    // Bun answers a .wasm import with its file path: outside a page that is for localWasm to read.
    const inPage = typeof (globalThis as { location?: unknown }).location !== 'undefined';
    return !inPage && mod.default.startsWith('/') ? undefined : mod.default;
  } catch {
    return undefined;
  }
}

/**
 * The .wasm's bytes when it is a local file (the default entry run unbundled by Node, Bun or Deno,
 * whose fetch may not read `file:` URLs). The specifier is computed so that no bundler follows it:
 * a page never gets here (its .wasm comes from the bundler or over http).
 */
async function localWasm(): Promise<Uint8Array | undefined> {
  const resolve = (import.meta as { resolve?: (s: string) => string }).resolve;
  if (typeof resolve !== 'function') return undefined;
  let url: URL;
  try {
    const where = resolve('parquet-wasm/esm/parquet_wasm_bg.wasm');
    url = where.startsWith('/') ? new URL(`file://${where}`) : new URL(where); // Bun gives a path
  } catch {
    return undefined;
  }
  if (url.protocol !== 'file:') return undefined;
  const fsModule = ['node', 'fs/promises'].join(':');
  try {
    const fs = (await import(/* @vite-ignore */ fsModule)) as { readFile(u: URL): Promise<Uint8Array> };
    return await fs.readFile(url);
  } catch {
    return undefined;
  }
}

/**
 * Loads and compiles parquet-wasm's web build once. Call it first with the .wasm's URL (or bytes)
 * when your bundler does not hand it over by itself; otherwise the first `readTable` calls it.
 */
export function initParquetWasm(source?: ParquetWasmSource): Promise<ParquetWasm> {
  loading ??= (async () => {
    const pw = await import('parquet-wasm/esm');
    const wasm = source ?? (await bundledWasmUrl()) ?? (await localWasm());
    await pw.default(wasm === undefined ? undefined : { module_or_path: wasm as never });
    return pw;
  })();
  loading.catch(() => {
    loading = undefined; // a failed load (network) may be tried again
  });
  return loading;
}

function decodeError(err: unknown, context: { backend: string; path: string }): ReaderError {
  if (isReaderError(err)) return err;
  return new ReaderError('InvalidData', `parquet-wasm could not decode the file: ${err instanceof Error ? err.message : String(err)}`, { ...context, op: 'decode' }, {
    code: 'INVALID_DATA',
    cause: err,
  });
}

/** The in-page decoder: same contract as the Node worker pool (Arrow IPC bytes out, stage times). */
export const pageDecoder: Decoder = {
  prewarm() {
    initParquetWasm().catch(() => undefined); // the read itself reports a failed load
  },
  read({ size, options, readAt, context, shipped = [], syncOk = false }) {
    let fail!: (err: ReaderError) => void;
    const failed = new Promise<never>((_, reject) => {
      fail = reject;
    });
    const run = async (): Promise<DecodedIpc> => {
      const loadStarted = performance.now();
      const pw = await initParquetWasm();
      const started = performance.now();
      const whole = syncOk ? shipped.find((c) => c.offset === 0 && c.bytes.byteLength === size) : undefined;
      let table: ReturnType<ParquetWasm['readParquet']>;
      if (whole) {
        // The whole object is here: the synchronous reader (it ignores `columns` in 0.8; readTable selects).
        table = pw.readParquet(whole.bytes, { ...(options.rowGroups ? { rowGroups: options.rowGroups } : {}), ...(options.batchSize ? { batchSize: options.batchSize } : {}) });
      } else {
        // Slices are served by the source's buffer (the plan was prefetched); a failed one fails this read.
        const blob = toParquetWasmBlob({ readAt }, size, { onError: (err) => fail(err) });
        const file = await pw.ParquetFile.fromFile(blob as unknown as Blob);
        try {
          table = await file.read(options);
        } finally {
          file.free();
        }
      }
      const decoded = performance.now();
      const ipc = table.intoIPCStream();
      // Nothing crosses a thread: "ship" is the wait for the wasm (its first load and compile).
      return { ipc, shipMs: started - loadStarted, decodeMs: decoded - started, ipcMs: performance.now() - decoded, ranOn: 'in-thread' };
    };
    const promise = Promise.race([run(), failed]).catch((err: unknown) => {
      throw decodeError(err, context);
    });
    promise.catch(() => undefined);
    return { promise, cancel: (err) => fail(err as ReaderError) };
  },
};
