import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Tests start real servers (HTTP, moto): files run in parallel processes, each with its own ports.
    pool: 'forks',
    // Checks every ReaderError each test file provokes against the README's table of codes.
    setupFiles: ['test/support/error-codes.ts'],
  },
});
