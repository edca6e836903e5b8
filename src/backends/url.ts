import { basename, dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ReaderError } from '../errors.js';
import type { Backend } from '../types.js';
import { fsBackend } from './fs/backend.js';
import { httpBackend, type HttpBackendOptions } from './http/backend.js';

export interface BackendFromUrlOptions {
  /** Options for `http(s)://` URLs. */
  http?: Omit<HttpBackendOptions, 'baseUrl'>;
}

export interface BackendAndPath {
  backend: Backend;
  /** The path to pass to the backend's `stat`/`read`. */
  path: string;
}

/**
 * Picks a backend for a URL:
 * - `http://…`, `https://…` → `httpBackend()`, path = the URL;
 * - `file:///dir/f.parquet` and plain paths (`./f.parquet`, `/dir/f.parquet`) → `fsBackend({ root: dir })`,
 *   path = the file name (the backend cannot reach outside that directory).
 */
export function backendFromUrl(url: string, options: BackendFromUrlOptions = {}): BackendAndPath {
  if (typeof url !== 'string' || url === '') {
    throw new ReaderError('InvalidInput', 'backendFromUrl needs a URL or path');
  }
  const scheme = /^([a-zA-Z][a-zA-Z0-9+.-]*):\/\//.exec(url)?.[1]?.toLowerCase();
  if (scheme === 'http' || scheme === 'https') {
    return { backend: httpBackend(options.http), path: url };
  }
  if (scheme === 'file' || scheme === undefined) {
    let file: string;
    try {
      file = scheme === 'file' ? fileURLToPath(url) : resolve(url);
    } catch (err) {
      throw new ReaderError('InvalidInput', `invalid file URL: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    }
    return { backend: fsBackend({ root: dirname(file) }), path: basename(file) };
  }
  throw new ReaderError('Unsupported', `unsupported URL scheme "${scheme}://" (supported: http, https, file, or a local path)`);
}
