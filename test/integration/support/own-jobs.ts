import { htpasswdFor } from './gateway.js'

/**
 * "The owner may cancel their own job": Basic users who are deployers, every one of them seeing every job (a
 * view grant) and operating those they submitted (ownJobs). The stores and clusters differ per test.
 */
export function ownJobsScope(developers: readonly string[], guests: readonly string[] = []) {
  return {
    auth: {
      basic: {
        htpasswd: htpasswdFor([...developers, ...guests]),
        users: Object.fromEntries([
          ...developers.map((user) => [user, ['devs']]),
          ...guests.map((user) => [user, ['guests']]),
        ]),
      },
    },
    authz: {
      roles: { devs: 'deployer', guests: 'viewer' },
      jobScope: {
        grants: [
          { names: ['*'], access: 'view' },
          { roles: ['devs'], ownJobs: true },
        ],
      },
    },
  }
}
