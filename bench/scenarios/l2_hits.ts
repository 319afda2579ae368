/**
 * L2 hits (no L1: tiercache `l1: false`, a bentocache store without an L1 layer, a
 * cache-manager with the Redis store alone) with 1, 10 and 100 requests in flight. The floor
 * is ioredis `getBuffer` + msgpackr `unpack` of an equivalent payload, on its own connection.
 * Note: tiercache coalesces GETs issued in the same tick into one MGET.
 */
import { expectValue, inFlight, type Scenario } from '../harness.js'
import { TTL_MS, type Peers } from '../peers.js'
import { makeValue, type ValueSize } from '../values.js'

const KEYS = 100
/** Calls per batch: enough that starting and draining the workers is a small part of it. */
const SERIAL_BATCH = 200
const PARALLEL_BATCH = 5000

export function l2Scenarios(peers: Peers, size: ValueSize): Scenario[] {
  const value = makeValue(size)
  const keys = Array.from({ length: KEYS }, (_, i) => `l2:${size}:${i}`)
  const rawKeys = keys.map((key) => `raw:${key}`)
  const { tiercacheL2, raw, bentoL2, cmL2 } = peers
  const rawGet = async (key: string): Promise<unknown> => {
    const bytes = await raw.redis.getBuffer(key)
    return bytes === null ? undefined : (raw.packr.unpack(bytes) as unknown)
  }
  let filled = false
  const setup = async (): Promise<void> => {
    if (filled) return
    filled = true
    const payload = raw.packr.pack(value)
    for (let i = 0; i < KEYS; i++) {
      const key = keys[i] as string
      await tiercacheL2.set(key, value)
      await raw.redis.set(rawKeys[i] as string, payload, 'PX', TTL_MS)
      await bentoL2.set({ key, value })
      await cmL2.set(key, value)
    }
  }
  const key = (i: number): string => keys[i % KEYS] as string
  const rawKey = (i: number): string => rawKeys[i % KEYS] as string

  const scenarios: Scenario[] = []
  for (const n of [1, 10, 100]) {
    const ops = n === 1 ? SERIAL_BATCH : PARALLEL_BATCH
    const id = `l2-get/c${n}/${size}`
    scenarios.push({
      id,
      title: `L2-hit get, ${n} in flight (${size})`,
      setup,
      tasks: {
        tiercache: {
          ops,
          check: async () => expectValue(id, 'tiercache', await tiercacheL2.get(key(0))),
          batch: () => inFlight(n, ops, (i) => tiercacheL2.get(key(i))),
        },
        raw: {
          ops,
          check: async () => expectValue(id, 'raw', await rawGet(rawKey(0))),
          batch: () => inFlight(n, ops, (i) => rawGet(rawKey(i))),
        },
        bentocache: {
          ops,
          check: async () => expectValue(id, 'bentocache', await bentoL2.get({ key: key(0) })),
          batch: () => inFlight(n, ops, (i) => bentoL2.get({ key: key(i) })),
        },
        'cache-manager': {
          ops,
          check: async () => expectValue(id, 'cache-manager', await cmL2.get(key(0))),
          batch: () => inFlight(n, ops, (i) => cmL2.get(key(i))),
        },
      },
    })
  }
  return scenarios
}
