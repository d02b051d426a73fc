import { Type } from '@sinclair/typebox'

export const DEFAULT_REALM = 'flink'

/** The realm of a `WWW-Authenticate` challenge: printable, and no `"` or `\` so it needs no escaping (RFC 9110 §11.2). */
export const RealmSchema = Type.String({
  minLength: 1,
  maxLength: 100,
  pattern: '^[\\x20-\\x21\\x23-\\x5b\\x5d-\\x7e]+$',
  default: DEFAULT_REALM,
  description: 'The realm named in the WWW-Authenticate challenge.',
})
