import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Real hosts run on their own: npm run test:e2e (vitest.e2e.config.ts).
    exclude: ['**/node_modules/**', 'test/e2e/real-hosts/**'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Two cores: files run in parallel, each on its own database.
    pool: 'forks',
    maxWorkers: 2,
  },
});
