import { defineConfig } from 'vitest/config';

/** The runtime smoke suite (Bun, Deno, Node 22/24 binaries from the environment): `npm run test:runtimes`, after a build. */
export default defineConfig({
  test: {
    include: ['test/runtimes/smoke.test.ts'],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
