import { configDefaults, defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // The browser tests need Chromium (`npm run test:e2e`), the real-Flink tests Java and Maven (`npm run test:flink`),
    // the Redis tests redis-server (`npm run test:redis`).
    exclude: [...configDefaults.exclude, 'test/e2e/**', 'test/flink/**', 'test/redis/**'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real sockets on ephemeral ports; files run in parallel, tests within a file in order.
    pool: 'forks',
  },
})
