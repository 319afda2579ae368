/** Issue 5: getOrSet({ background: true }) returns the factory's value without waiting for the Redis write. */
import { describe, expect, it } from 'vitest'
import type { RedisTier } from '../../src/tiers/redis_tier.js'
import { internals, nextEvent, readyCache } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis({ flush: false })

/** Holds the cache's Redis writes until released (or fails them). */
function holdWrites(l2: RedisTier): { release(): void; fail(error: Error): void; started: Promise<void> } {
  const original = l2.fill.bind(l2)
  let release!: () => void
  let fail!: (error: Error) => void
  const gate = new Promise<void>((resolve, reject) => {
    release = resolve
    fail = reject
  })
  let markStarted!: () => void
  const started = new Promise<void>((resolve) => (markStarted = resolve))
  l2.fill = async (...args) => {
    markStarted()
    await gate
    return original(...args)
  }
  return { release, fail, started }
}

describe('getOrSet({ background: true })', () => {
  it('resolves before the write reaches Redis; this node serves it from L1 meanwhile; other nodes after it lands', async () => {
    const a = await readyCache({ redis: redis.server.url, namespace: 'bg' })
    const b = await readyCache({ redis: redis.server.url, namespace: 'bg' })
    const held = holdWrites(internals(a).ctx.l2 as RedisTier)
    let calls = 0
    const factory = (): { n: number } => ({ n: ++calls })
    expect(await a.getOrSet('k', factory, { background: true })).toEqual({ n: 1 })
    await held.started
    expect(await redis.raw.exists('tc:bg::k')).toBe(0) // the write is still held
    expect(await a.getOrSet('k', factory, { background: true })).toEqual({ n: 1 }) // from L1: no second run
    expect(calls).toBe(1)
    const written = nextEvent(a, 'written')
    held.release()
    await written
    expect(await b.get('k')).toEqual({ n: 1 })
  })

  it('a failed background write is an event (write:degraded), never a rejection', async () => {
    const a = await readyCache({ redis: redis.server.url, namespace: 'bg-fail', l2: { localTtl: 300 } })
    const held = holdWrites(internals(a).ctx.l2 as RedisTier)
    const degraded = nextEvent(a, 'write:degraded')
    expect(await a.getOrSet('k', () => 'value', { background: true })).toBe('value')
    held.fail(new Error('injected write failure'))
    expect((await degraded).key).toBe('k')
    expect(await redis.raw.exists('tc:bg-fail::k')).toBe(0)
    expect(internals(a).l1?.remainingTtl('k')).toBeLessThanOrEqual(301) // kept locally for localTtl only (lru-cache's clock has 1 ms resolution)
  })

  it('a delete right after the value returns leaves nothing anywhere (the write was sent first)', async () => {
    const a = await readyCache({ redis: redis.server.url, namespace: 'bg-del' })
    const written = nextEvent(a, 'written')
    await a.getOrSet('k', () => 'old', { background: true })
    await a.delete('k') // the background write went out in the same tick as the value: Redis applies it first
    await written
    expect(await redis.raw.exists('tc:bg-del::k')).toBe(0)
    expect(internals(a).l1?.get('k')).toBeUndefined() // the delete moved the fence: the write's completion does not reinstall it
  })

  it('refuses a non-boolean background option', async () => {
    const a = await readyCache({ redis: redis.server.url, namespace: 'bg-bad' })
    await expect(a.getOrSet('k', () => 1, { background: 'yes' as unknown as boolean })).rejects.toThrow(
      /`background`.*"yes"/,
    )
  })
})
