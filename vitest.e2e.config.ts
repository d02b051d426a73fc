import { defineConfig } from 'vitest/config'

/**
 * `npm run test:e2e`: real Chromium (Debian's /usr/bin/chromium) through the proxy, in front of the stand-in
 * and of a real Flink (flink-dashboard.test.ts: Java 17 and Maven, see vitest.flink.config.ts); not part of
 * `npm test`.
 */
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
})
