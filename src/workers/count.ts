import { availableParallelism } from 'node:os'
import type { Config } from '../config/schema.js'

/** `workers: auto` is one process per CPU this process may run on (os.availableParallelism: its CPU affinity). */
export function workerCount(workers: Config['workers']): number {
  return workers === 'auto' ? availableParallelism() : workers
}
