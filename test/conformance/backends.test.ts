import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ObjectServer } from '../../bench/object-server.js';
import { fsBackend } from '../../src/backends/fs/backend.js';
import { httpBackend } from '../../src/backends/http/backend.js';
import { memoryBackend } from '../../src/backends/memory/backend.js';
import { describeConformance } from './suite.js';

describeConformance('memory', async () => {
  const backend = memoryBackend();
  return { backend, kind: 'memory', put: async (k, d) => void backend.put(k, d), pathOf: (k) => k };
});

describeConformance('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'brr-fs-'));
  return {
    backend: fsBackend({ root }),
    kind: 'fs',
    put: async (k, d) => {
      await mkdir(dirname(join(root, k)), { recursive: true });
      await writeFile(join(root, k), d);
    },
    pathOf: (k) => k,
    teardown: () => rm(root, { recursive: true, force: true }),
  };
});

describeConformance('http (baseUrl)', async () => {
  const server = await new ObjectServer().start();
  return {
    backend: httpBackend({ baseUrl: `${server.url}/bucket` }),
    kind: 'http',
    put: async (k, d) => void server.put(`bucket/${k}`, d),
    pathOf: (k) => k,
    teardown: () => server.stop(),
  };
});

describeConformance('http (absolute URLs)', async () => {
  const server = await new ObjectServer().start();
  return {
    backend: httpBackend(),
    kind: 'http',
    put: async (k, d) => void server.put(k, d),
    pathOf: (k) => `${server.url}/${k}`,
    teardown: () => server.stop(),
  };
});
