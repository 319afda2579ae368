/**
 * getOrSet calls that join a fill in flight. Concurrent misses of a key in one process share one factory run;
 * a call that starts after an acknowledged delete of the key must not be handed a value read before it. Here
 * node 0's factory reads the truth, then takes long; the key is deleted (acknowledged) on node 0; a second
 * getOrSet on node 0 starts after that and must return a version at least as new as the delete.
 */
import { check, type Fault } from '../fault.js'

const ROUNDS = 2
/** How long the first factory takes after reading the truth: past the bus allowance (500 ms). */
const FACTORY_MS = 1000

let run = 0

export const joiners: Fault = {
  name: 'getOrSet joining across a delete',
  description: `${ROUNDS} rounds on node 0: a getOrSet whose factory takes ${FACTORY_MS} ms after reading the truth, a delete of its key (acknowledged), then a second getOrSet of the key`,
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    const node = ctx.nodes[0]
    if (node === undefined) return
    const old: string[] = []
    const round = ++run
    for (let r = 0; r < ROUNDS; r++) {
      const key = `join:${round}:${r}`
      const fill = (dbDelay: number) =>
        ctx.call(node, 'cache.getOrSet', { key, ttl: 600_000, tags: [], lock: false, lockTimeout: 1000, dbDelay }, 5000)
      const first = fill(FACTORY_MS)
      await ctx.sleep(100)
      const deleted = await ctx.truth.locked([key], async () => {
        const version = ctx.truth.bump(key)
        const result = await ctx.call(node, 'cache.delete', { key }, 2000)
        return result.ok ? version : undefined
      })
      const second = await fill(0)
      await first
      if (deleted === undefined || !second.ok) continue
      const got = Array.isArray(second.result) ? (second.result[0] as number) : null
      if (got !== null && got < deleted)
        old.push(`${key}: getOrSet started after the delete (v${deleted}) returned v${got}, read before it`)
    }
    check(
      ctx.phase,
      `${joiners.name}/a call that starts after an acknowledged delete gets no value read before it`,
      old.length === 0,
      old.join('; ') || `${ROUNDS} rounds: the second call got a version at least as new as the delete`,
    )
  },
}
