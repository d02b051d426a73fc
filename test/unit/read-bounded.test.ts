import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { readBounded } from '../../src/proxy/read-bounded.js'

const chunks = (sizes: number[]) => Readable.from(sizes.map((size) => Buffer.alloc(size, 0x61)))

describe('readBounded', () => {
  it('returns the whole body up to the bound, the bound included', async () => {
    expect((await readBounded(chunks([3, 4, 3]), 10, () => new Error('too large'))).length).toBe(10)
  })

  it('throws past the bound, without reading the rest, and destroys the stream', async () => {
    let pulled = 0
    const body = Readable.from(
      (function* () {
        for (let i = 0; i < 100; i++) {
          pulled++
          yield Buffer.alloc(4)
        }
      })(),
    )
    await expect(readBounded(body, 10, () => new Error('too large'))).rejects.toThrow('too large')
    expect(pulled).toBeLessThan(10)
    expect(body.destroyed).toBe(true)
  })
})
