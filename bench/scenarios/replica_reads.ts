/**
 * Issue 17: L2-hit `get` read from a replica (`l2.replicas`, L1 off, so every call reaches Redis) with 1 and 100
 * calls in flight, against the floor ioredis `getBuffer` + msgpackr `unpack` on the same replica. Run with
 * `--filter l2-get --filter replica-get` to compare with primary reads (`l2-get/…`) in the same run. The replica
 * (a second redis-server replicating from the bench's primary) is started by the first scenario that runs.
 * Also `set-min-replicas/<size>`: `set` with `l2.minReplicas: 1` (each write followed by a pipelined `WAIT 1`), one in
 * flight, against ioredis `set` on the primary; compare with `set/<size>` (`--filter set`) for the cost per write.
 */
import { Redis } from 'ioredis'
import { RedisServer } from '../../test/support/redis_server.js'
import { createCache, type Cache } from '../../src/index.js'
import { expectValue, inFlight, type Scenario } from '../harness.js'
import { TTL_MS, type Peers } from '../peers.js'
import { makeValue, type ValueSize } from '../values.js'

const KEYS = 100
const SERIAL_BATCH = 200
const PARALLEL_BATCH = 5000

export function replicaScenarios(
  peers: Peers,
  primaryUrl: string,
  sizes: readonly ValueSize[],
): { scenarios: Scenario[]; close(): Promise<void> } {
  const keysOf = (size: ValueSize): string[] => Array.from({ length: KEYS }, (_, i) => `replica:${size}:${i}`)
  interface Started {
    server: RedisServer
    cache: Cache
    /** A cache whose writes wait for the replica (`l2.minReplicas: 1`). */
    acked: Cache
    redis: Redis
  }
  let started: Promise<Started> | undefined
  const start = async (): Promise<Started> => {
    const port = Number(new URL(primaryUrl).port)
    const server = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(port)] })
    const cache = createCache({
      redis: primaryUrl,
      namespace: 'bench',
      ttl: TTL_MS,
      l1: false,
      l2: { replicas: server.url },
    })
    await cache.ready()
    const acked = createCache({ redis: primaryUrl, namespace: 'bench', ttl: TTL_MS, l2: { minReplicas: 1 } })
    await acked.ready()
    for (const size of sizes) {
      const value = makeValue(size)
      const payload = peers.raw.packr.pack(value)
      for (const key of keysOf(size)) {
        await peers.tiercacheL2.set(key, value)
        await peers.raw.redis.set(`raw:${key}`, payload, 'PX', TTL_MS)
      }
    }
    // In sync once the replica acknowledged the last write (WAIT counts this connection's writes, in order).
    if ((await peers.raw.redis.wait(1, 10_000)) !== 1) throw new Error('replica-get: the replica did not catch up')
    // Past the startup bound (reads stay on the primary for `replicaLag` after the bus comes up).
    await new Promise((resolve) => setTimeout(resolve, 1100))
    return { server, cache, acked, redis: new Redis(server.url) }
  }
  let ready: Started | undefined
  const setup = async (): Promise<void> => {
    started ??= start()
    ready = await started
  }
  const cache = (): Cache => (ready as Started).cache
  const rawGet = async (key: string): Promise<unknown> => {
    const bytes = await (ready as Started).redis.getBuffer(key)
    return bytes === null ? undefined : (peers.raw.packr.unpack(bytes) as unknown)
  }
  const scenarios = [
    ...sizes.flatMap((size) => [1, 100].map((n) => scenario(size, n))),
    ...sizes.map((size) => ackedSet(size)),
  ]
  function ackedSet(size: ValueSize): Scenario {
    const value = makeValue(size)
    const keys = keysOf(size).map((key) => `acked:${key}`)
    const payload = peers.raw.packr.pack(value)
    const ops = SERIAL_BATCH
    return {
      id: `set-min-replicas/${size}`,
      title: `set, l2.minReplicas: 1 (${size})`,
      setup,
      tasks: {
        tiercache: {
          ops,
          batch: () => inFlight(1, ops, (i) => (ready as Started).acked.set(keys[i % KEYS] as string, value)),
        },
        raw: {
          ops,
          batch: () => inFlight(1, ops, (i) => peers.raw.redis.set(`raw:${keys[i % KEYS]}`, payload, 'PX', TTL_MS)),
        },
      },
    }
  }
  function scenario(size: ValueSize, n: number): Scenario {
    const keys = keysOf(size)
    const rawKeys = keys.map((key) => `raw:${key}`)
    const ops = n === 1 ? SERIAL_BATCH : PARALLEL_BATCH
    const id = `replica-get/c${n}/${size}`
    return {
      id,
      title: `L2-hit get from a replica, ${n} in flight (${size})`,
      setup,
      tasks: {
        tiercache: {
          ops,
          check: async () => expectValue(id, 'tiercache', await cache().get(keys[0] as string)),
          batch: () => inFlight(n, ops, (i) => cache().get(keys[i % KEYS] as string)),
        },
        raw: {
          ops,
          check: async () => expectValue(id, 'raw', await rawGet(rawKeys[0] as string)),
          batch: () => inFlight(n, ops, (i) => rawGet(rawKeys[i % KEYS] as string)),
        },
      },
    }
  }
  return {
    scenarios,
    async close() {
      if (started === undefined) return
      const { server, cache: c, acked, redis } = await started
      redis.disconnect()
      await c.close()
      await acked.close()
      await server.close()
    },
  }
}
