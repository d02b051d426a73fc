import { defineConfig } from 'vitest/config'

/**
 * `npm run test:flink`: flink-guard in front of a real Apache Flink (flink-it/, Java 17 and Maven), one Flink
 * line per run (FLINK_VERSION; scripts/test-flink.ts runs every line). Not part of `npm test`, which must
 * pass without Java. Files run one after another: each starts its own JobManager and TaskManager.
 */
export default defineConfig({
  test: {
    include: ['test/flink/**/*.test.ts'],
    globalSetup: ['test/flink/support/global-setup.ts'],
    testTimeout: 180_000,
    hookTimeout: 240_000,
    pool: 'forks',
    fileParallelism: false,
  },
})
