import { defineConfig } from 'vitest/config';

/** The browser suite (real Chromium): `npm run test:browser`, after a build (the page bundles dist). */
export default defineConfig({
  test: {
    include: ['test/browser/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
