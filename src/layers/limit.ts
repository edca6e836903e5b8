import { observeBody } from '../body.js';
import { ReaderError } from '../errors.js';
import { listMembers } from '../list.js';
import type { Backend, ByteRange, ListPageOptions, ObjectMeta, ReadOptions, ReadResponse, StatOptions } from '../types.js';
import { Semaphore } from './semaphore.js';

export interface LimitOptions {
  /** Requests in flight at once. A `read` holds its permit until its body is consumed, fails or is abandoned. */
  concurrency: number;
}

/**
 * Bounds the requests in flight, first come first served. Like a socket, a read's permit is held
 * while its body is open: consume it to the end or stop iterating (`break`/`return()`) to release it.
 * A listing page holds a permit while it is asked for.
 */
export function withLimit(inner: Backend, options: LimitOptions): Backend {
  const n = options?.concurrency;
  if (!Number.isSafeInteger(n) || n < 1) {
    throw new ReaderError('InvalidInput', 'withLimit needs concurrency >= 1', { backend: inner.kind }, { code: 'INVALID_ARGUMENT' });
  }
  const sem = new Semaphore(n);

  async function stat(path: string, opts: StatOptions = {}): Promise<ObjectMeta> {
    const release = await sem.acquire(opts.signal, { backend: inner.kind, op: 'stat', path });
    try {
      return await inner.stat(path, opts);
    } finally {
      release();
    }
  }

  async function read(path: string, range: ByteRange, opts: ReadOptions = {}): Promise<ReadResponse> {
    const release = await sem.acquire(opts.signal, { backend: inner.kind, op: 'read', path, range });
    let res: ReadResponse;
    try {
      res = await inner.read(path, range, opts);
    } catch (err) {
      release();
      throw err;
    }
    if (res.range.length === 0) {
      release();
      return res;
    }
    // Released when the body ends, fails or is given up — also before its first chunk (a generator
    // given up then never ran its `finally`, and the permit was lost for good).
    return { ...res, body: observeBody(res.body, { close: release }) };
  }

  const list = listMembers(inner, (page) => async (prefix: string, opts: ListPageOptions = {}) => {
    const release = await sem.acquire(opts.signal, { backend: inner.kind, op: 'list', path: prefix });
    try {
      return await page(prefix, opts);
    } finally {
      release();
    }
  });

  return { kind: inner.kind, capabilities: inner.capabilities, stat, read, ...list };
}
