/**
 * What differs between runtimes, in one place. The default entry (src/index.ts) imports nothing
 * from `node:` and works on WHATWG globals (fetch, WebCrypto, ReadableStream); the Node entry
 * (src/node.ts, picked by the `node` export condition) installs the Node-only parts here when it
 * loads: undici for http(s) and S3, the fs backend for paths, the AWS credential chain, the
 * worker-thread decoder and Node streams. Each field left unset means "the portable way".
 */
import type { ChainLoader } from './backends/s3/credentials.js';
import type { HttpResult } from './backends/http/response.js';
import type { ShippedBytes } from './parquet/shipped.js';
import type { Backend } from './types.js';

/** One HTTP request, as the S3 backend sends it. */
export interface HttpRequest {
  /** `http(s)://host[:port]` */
  origin: string;
  /** The encoded path and query, as it goes on the wire. */
  path: string;
  method: 'GET' | 'HEAD';
  headers: Record<string, string>;
  signal?: AbortSignal;
}

/** Sends a request; rejects with what the client threw (the caller maps it). */
export type HttpTransport = (req: HttpRequest) => Promise<HttpResult>;

/** One parquet-wasm decode: the object's size, what to read, and the bytes that go with it. */
export interface DecodeJob {
  size: number;
  options: { rowGroups?: number[]; columns?: string[]; batchSize?: number };
  /** Serves a range the shipped bytes lack (from the source's buffer, so request counts stay in one place). */
  readAt: (offset: number, length: number) => Promise<Uint8Array>;
  context: { backend: string; path: string };
  /**
   * Bytes sent with the job. The decoder may detach only those marked `owned`; the others may be
   * views of the reader's buffers.
   */
  shipped?: readonly ShippedBytes[];
  /** The synchronous whole-object reader gives the same rows as the async one (the footer's num_rows is consistent). */
  syncOk?: boolean;
}

/** A decode's result: Arrow IPC stream bytes (owned by the caller) and where its time went. */
export interface DecodedIpc {
  ipc: Uint8Array;
  /** Getting the job to the decoder and the IPC bytes back (copy, message, a worker's wake-up or start). */
  shipMs: number;
  /** parquet-wasm's read. */
  decodeMs: number;
  /** parquet-wasm's Arrow IPC serialisation (`intoIPCStream`). */
  ipcMs: number;
  /** Where it ran: a worker that was ready, one that had to start first, or the calling thread. */
  ranOn: 'warm-worker' | 'cold-worker' | 'in-thread';
}

/** The parquet-wasm decoder: a worker-thread pool on Node, the page (or a Web Worker) elsewhere. */
export interface Decoder {
  /** Gets ready now (start a worker, compile the wasm) so that overlaps the caller's I/O. */
  prewarm(): void;
  read(job: DecodeJob): { promise: Promise<DecodedIpc>; cancel(err: Error): void };
}

export interface RuntimeHooks {
  /** Name for messages: `node`, or `portable` (browsers, Deno and Bun through the default entry). */
  name: string;
  /** The http(s) backend `backendFromUrl` builds (options as given to it under `http`). */
  httpBackend?: (options: Record<string, unknown>) => Backend;
  /** `file://` URLs and plain paths → a backend and the path to read. */
  fileBackend?: (url: string) => { backend: Backend; path: string };
  /** The S3 backend's transport, given the backend's `dispatcher` option (undici on Node). */
  s3Transport?: (dispatcher: unknown) => HttpTransport;
  /** The AWS default credential chain (environment, profiles, SSO, IMDS...): Node only. */
  credentialChain?: ChainLoader;
  /** The parquet-wasm decoder. */
  decoder?: () => Decoder;
  /** A Node Readable over a byte iterator (`toNodeReadable`). */
  nodeStream?: (source: AsyncIterable<Uint8Array>) => unknown;
  /** Raises an EventTarget's listener limit (Node warns past 10 listeners on one AbortSignal). */
  setMaxListeners?: (n: number, target: EventTarget) => void;
}

/** The process environment where there is one (Node, Bun, Deno's Node mode); empty in a browser. */
export function processEnv(): Record<string, string | undefined> {
  return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env ?? {};
}

/** The hooks in force: the portable ones until the Node entry installs its own. */
export const runtime: RuntimeHooks = { name: 'portable' };

/** @internal called once by the Node entry. */
export function installRuntime(hooks: RuntimeHooks): void {
  Object.assign(runtime, hooks);
}
