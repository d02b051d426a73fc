import { describe, expect, it } from 'vitest'
import { MemoryFailureRateStore } from '../../src/ratelimit/memory-store.js'

describe('MemoryFailureRateStore', () => {
  it('gives an address its burst, then one unit per refill interval, with the seconds until the next', async () => {
    const store = new MemoryFailureRateStore({ burst: 3, perMinute: 6, maxAddresses: 10 })
    const at = (sec: number) => 1_000_000 + sec * 1000
    for (let i = 0; i < 3; i += 1) expect(await store.charge('a', at(0))).toBeNull()
    // 6 per minute: one unit every 10 s.
    expect(await store.charge('a', at(0))).toBe(10)
    expect(await store.charge('a', at(4))).toBe(6)
    expect(await store.charge('a', at(10))).toBeNull()
    expect(await store.charge('a', at(10))).toBe(10)
    // Refilled to the burst, never past it.
    for (let i = 0; i < 3; i += 1) expect(await store.charge('a', at(1_000))).toBeNull()
    expect(await store.charge('a', at(1_000))).not.toBeNull()
  })

  it('keeps addresses apart and forgets the one charged longest ago past maxAddresses', async () => {
    const store = new MemoryFailureRateStore({ burst: 1, perMinute: 1, maxAddresses: 2 })
    expect(await store.charge('a', 0)).toBeNull()
    expect(await store.charge('b', 0)).toBeNull()
    expect(await store.charge('a', 1)).not.toBeNull()
    expect(await store.charge('c', 2)).toBeNull()
    expect(store.size).toBe(2)
    // b was charged longest ago and is gone; a, charged since, is still limited.
    expect(await store.charge('a', 3)).not.toBeNull()
  })
})
