import { describe, expect, it } from 'vitest'
import { ENTRY_OVERHEAD, MemoryStore } from '../../src/tiers/memory_tier.js'

const entry = (value: unknown) => ({ value, expiresAt: 0, tags: undefined, installedAt: Date.now(), checksum: 0 })

/** Resolves once L1's clock reading (kept for at most a millisecond) has been let go: the next hit reads a new one. */
const nextMillisecond = () => new Promise((resolve) => setTimeout(resolve, 2))

describe('L1 recency, kept to the millisecond', () => {
  it('a hit in a later millisecond makes the entry the most recent: the bound evicts the other one', async () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1_000_000 })
    const l1 = store.namespace()
    l1.set('a', entry('A'), 0, 1)
    l1.set('b', entry('B'), 0, 1)
    await nextMillisecond()
    expect(l1.get('a')?.value).toBe('A')
    l1.set('c', entry('C'), 0, 1)
    expect(l1.get('b')).toBeUndefined()
    expect(l1.get('a')?.value).toBe('A')
    expect(l1.get('c')?.value).toBe('C')
    expect(store.evictions).toBe(1)
  })

  it('hits that skip the LRU still see every overwrite, delete and eviction at once', () => {
    const store = new MemoryStore({ maxEntries: 2, maxBytes: 1_000_000 })
    const l1 = store.namespace()
    l1.set('k', entry(1), 0, 1)
    expect(l1.get('k')?.value).toBe(1) // touches the slot: the next hits in this millisecond read it alone
    l1.set('k', entry(2), 0, 1)
    expect(l1.get('k')?.value).toBe(2)
    l1.delete('k')
    expect(l1.get('k')).toBeUndefined()
    l1.set('k', entry(3), 0, 1)
    expect(l1.get('k')?.value).toBe(3)
    l1.set('x', entry('x'), 0, 1)
    l1.set('y', entry('y'), 0, 1) // evicts the least recent: 'k'
    expect(l1.get('k')).toBeUndefined()
    expect(l1.entries).toBe(2)
  })

  it('an entry refused for its size that replaces one drops the old one and its counted bytes', () => {
    const store = new MemoryStore({ maxEntries: 10, maxBytes: 2_000 })
    const l1 = store.namespace()
    l1.set('k', entry('small'), 0, 100)
    expect(l1.bytes).toBe(100 + ENTRY_OVERHEAD)
    l1.set('k', entry('huge'), 0, 5_000)
    expect(l1.get('k')).toBeUndefined()
    expect(l1.entries).toBe(0)
    expect(l1.bytes).toBe(0)
    expect(store.bytes).toBe(0)
  })
})
