/**
 * Awaited L1 hits: `get` and `getOrSet` on keys already in every contender's memory tier.
 * The floor is `lru-cache.get` inside an async function: what any awaited get costs at least.
 * Each batch awaits 1,000 calls in a plain loop written out per contender (one call site each).
 */
import { expectValue, type Scenario } from '../harness.js'
import type { Peers } from '../peers.js'
import { makeValue, type ValueSize } from '../values.js'

const BATCH = 1000
const KEYS = 64 // a power of two: key = keys[i & 63]

export function l1Scenarios(peers: Peers, size: ValueSize): Scenario[] {
  const value = makeValue(size)
  const keys = Array.from({ length: KEYS }, (_, i) => `l1:${size}:${i}`)
  const { tiercache, raw, bento, cm } = peers
  const lru = raw.lru
  const rawGet = async (key: string): Promise<object | undefined> => lru.get(key)
  const rawGetOrSet = async (key: string, factory: () => object): Promise<object> => {
    const hit = lru.get(key)
    if (hit !== undefined) return hit
    const fresh = factory()
    lru.set(key, fresh)
    return fresh
  }
  const factory = (): object => value
  let filled = false
  const setup = async (): Promise<void> => {
    if (filled) return
    filled = true
    for (const key of keys) {
      await tiercache.set(key, value)
      lru.set(key, value)
      await bento.set({ key, value })
      await cm.set(key, value)
    }
  }
  const key0 = keys[0] as string

  const get: Scenario = {
    id: `l1-get/${size}`,
    title: `L1-hit get (${size})`,
    setup,
    tasks: {
      tiercache: {
        ops: BATCH,
        check: async () => expectValue('l1-get', 'tiercache', await tiercache.get(key0)),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await tiercache.get(keys[i & (KEYS - 1)] as string)
        },
      },
      raw: {
        ops: BATCH,
        check: async () => expectValue('l1-get', 'raw', await rawGet(key0)),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await rawGet(keys[i & (KEYS - 1)] as string)
        },
      },
      bentocache: {
        ops: BATCH,
        check: async () => expectValue('l1-get', 'bentocache', await bento.get({ key: key0 })),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await bento.get({ key: keys[i & (KEYS - 1)] as string })
        },
      },
      'cache-manager': {
        ops: BATCH,
        check: async () => expectValue('l1-get', 'cache-manager', await cm.get(key0)),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await cm.get(keys[i & (KEYS - 1)] as string)
        },
      },
    },
  }

  const getOrSet: Scenario = {
    id: `l1-getorset/${size}`,
    title: `L1-hit getOrSet (${size})`,
    setup,
    tasks: {
      tiercache: {
        ops: BATCH,
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await tiercache.getOrSet(keys[i & (KEYS - 1)] as string, factory)
        },
      },
      raw: {
        ops: BATCH,
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await rawGetOrSet(keys[i & (KEYS - 1)] as string, factory)
        },
      },
      bentocache: {
        ops: BATCH,
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await bento.getOrSet({ key: keys[i & (KEYS - 1)] as string, factory })
        },
      },
      'cache-manager': {
        ops: BATCH,
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await cm.wrap(keys[i & (KEYS - 1)] as string, factory)
        },
      },
    },
  }
  return [get, getOrSet]
}
