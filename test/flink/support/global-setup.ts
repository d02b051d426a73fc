import { buildFlinkIt, FLINK_VERSION } from './flink.js'
import { buildYarnIt } from './mini-yarn.js'

/** Builds flink-it (the Flink line under test) and yarn-it once, so a missing Java or Maven fails the run at once. */
export default function setup(): void {
  const build = buildFlinkIt(FLINK_VERSION)
  console.log(`real Flink ${build.version}: ${build.jobJar}`)
  buildYarnIt()
}
