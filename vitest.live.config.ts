import { defineConfig } from 'vitest/config';

/** `npm run test:live`: the adapters against the real providers (credentials from the environment; never in CI). */
export default defineConfig({
  test: {
    include: ['test/live/**/*.live.ts'],
    testTimeout: 20 * 60_000,
    hookTimeout: 20 * 60_000,
    pool: 'forks',
    maxWorkers: 1,
    reporters: ['verbose'],
  },
});
