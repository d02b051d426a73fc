/**
 * A body read whole, at most `maxBytes`: counted as it streams, so a larger one is never held. Past the bound
 * `tooLarge()` is thrown, and leaving the loop destroys the stream (its async iterator's return()).
 */
export async function readBounded(
  body: AsyncIterable<Buffer>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Buffer> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of body) {
    size += chunk.length
    if (size > maxBytes) throw tooLarge()
    chunks.push(chunk)
  }
  return Buffer.concat(chunks, size)
}
