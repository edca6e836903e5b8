import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real Chromium and other runtimes' binaries: their own configs and scripts (`npm run test:browser`,
    // `npm run test:runtimes`), run by .ci/run.
    exclude: ['test/browser/**', 'test/runtimes/smoke.test.ts', '**/node_modules/**'],
    // Generous: the suite runs on 2 shared cores, three times in CI (Node 20, 24, 22); CLI tests spawn
    // child processes that took 25 s under load where they take 2 s alone. A hang still fails.
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Tests start real servers (HTTP, moto): files run in parallel processes, each with its own ports.
    pool: 'forks',
    // What the Node entry (src/node.ts) installs (the portable entry is tested in test/runtimes and
    // test/browser), and a check of every ReaderError each test file provokes against the README's table of codes.
    setupFiles: ['test/support/node-runtime.ts', 'test/support/error-codes.ts'],
  },
});
