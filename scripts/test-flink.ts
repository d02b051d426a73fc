/**
 * `npm run test:flink`: the real-Flink suite (vitest.flink.config.ts) once per Flink line, the LTS and the
 * newest 2.x by default (FLINK_VERSIONS="1.20.5 2.3.0"). Fails, never skips, when Java or Maven is missing.
 */
import { spawnSync } from 'node:child_process'

const versions = (process.env.FLINK_VERSIONS ?? '1.20.5 2.3.0').split(/\s+/).filter(Boolean)
for (const tool of [
  ['java', '-version'],
  ['mvn', '-v'],
]) {
  const probe = spawnSync(tool[0]!, tool.slice(1), { encoding: 'utf8' })
  if (probe.error !== undefined || probe.status !== 0) {
    console.error(
      `test:flink needs ${tool[0]} (Java 17 and Maven 3.8+): ${probe.error?.message ?? probe.stderr}`,
    )
    process.exit(1)
  }
}
let failed = false
for (const version of versions) {
  console.log(`== real Flink ${version}`)
  const run = spawnSync(
    'npx',
    ['vitest', 'run', '--config', 'vitest.flink.config.ts', ...process.argv.slice(2)],
    {
      stdio: 'inherit',
      env: { ...process.env, FLINK_VERSION: version },
    },
  )
  if (run.status !== 0) failed = true
}
process.exit(failed ? 1 : 0)
