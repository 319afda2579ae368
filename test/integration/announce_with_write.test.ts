/**
 * Every invalidation is acknowledged only together with its announcement (ARCHITECTURE.md, "The contract"):
 * once `invalidateTags`, `expire`, `incr`/`decr` or `clear` has resolved on node A, node B has been told. The
 * interleaving that broke it is forced: Redis is stalled (CLIENT PAUSE) at the moment A would publish an
 * announcement on its own, after its write was acknowledged. With the announcement inside the write's Lua call
 * there is no such moment, and B hears of the change at once. `clear` (SCAN, then UNLINK in batches) publishes
 * on its own at the end, but resolves only once that PUBLISH is acknowledged.
 */
import { Redis } from 'ioredis'
import { afterEach, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { makeNode, nextEvent, synced } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()
/** Shorter than the command timeout (1 s in tests): `clear` waits for its PUBLISH, which must not time out. */
const STALL_MS = 600
const clients: Redis[] = []
afterEach(async () => {
  await redis.raw.call('CLIENT', 'UNPAUSE')
  for (const client of clients.splice(0)) client.disconnect()
})

/** Node A on a client whose stand-alone PUBLISH first stalls Redis for STALL_MS (as a slow or frozen Redis would). */
async function stallingNode(): Promise<Cache> {
  const client = new Redis(redis.url)
  clients.push(client)
  const publish = client.publish.bind(client)
  const admin = redis.raw
  client.publish = (async (channel: string, message: Buffer) => {
    await admin.call('CLIENT', 'PAUSE', String(STALL_MS), 'ALL')
    return publish(channel, message)
  }) as typeof client.publish
  return makeNode(redis.url, { redis: client })
}

const operations: Array<
  [string, (a: Cache) => Promise<unknown>, (m: { kind: string; items: readonly string[] }) => boolean]
> = [
  ['invalidateTags', (a) => a.invalidateTags(['t']), (m) => m.kind === 'tags'],
  ['expire', (a) => a.expire('k', '1h'), (m) => m.items.includes('k')],
  ['incr', (a) => a.incr('n'), (m) => m.items.includes('n')],
  ['decr', (a) => a.decr('n'), (m) => m.items.includes('n')],
  ['clear', (a) => a.clear(), (m) => m.kind === 'clear'],
]

describe('an invalidation resolves only together with its announcement', () => {
  it.each(operations)('%s: the other node has heard it as soon as it resolves', async (_name, act, matches) => {
    const a = await stallingNode()
    const b = await makeNode(redis.url)
    await a.set('k', 'v', { tags: ['t'] })
    await synced(a, b)
    const seen: Array<{ kind: string; items: readonly string[] }> = []
    b.on('bus:message', (message) => seen.push(message))
    await act(a)
    // Heard already, or within a third of the stall: the announcement was not left to a separate PUBLISH sent
    // after the call resolved.
    const heard = seen.find(matches) ?? (await nextEvent(b, 'bus:message', matches, STALL_MS / 3))
    expect(matches(heard)).toBe(true)
  })
})
