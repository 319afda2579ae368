/**
 * Tag keys created by racing writers. A tagged write makes sure its tag keys exist (SET NX, as of just before
 * its entry was made), so that a missing tag key later means an eviction (issue 10 #3). Here two nodes write
 * entries with a brand-new tag: node 0 stamps its entry first, but its write reaches Redis last (its proxy
 * delays it); node 1's write creates the tag key. Both writes were acknowledged and nothing invalidated the
 * tag, so a third node must read both values back.
 */
import { check, type Fault } from '../fault.js'

const ROUNDS = 3
/** Node 0's requests are this late (each way) while the round's writes are made. */
const DELAY_MS = 150
/** Node 1 writes this long after node 0 started. */
const GAP_MS = 30

let run = 0

export const tagRaces: Fault = {
  name: 'new tags, racing writers',
  description: `${ROUNDS} rounds: node 0 writes an entry with a new tag, its request ${DELAY_MS} ms late; node 1 writes another with the same tag ${GAP_MS} ms later; node 2 reads both`,
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    const [first, second, reader] = ctx.nodes
    const proxy = ctx.proxies[0]
    if (first === undefined || second === undefined || reader === undefined || proxy === undefined) return
    const lost: string[] = []
    const round = ++run
    for (let r = 0; r < ROUNDS; r++) {
      const tag = `new:${round}:${r}`
      const keys = [`tagged:${round}:${r}:0`, `tagged:${round}:${r}:1`]
      const versions = keys.map((key) => ctx.truth.bump(key))
      const write = (node: typeof first, i: number) =>
        ctx.call(node, 'cache.set', { key: keys[i], version: versions[i], ttl: 600_000, tags: [tag] }, 2000)
      proxy.setLatency(DELAY_MS, DELAY_MS)
      const writes = [write(first, 0), ctx.sleep(GAP_MS).then(() => write(second, 1))]
      const results = await Promise.all(writes)
      proxy.heal()
      for (const [i, result] of results.entries()) {
        if (!result.ok) continue // not acknowledged: nothing promised
        const read = await ctx.call(reader, 'cache.get', { key: keys[i] }, 2000)
        const got = read.ok && Array.isArray(read.result) ? read.result[0] : read.ok ? read.result : read.code
        if (got !== versions[i])
          lost.push(
            `${keys[i]} (node ${i}, tag ${tag}): acknowledged v${versions[i]}, node 2 reads ${JSON.stringify(got)}`,
          )
      }
    }
    check(
      ctx.phase,
      `${tagRaces.name}/acknowledged tagged writes stay readable`,
      lost.length === 0,
      lost.join('; ') || `${ROUNDS} rounds: both acknowledged values read back`,
    )
    await ctx.sleep(ctx.holdMs / 2)
  },
}

/**
 * An invalidation that lands late: node 1's `invalidateTags` is held by its proxy (it times out, and so may still
 * land), node 0 writes an entry with the tag and invalidates the tag (acknowledged), then node 1's held request is
 * delivered. An acknowledged invalidation must stay in force: node 2 must not read the entry.
 */
export const lateInvalidation: Fault = {
  name: 'late tag invalidation',
  description: `${ROUNDS} rounds: node 1's invalidateTags is held past its timeout by its proxy; node 0 writes an entry with that tag and invalidates it; node 1's request is then delivered; node 2 reads the entry`,
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    const [writer, late, reader] = ctx.nodes
    const proxy = ctx.proxies[1]
    if (writer === undefined || late === undefined || reader === undefined || proxy === undefined) return
    const served: string[] = []
    const round = ++run
    for (let r = 0; r < ROUNDS; r++) {
      const tag = `late:${round}:${r}`
      const key = `late:${round}:${r}`
      proxy.setBlackhole(true)
      const held = ctx.call(late, 'cache.invalidateTags', { tags: [tag] }, 2000)
      await ctx.sleep(GAP_MS)
      const version = ctx.truth.bump(key)
      const set = await ctx.call(writer, 'cache.set', { key, version, ttl: 600_000, tags: [tag] }, 2000)
      const invalidated = await ctx.call(writer, 'cache.invalidateTags', { tags: [tag] }, 2000)
      await held
      proxy.heal()
      if (!set.ok || !invalidated.ok) continue
      await ctx.sleep(DELAY_MS)
      const read = await ctx.call(reader, 'cache.get', { key }, 2000)
      if (read.ok && read.result !== null)
        served.push(`${key}: invalidated (acknowledged), then node 2 reads ${JSON.stringify(read.result)}`)
    }
    check(
      ctx.phase,
      `${lateInvalidation.name}/acknowledged invalidations stay in force`,
      served.length === 0,
      served.join('; ') || `${ROUNDS} rounds: the late invalidation brought nothing back`,
    )
    await ctx.sleep(ctx.holdMs / 2)
  },
}
