/**
 * The `(url, options)` or `(backend, path, options)` argument convention of every `open*` function,
 * resolved in one place.
 */
import { ReaderError } from '../errors.js';
import type { Backend } from '../types.js';
import { backendFromUrl, type BackendFromUrlOptions } from './url.js';

export interface OpenTarget<O> {
  backend: Backend;
  path: string;
  options: O;
  /** The URL, when opened by one (it names the object across backend instances, e.g. for caches). */
  url?: string;
}

/** Resolves `fn(url, options?)` or `fn(backend, path, options?)`; `InvalidInput` for a backend without a path. */
export function openTarget<O extends { url?: BackendFromUrlOptions }>(
  fn: string,
  backendOrUrl: Backend | string,
  pathOrOptions: string | O | undefined,
  maybeOptions: O | undefined,
): OpenTarget<O> {
  if (typeof backendOrUrl === 'string') {
    const options = ((typeof pathOrOptions === 'object' ? pathOrOptions : maybeOptions) ?? {}) as O;
    const { backend, path } = backendFromUrl(backendOrUrl, options.url);
    return { backend, path, options, url: backendOrUrl };
  }
  if (typeof pathOrOptions !== 'string') {
    throw new ReaderError('InvalidInput', `${fn}(backend, path, options) needs a path`, { op: 'open' }, { code: 'INVALID_ARGUMENT' });
  }
  return { backend: backendOrUrl, path: pathOrOptions, options: (maybeOptions ?? {}) as O };
}
