/**
 * A problem told in the keys the user wrote: where flinkConf filled a store key (`"tls.keystore"`), the message
 * also names the Flink keys and file it came from, since the user never wrote that key.
 */
export function inUserKeys(message: string, origins: Readonly<Record<string, string>>): string {
  return message.replace(/"([\w.[\]-]+)"/g, (quoted, key: string) =>
    Object.hasOwn(origins, key) ? `${quoted} (from flinkConf: ${origins[key]})` : quoted,
  )
}
