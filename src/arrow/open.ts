/**
 * `openArrowFileHandle`: an Arrow IPC file from a URL (or a backend + path) as the file handle
 * apache-arrow's `RecordBatchReader.from` takes. One suffix GET of the tail window gives the size
 * (Content-Range: no HEAD) and the footer; the footer names every dictionary and record batch, so
 * when apache-arrow asks for bytes that are not buffered, the blocks from there on go out as one
 * planned wave (up to half the memory budget) instead of ~4 small reads per batch.
 */
import type { ArrowFileHandle } from '../adapters/arrow-ipc.js';
import { openTarget } from '../backends/target.js';
import type { BackendFromUrlOptions } from '../backends/url.js';
import { BufferReader, type BufferReaderOptions } from '../buffer-reader/buffer-reader.js';
import { unionRanges, type Span } from '../buffer-reader/coalesce.js';
import type { ErrorContext } from '../errors.js';
import { extendSuffix, readSuffix } from '../parquet/footer.js';
import { checkExpectation, openWindow, type ReadExpectation } from '../parquet/open.js';
import type { Backend } from '../types.js';
import { ARROW_FOOTER_TRAILER, arrowFooterLength, parseArrowFooter, type ArrowFooter } from './footer.js';

export interface OpenArrowOptions {
  /** Bytes of the first (suffix) GET; default DEFAULT_FOOTER_WINDOW, the Parquet open's window. */
  footerSizeHint?: number;
  /**
   * What the caller will read, as `openParquet`'s option: `'whole'` (every batch) makes the open's
   * one suffix GET ask for the whole-read window (`openWindow`: the reader's merge gap, ≈ 1.9 MiB
   * with the defaults), so a file that fits is read in that one GET. Default `'part'`: the tail window.
   */
  expect?: ReadExpectation;
  /** Options of the BufferReader that serves the reads (maxMemory, concurrency, ...). */
  reader?: Omit<BufferReaderOptions, 'size' | 'etag' | 'lastModified' | 'signal'>;
  /** Options for `backendFromUrl` when opening by URL. */
  url?: BackendFromUrlOptions;
  signal?: AbortSignal;
}

/** The handle, with the reader behind it (stats, request list with `reader: { metrics: true }`) and the parsed footer. */
export interface OpenedArrowFile extends ArrowFileHandle {
  readonly size: number;
  readonly reader: BufferReader;
  readonly footer: ArrowFooter;
}

/**
 * Opens an Arrow IPC file: `await RecordBatchReader.from(await openArrowFileHandle(url))`.
 * `openArrowFileHandle(url, options?)` or `openArrowFileHandle(backend, path, options?)`. A file
 * that is not Arrow IPC (no `ARROW1` at the end, a corrupt footer, a block outside the file) is
 * `InvalidData` before any read. `close()` releases the buffer.
 */
export async function openArrowFileHandle(backendOrUrl: Backend | string, pathOrOptions?: string | OpenArrowOptions, maybeOptions?: OpenArrowOptions): Promise<OpenedArrowFile> {
  const { backend, path, options } = openTarget<OpenArrowOptions>('openArrowFileHandle', backendOrUrl, pathOrOptions, maybeOptions);
  const context: ErrorContext = { backend: backend.kind, op: 'open', path };
  checkExpectation(options.expect, context);
  const window = Math.max(ARROW_FOOTER_TRAILER, Math.floor(openWindow(options)));
  const first = await readSuffix(backend, path, window, options.signal);
  const size = first.meta.size;
  const length = arrowFooterLength(first.bytes, size, context);
  const tail = await extendSuffix(backend, path, first, length, options.signal);
  const footer = await parseArrowFooter(tail.bytes, size, context);
  const reader = new BufferReader(backend, path, {
    ...options.reader,
    size,
    ...(tail.meta.etag ? { etag: tail.meta.etag } : {}),
    ...(tail.meta.lastModified ? { lastModified: tail.meta.lastModified } : {}), // pinned when there is no strong ETag
    ...(options.signal ? { signal: options.signal } : {}),
  });
  reader.insert(tail.offset, tail.bytes);
  return arrowHandle(reader, size, footer, { offset: tail.offset, length: tail.bytes.byteLength });
}

/** The handle over a reader: each read that leaves what is planned plans the next wave of blocks. */
function arrowHandle(reader: BufferReader, size: number, footer: ArrowFooter, held: Span): OpenedArrowFile {
  // Everything planned so far (held or prefetched): sorted, disjoint.
  let planned: Span[] = [held];
  let nextBlock = 0;
  const waveBytes = Math.max(1, Math.floor((reader.caps().maxMemory ?? reader.blockCap) / 2));
  const isPlanned = (from: number, to: number) => planned.some((p) => p.offset <= from && to <= p.offset + p.length);
  const plan = (from: number, to: number): void => {
    if (isPlanned(from, to)) return;
    const wave: Span[] = [{ offset: from, length: to - from }];
    const { blocks } = footer;
    while (nextBlock < blocks.length && (blocks[nextBlock] as Span).offset + (blocks[nextBlock] as Span).length <= from) nextBlock++;
    let bytes = to - from;
    while (nextBlock < blocks.length) {
      const b = blocks[nextBlock] as Span;
      if (bytes + b.length > waveBytes && wave.length > 1) break;
      wave.push(b);
      bytes += b.length;
      nextBlock++;
    }
    planned = unionRanges([...planned, ...wave]);
    // Failures surface in the read that waits for these bytes; a prefetch refused for room is refetched on demand.
    reader.prefetch(wave).catch(() => undefined);
  };
  return {
    fd: -1,
    size,
    reader,
    footer,
    stat: async () => ({ size }),
    async read(buffer, offset, length, position) {
      const n = Math.max(0, Math.min(length, buffer.byteLength - offset, size - position));
      if (n === 0) return { bytesRead: 0, buffer };
      plan(position, position + n);
      const bytes = await reader.readAt(position, n);
      buffer.set(bytes, offset);
      return { bytesRead: bytes.byteLength, buffer };
    },
    close: () => reader.close(),
  };
}
