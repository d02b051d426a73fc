import { FlinkGuardError } from '../errors.js'

/** Input longer than this is not a password; stop reading rather than buffer without bound. */
const MAX_SECRET_BYTES = 64 * 1024

/** All of standard input (a pipe or a file), as UTF-8. */
export async function readStdin(): Promise<string> {
  const chunks: Buffer[] = []
  let bytes = 0
  for await (const chunk of process.stdin) {
    bytes += (chunk as Buffer).length
    if (bytes > MAX_SECRET_BYTES)
      throw new FlinkGuardError('FG_ERR_CLI_USAGE', {
        message: `standard input is longer than ${MAX_SECRET_BYTES} bytes`,
      })
    chunks.push(chunk as Buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

const ENTER = new Set(['\r', '\n'])
const BACKSPACE = new Set(['\x7f', '\b'])
const CTRL_C = '\x03'
const CTRL_D = '\x04'

/** One line from the terminal with echo off: the prompt goes to stderr, so stdout stays the result alone. */
export function readHidden(prompt: string): Promise<string> {
  const stdin = process.stdin
  process.stderr.write(prompt)
  stdin.setRawMode(true)
  stdin.setEncoding('utf8')
  stdin.resume()
  return new Promise((resolve, reject) => {
    let value = ''
    const finish = (error?: Error) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
      if (error) reject(error)
      else resolve(value)
    }
    const onData = (text: string) => {
      for (const char of text) {
        if (ENTER.has(char) || char === CTRL_D) return finish()
        if (char === CTRL_C)
          return finish(new FlinkGuardError('FG_ERR_CLI_USAGE', { message: 'interrupted' }))
        if (BACKSPACE.has(char)) value = [...value].slice(0, -1).join('')
        else value += char
      }
    }
    stdin.on('data', onData)
  })
}
