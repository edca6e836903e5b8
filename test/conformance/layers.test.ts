import { memoryBackend } from '../../src/backends/memory/backend.js';
import { withLimit } from '../../src/layers/limit.js';
import { withMetrics } from '../../src/layers/metrics.js';
import { withThrottle } from '../../src/layers/throttle.js';
import { withRetry } from '../../src/layers/retry.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { ObjectServer } from '../../bench/object-server.js';
import { FaultProxy } from '../support/fault-proxy.js';
import type { Backend } from '../../src/types.js';
import { describeConformance } from './suite.js';

function overMemory(name: string, wrap: (b: Backend) => Backend): void {
  describeConformance(name, async () => {
    const inner = memoryBackend();
    return { backend: wrap(inner), kind: 'memory', put: async (k, d) => void inner.put(k, d), pathOf: (k) => k };
  });
}

overMemory('withMetrics(memory)', (b) => withMetrics(b));
overMemory('withLimit(memory, 1)', (b) => withLimit(b, { concurrency: 1 }));
overMemory('withThrottle(memory)', (b) => withThrottle(b, { ttfbMs: 1, bytesPerSecond: 200 * 1024 * 1024 }));
overMemory('all layers composed', (b) => withMetrics(withLimit(withThrottle(b, { ttfbMs: 1 }), { concurrency: 2 })));
overMemory('withRetry(memory)', (b) => withRetry(b));
overMemory('withRetry composed with every layer', (b) => withMetrics(withRetry(withLimit(withThrottle(b, { ttfbMs: 1 }), { concurrency: 2 }), { baseMs: 1 })));
describeConformance('withRetry(http) through the fault proxy', async () => {
  const server = await new ObjectServer().start();
  const proxy = await FaultProxy.start(server.url);
  return {
    backend: withRetry(httpBackend({ baseUrl: proxy.url }), { baseMs: 1 }),
    kind: 'http',
    put: async (k, d) => void server.put(k, d),
    pathOf: (k) => k,
    teardown: async () => {
      await proxy.stop();
      await server.stop();
    },
  };
});
