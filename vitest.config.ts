import { defineConfig } from 'vitest/config'

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // Integration tests bind real sockets on ephemeral ports; files run in parallel, tests within a file in order.
    pool: 'forks',
  },
})
