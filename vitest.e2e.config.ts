import { defineConfig } from 'vitest/config';

// Real hosts (npm run test:e2e): Debian 12 containers provisioned through the product and
// judged by real clients. One file at a time: they share one sandbox network and machine.
export default defineConfig({
  test: {
    include: ['test/e2e/real-hosts/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    reporters: ['default', './test/support/summary-reporter.ts'],
    testTimeout: 15 * 60_000,
    hookTimeout: 30 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
    fileParallelism: false,
  },
});
