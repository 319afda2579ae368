/**
 * One L1 bound for the whole cache (issue 13): every namespace shares one LRU, so an app with a namespace per
 * tenant has the memory bound it configured, and the least recently used entry of any namespace goes first.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { describe, expect, it } from 'vitest'
import { internals, makeCache } from '../support/make_cache.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void
function heapUsed(): number {
  for (let i = 0; i < 3; i++) gc()
  return process.memoryUsage().heapUsed
}

describe('one L1 bound for all namespaces', () => {
  it('200 namespaces written under one cache never exceed the bound, and the heap stays within the documented factor', async () => {
    const maxBytes = 4 * 1024 * 1024
    // maxEntries stays out of the way (3,300 entries fit in maxBytes) but realistic: lru-cache reserves some
    // 45 bytes per maxEntries slot, which would dwarf the entries with a bound of millions.
    const root = makeCache({ l1: { maxEntries: 10_000, maxBytes } })
    const before = heapUsed()
    let peak = 0
    for (let n = 0; n < 200; n++) {
      const tenant = root.namespace(`tenant${n}`)
      for (let i = 0; i < 100; i++) await tenant.set(`k${i}`, { id: i, body: `${n}:${i}`.padEnd(1000, 'x') })
      peak = Math.max(peak, root.stats().l1?.bytes ?? 0)
    }
    // 200 × 100 × ~1.3 KB counted were written: 26 MB, six times the bound.
    expect(peak).toBeLessThanOrEqual(maxBytes)
    expect(root.stats().l1?.bytes).toBeGreaterThan(maxBytes * 0.9)
    // README ("Memory"): for records with a string body the heap is 1.0-1.3x the count; allow 2x.
    expect(heapUsed() - before).toBeLessThan(2 * maxBytes)
  })

  it('the least recently used entry of any namespace is evicted first', async () => {
    const root = makeCache({ l1: { maxEntries: 3 } })
    const a = root.namespace('a')
    const b = root.namespace('b')
    await a.set('x', 1)
    await b.set('y', 2)
    await a.set('z', 3)
    expect(await a.get('x')).toBe(1) // x is now the most recently used
    await b.set('w', 4) // over the bound: y (b's, least recently used overall) goes
    expect(await b.get('y')).toBeUndefined()
    expect(await a.get('x')).toBe(1)
    expect(await a.get('z')).toBe(3)
    expect(root.stats().l1?.entries).toBe(3)
  })

  it('maxEntries alone keeps the default byte bound (and maxBytes alone the default entry bound)', () => {
    const byEntries = makeCache({ l1: { maxEntries: 5 } })
    expect(internals(byEntries).ctx.options.l1).toMatchObject({ maxEntries: 5, maxBytes: 64 * 1024 * 1024 })
    const byBytes = makeCache({ l1: { maxBytes: 1000 } })
    expect(internals(byBytes).ctx.options.l1).toMatchObject({ maxEntries: 10_000, maxBytes: 1000 })
  })

  it('clearing one namespace leaves the others, and counts stay per namespace and for the whole cache', async () => {
    const root = makeCache()
    const a = root.namespace('a')
    const b = root.namespace('b')
    await a.setMany([
      { key: 'x', value: 1 },
      { key: 'y', value: 2 },
    ])
    await b.set('x', 3)
    await a.clear()
    expect(await a.get('x')).toBeUndefined()
    expect(await b.get('x')).toBe(3)
    expect(internals(a).l1?.entries).toBe(0)
    expect(internals(b).l1?.entries).toBe(1)
    expect(root.stats().l1?.entries).toBe(1)
  })
})
