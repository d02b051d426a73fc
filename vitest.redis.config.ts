import { defineConfig } from 'vitest/config'

/**
 * `npm run test:redis`: the brute-force budgets shared through a real Redis (Debian's redis-server, which the
 * test setup starts on 127.0.0.1 on a free port, in a temporary directory, and stops). Not part of `npm test`,
 * which needs nothing but Node; CI installs redis-server and runs this suite (.ci/run). It fails, never skips,
 * when redis-server is missing.
 */
export default defineConfig({
  test: {
    include: ['test/redis/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
