/**
 * JSON.parse, refusing a repeated key in any object. Flink's Jackson keeps the last copy of a repeated key, as
 * JSON.parse does, but another reader might keep the first: a body whose meaning depends on the reader is never
 * judged. Returns the value, or why the text is not acceptable JSON.
 */
export function parseStrictJson(text: string): { value: unknown } | { problem: string } {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    return { problem: `the body is not JSON (${(err as Error).message})` }
  }
  const repeated = repeatedKey(text)
  return repeated === null ? { value } : { problem: `the body repeats the key "${repeated}"` }
}

/** The first key repeated inside one object of `text` (already known to be valid JSON), or null. */
function repeatedKey(text: string): string | null {
  // One entry per open container: the keys seen so far for an object, null for an array.
  const open: (Set<string> | null)[] = []
  let expectKey = false
  for (let i = 0; i < text.length; i++) {
    const char = text[i]
    if (char === '"') {
      let end = i + 1
      while (text[end] !== '"') end += text[end] === '\\' ? 2 : 1
      if (expectKey) {
        const key = JSON.parse(text.slice(i, end + 1)) as string
        const keys = open[open.length - 1]!
        if (keys.has(key)) return key
        keys.add(key)
        expectKey = false
      }
      i = end
    } else if (char === '{') {
      open.push(new Set())
      expectKey = true
    } else if (char === '[') {
      open.push(null)
    } else if (char === '}' || char === ']') {
      open.pop()
      expectKey = false
    } else if (char === ',') {
      expectKey = open[open.length - 1] instanceof Set
    }
  }
  return null
}
