import { describe, expect, it, vi } from 'vitest'
import { MemoryStore } from '../../src/tiers/memory_tier.js'

const entry = (value: unknown, tags?: string[]) => ({ value, expiresAt: 0, tags, installedAt: Date.now(), checksum: 0 })

describe('L1 expiry (kept in the slot, not in lru-cache)', () => {
  it('an entry is a hit until its L1 TTL, then a miss everywhere, and leaves the store and the tag index', async () => {
    const store = new MemoryStore({ maxEntries: 100, maxBytes: 10_000 })
    const l1 = store.namespace()
    l1.set('short', entry(1, ['t']), 40, 1)
    l1.set('forever', entry(2), 0, 1)
    expect(l1.get('short')?.value).toBe(1)
    expect(l1.peek('short')?.value).toBe(1)
    expect(l1.remainingTtl('short')).toBeGreaterThan(0)
    expect(l1.remainingTtl('short')).toBeLessThanOrEqual(40)
    expect(l1.remainingTtl('forever')).toBe(Number.POSITIVE_INFINITY)
    expect(l1.remainingTtl('absent')).toBe(0)

    await vi.waitFor(() => expect(l1.peek('short')).toBeUndefined(), { timeout: 2000, interval: 5 })
    expect(l1.remainingTtl('short')).toBe(0)
    expect(l1.snapshot().map(([key]) => key)).toEqual(['forever'])
    expect(l1.get('short')).toBeUndefined() // and now it is gone
    expect(store.entries).toBe(1)
    expect(l1.indexedTags).toBe(0)
    expect(l1.get('forever')?.value).toBe(2)
  })

  it('an overwrite gives the key the new TTL', async () => {
    const l1 = new MemoryStore({ maxEntries: 100, maxBytes: 10_000 }).namespace()
    l1.set('k', entry(1), 30, 1)
    l1.set('k', entry(2), 0, 1)
    expect(l1.remainingTtl('k')).toBe(Number.POSITIVE_INFINITY)
    l1.set('k', entry(3), 60_000, 1)
    expect(l1.remainingTtl('k')).toBeGreaterThan(59_000)
    expect(l1.get('k')?.value).toBe(3)
  })
})

describe('L1 expiry counted from the write', () => {
  it('an entry written while the kept clock reading is old still lives its whole TTL', async () => {
    const l1 = new MemoryStore({ maxEntries: 100, maxBytes: 10_000 }).namespace()
    l1.set('other', entry(0), 0, 1)
    l1.get('other') // takes a clock reading, kept until a timer drops it
    const blockedFrom = performance.now()
    while (performance.now() - blockedFrom < 50); // the event loop is busy: the timer cannot run
    const writtenAt = performance.now()
    l1.set('k', entry(1), 100, 1)
    await new Promise((resolve) => setTimeout(resolve, 60))
    expect(performance.now() - writtenAt).toBeLessThan(100) // still within the TTL: the check below means something
    expect(l1.get('k')?.value).toBe(1)
  })
})
