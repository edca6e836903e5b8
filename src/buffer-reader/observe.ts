import { observeBody } from '../body.js';
import type { Backend, ByteRange, ReadOptions, ReadResponse } from '../types.js';
import type { CostModel } from './cost-model.js';

/**
 * Feeds a cost model with the timing of every completed read: first byte (headers) and body
 * transfer, measured where it is wrapped — below the reader's concurrency limit, so time spent
 * queueing for a permit is not mistaken for latency. Failed or abandoned reads teach nothing.
 */
export function withCostObserver(inner: Backend, model: CostModel): Backend {
  if (!model.adaptive) return inner;
  async function read(path: string, range: ByteRange, opts?: ReadOptions): Promise<ReadResponse> {
    const start = performance.now();
    const res = await inner.read(path, range, opts);
    const firstByte = performance.now();
    let bytes = 0;
    const body = observeBody(res.body, {
      chunk: (n) => void (bytes += n),
      close: (how) => {
        if (how === 'end') model.observe({ ttfbMs: firstByte - start, bytes, transferMs: performance.now() - firstByte });
      },
    });
    return { ...res, body };
  }
  return { kind: inner.kind, capabilities: inner.capabilities, stat: (path, opts) => inner.stat(path, opts), read };
}
