/**
 * Writes, one in flight: `set` (the dual write: L2, then L1, and bentocache's bus message),
 * and a cold-miss `getOrSet` with a 0 ms factory (read L2, miss, run the factory, dual write).
 * The floor is ioredis `set(key, packr.pack(value), 'PX', ttl)`; for the miss, `getBuffer`
 * (null) then that `set`.
 */
import { inFlight, type Scenario } from '../harness.js'
import { TTL_MS, type Peers } from '../peers.js'
import { makeValue, type ValueSize } from '../values.js'

const KEYS = 100
const BATCH = 200

export function writeScenarios(peers: Peers, size: ValueSize): Scenario[] {
  const value = makeValue(size)
  const keys = Array.from({ length: KEYS }, (_, i) => `set:${size}:${i}`)
  const { tiercache, tiercacheNoBus, raw, bento, cm } = peers
  const key = (i: number): string => keys[i % KEYS] as string
  const rawSet = async (k: string, v: unknown): Promise<void> => {
    await raw.redis.set(k, raw.packr.pack(v), 'PX', TTL_MS)
  }

  const set: Scenario = {
    id: `set/${size}`,
    title: `set, dual write (${size})`,
    tasks: {
      tiercache: { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => tiercache.set(key(i), value)) },
      raw: { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => rawSet(`raw:${key(i)}`, value)) },
      bentocache: { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => bento.set({ key: key(i), value })) },
      'cache-manager': { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => cm.set(key(i), value)) },
    },
  }

  // The same dual write without the bus: what the announcement (SET and PUBLISH in one Lua
  // call, and every subscriber, this process included, receiving the message) costs.
  const setNoBus: Scenario = {
    id: `set-nobus/${size}`,
    title: `set, tiercache bus: false (${size})`,
    tasks: {
      tiercache: { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => tiercacheNoBus.set(key(i), value)) },
      raw: { ops: BATCH, batch: () => inFlight(1, BATCH, (i) => rawSet(`raw:${key(i)}`, value)) },
    },
  }

  // Every call gets a key nobody has used: a cold miss in L1 and in L2.
  let fresh = 0
  const coldKey = (): string => `miss:${size}:${fresh++}`
  const factory = (): object => value
  const rawGetOrSet = async (k: string): Promise<unknown> => {
    const bytes = await raw.redis.getBuffer(k)
    if (bytes !== null) return raw.packr.unpack(bytes) as unknown
    const v = factory()
    await rawSet(k, v)
    return v
  }
  const miss: Scenario = {
    id: `miss-getorset/${size}`,
    title: `cold-miss getOrSet, 0 ms factory (${size})`,
    tasks: {
      tiercache: { ops: BATCH, batch: () => inFlight(1, BATCH, () => tiercache.getOrSet(coldKey(), factory)) },
      raw: { ops: BATCH, batch: () => inFlight(1, BATCH, () => rawGetOrSet(`raw:${coldKey()}`)) },
      bentocache: { ops: BATCH, batch: () => inFlight(1, BATCH, () => bento.getOrSet({ key: coldKey(), factory })) },
      'cache-manager': { ops: BATCH, batch: () => inFlight(1, BATCH, () => cm.wrap(coldKey(), factory)) },
    },
  }
  return [set, setNoBus, miss]
}
