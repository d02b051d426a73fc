import { buildFlinkIt, FLINK_VERSION } from './flink.js'

/** Builds flink-it once for the Flink line under test, so a missing Java or Maven fails the run at once. */
export default function setup(): void {
  const build = buildFlinkIt(FLINK_VERSION)
  console.log(`real Flink ${build.version}: ${build.jobJar}`)
}
