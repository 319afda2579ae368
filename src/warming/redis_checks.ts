/**
 * The existence and TTL checks of `onlyMissing` and `ifTtlBelow`: the remaining time to live (PTTL) of a
 * batch of keys in one round trip. On a single Redis (or Sentinel) that is one Lua call per batch; on a
 * Cluster a multi-key call must not span hash slots, so the keys are grouped by the nodes serving their
 * slots and each group goes as one pipeline of per-key PTTLs (one round trip per node, in parallel).
 * Every call goes through the cache's RedisConnection (its timeout and circuit breaker).
 */
import type { Cluster } from 'ioredis'
import calculateSlot from 'cluster-key-slot'
import { Script, type RedisConnection } from '../seam.js'

/** PTTL of each key: -2 when it does not exist, -1 when it has no expiry. */
export const PTTL_MANY = new Script(
  'warm check',
  `
local out = {}
for i, key in ipairs(KEYS) do out[i] = redis.call('PTTL', key) end
return out`,
)

/** Remaining time to live (ms) of each Redis key, in order: -2 for a missing key, -1 for one with no expiry. */
export async function ttlsOf(connection: RedisConnection, keys: readonly string[]): Promise<number[]> {
  if (keys.length === 0) return []
  if (!connection.isCluster) return connection.eval<number[]>(PTTL_MANY, keys)
  const cluster = connection.client as Cluster
  const out = new Array<number>(keys.length)
  await Promise.all(
    [...groupByNodes(cluster, keys).values()].map(async (indexes) => {
      const replies = await connection.run('PTTL', () => {
        const pipeline = cluster.pipeline()
        for (const i of indexes) pipeline.pttl(keys[i] as string)
        return pipeline.exec()
      })
      for (let j = 0; j < indexes.length; j++) {
        const [error, ttl] = replies?.[j] ?? [new Error('no reply'), undefined]
        if (error !== null) throw error
        out[indexes[j] as number] = Number(ttl)
      }
    }),
  )
  return out
}

/**
 * Key indexes grouped by the set of nodes serving their slot (what ioredis accepts in one Cluster pipeline).
 * Slots the client has no map for yet each get a group of their own (ioredis routes and redirects them).
 */
function groupByNodes(cluster: Cluster, keys: readonly string[]): Map<string, number[]> {
  const slots: ReadonlyArray<string[] | undefined> = cluster.slots ?? []
  const groups = new Map<string, number[]>()
  for (let i = 0; i < keys.length; i++) {
    const slot = calculateSlot(keys[i] as string)
    const nodes = slots[slot]
    const group = nodes === undefined ? `slot:${slot}` : nodes.join(',')
    const indexes = groups.get(group)
    if (indexes === undefined) groups.set(group, [i])
    else indexes.push(i)
  }
  return groups
}
