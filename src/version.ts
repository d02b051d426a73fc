import { readFileSync } from 'node:fs'

/**
 * The package's own version, read from the package.json beside `dist/` (and beside `src/` under tsx), so an
 * installed tarball, the container image and a clone all report the version they were built from.
 */
export const VERSION: string = (
  JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string }
).version
