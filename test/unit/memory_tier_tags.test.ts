import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/tiers/memory_tier.js'

const entry = (value: unknown, tags?: string[]) => ({ value, expiresAt: 0, tags, installedAt: Date.now(), checksum: 0 })

describe('L1 tag index', () => {
  it('drops exactly the entries carrying a tag, and follows overwrites', () => {
    const l1 = new MemoryStore({ maxEntries: 100, maxBytes: 10_000 }).namespace()
    l1.set('a', entry(1, ['x', 'y']), 0, 1)
    l1.set('b', entry(2, ['y']), 0, 1)
    l1.set('c', entry(3), 0, 1)
    l1.set('a', entry(4, ['x']), 0, 1) // overwrite: no longer tagged y
    expect(l1.deleteTagged(['y'])).toBe(1)
    expect(l1.get('b')).toBeUndefined()
    expect(l1.get('a')?.value).toBe(4)
    l1.set('a', entry(5, ['x']), 0, 1) // overwrite keeping the same tag stays indexed
    expect(l1.deleteTagged(['x', 'nothing'])).toBe(1)
    expect(l1.get('a')).toBeUndefined()
    expect(l1.get('c')?.value).toBe(3)
    expect(l1.indexedTags).toBe(0)
  })

  it('never outgrows L1: evictions, deletes, clear and refused entries leave no index behind', () => {
    const l1 = new MemoryStore({ maxEntries: 10, maxBytes: 10_000 }).namespace()
    for (let i = 0; i < 1000; i++) l1.set(`k${i}`, entry(i, [`t${i}`]), 0, 1)
    expect(l1.indexedTags).toBe(10)
    l1.delete('k999')
    expect(l1.indexedTags).toBe(9)
    l1.set('big', entry('x', ['big']), 0, 20_000) // larger than maxBytes: refused
    expect(l1.get('big')).toBeUndefined()
    expect(l1.deleteTagged(['big'])).toBe(0)
    l1.clear()
    expect(l1.indexedTags).toBe(0)
  })
})
