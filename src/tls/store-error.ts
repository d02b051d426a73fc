/** Why a keystore, truststore or PEM file could not be used; `reason` is also the metric and log label. */
export type StoreProblem =
  | 'unreadable'
  | 'corrupt'
  | 'wrong-store-password'
  | 'wrong-key-password'
  | 'no-key'
  | 'alias'
  | 'no-certificate'
  | 'unsupported'
  | 'mismatch'

export class StoreError extends Error {
  constructor(
    readonly problem: StoreProblem,
    message: string,
  ) {
    super(message)
    this.name = 'StoreError'
  }
}
