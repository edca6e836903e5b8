/**
 * The Node-only parts, installed into `runtime` (src/runtime.ts) when this module loads: the
 * undici http(s) backend and keep-alive pool (S3 too), the fs backend for `file://` URLs and paths,
 * the AWS default credential chain, the worker-thread parquet-wasm pool and Node streams. Loaded by
 * the Node entry (src/node.ts, the `node` export condition) and by the CLI; never by the default entry.
 */
import { setMaxListeners } from 'node:events';
import { basename, dirname, resolve } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { Dispatcher } from 'undici';
import { fetchTransport } from './backends/fetch/response.js';
import { fsBackend } from './backends/fs/backend.js';
import { httpBackend, type HttpBackendOptions } from './backends/http/backend.js';
import { sharedDispatcher } from './backends/http/pool.js';
import type { HttpResult } from './backends/http/response.js';
import { flowingResult } from './backends/http/undici-body.js';
import type { S3Credentials } from './backends/s3/signer.js';
import { ReaderError } from './errors.js';
import { decoderPool } from './parquet/decode-worker.js';
import { installRuntime } from './runtime.js';

/** `file://` URL or a plain path → an fs backend rooted at its directory, and the file name. */
function fileBackendFor(url: string): { backend: ReturnType<typeof fsBackend>; path: string } {
  let file: string;
  try {
    file = /^file:\/\//i.test(url) ? fileURLToPath(url) : resolve(url);
  } catch (err) {
    throw new ReaderError('InvalidInput', `invalid file URL: ${err instanceof Error ? err.message : String(err)}`, {}, { code: 'INVALID_URL', cause: err });
  }
  return { backend: fsBackend({ root: dirname(file) }), path: basename(file) };
}

installRuntime({
  name: 'node',
  httpBackend: (options) => httpBackend(options as HttpBackendOptions),
  fileBackend: fileBackendFor,
  s3Transport: (given) => {
    const dispatcher = (given as Dispatcher | undefined) ?? sharedDispatcher();
    // Bun answers `import 'undici'` with its own partial module, whose Agent cannot send: use fetch there.
    if (typeof dispatcher.request !== 'function') return fetchTransport();
    // Bodies flow into a bounded queue, as the HTTP backend's do (src/backends/http/undici-body.ts).
    return async (req) => flowingResult((await dispatcher.request({ ...req })) as unknown as HttpResult);
  },
  credentialChain: async () => {
    const { defaultProvider } = await import('@aws-sdk/credential-provider-node');
    return defaultProvider() as () => Promise<S3Credentials>;
  },
  decoder: decoderPool,
  nodeStream: (source) => Readable.from(source, { objectMode: false }),
  setMaxListeners: (n, target) => setMaxListeners(n, target),
});
