/**
 * The seam's `getWithTier(cache, key)`: `cache.get(key)` plus which tier answered, read through `get`
 * itself, so promotion, L1 gating while the bus is down, and misses behave as `get` does.
 */
import { describe, expect, it } from 'vitest'
import { getWithTier } from '../../src/seam.js'
import { makeNode, nextEvent, synced } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()

describe('getWithTier', () => {
  it('says l2 for a value read from Redis, then l1 once it was promoted; undefined on a miss', async () => {
    const a = await makeNode(redis.url)
    const b = await makeNode(redis.url)
    await a.set('k', { n: 1 })
    await synced(a, b) // B has heard of the write: its announcement cannot drop what B promotes next
    expect(await getWithTier(a, 'k')).toEqual({ value: { n: 1 }, tier: 'l1' })
    expect(await getWithTier(b, 'k')).toEqual({ value: { n: 1 }, tier: 'l2' })
    expect(await getWithTier(b, 'k')).toEqual({ value: { n: 1 }, tier: 'l1' })
    expect(await getWithTier(b, 'missing')).toBeUndefined()
  })

  it('says l2 when L1 is off, and when L1 may not answer because the bus is down', async () => {
    const noL1 = await makeNode(redis.url, { l1: false })
    await noL1.set('k', 'v')
    expect(await getWithTier(noL1, 'k')).toEqual({ value: 'v', tier: 'l2' })

    const node = await makeNode(redis.url, { bus: { maxStaleness: 0 } })
    await node.set('gated', 'v')
    expect((await getWithTier(node, 'gated'))?.tier).toBe('l1')
    const down = nextEvent(node, 'bus:state', (p) => p.state === 'down')
    await redis.raw.call('CLIENT', 'KILL', 'TYPE', 'pubsub')
    await down
    // Gated while down, dropped when back up: either way Redis answers.
    expect(await getWithTier(node, 'gated')).toEqual({ value: 'v', tier: 'l2' })
  })

  it('validates the key as get does', async () => {
    const cache = await makeNode(redis.url)
    await expect(getWithTier(cache, '')).rejects.toThrow(TypeError)
  })
})
