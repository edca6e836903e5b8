/**
 * The Node entry (`node` export condition, or `buffered-range-reader/node`): everything the default
 * entry has, with the Node-only parts installed (see src/runtime-node.ts) and exported.
 */
import './runtime-node.js';

export * from './index.js';
export { fsBackend, type FsBackendOptions } from './backends/fs/backend.js';
export { httpBackend, HTTP_MAX_REDIRECTS, type HttpBackendOptions } from './backends/http/backend.js';
export { HTTP_CONNECTIONS_PER_ORIGIN, HTTP_KEEP_ALIVE_MS, createDispatcher, sharedDispatcher } from './backends/http/pool.js';
export { DECODER_IDLE_TIMEOUT_MS, DECODER_IDLE_WORKERS, DECODER_MAX_WORKERS } from './parquet/decode-worker.js';
