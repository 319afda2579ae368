/**
 * Network faults, made by the TCP proxy each node reaches Redis through (chaos/proxy.ts): latency (each
 * direction kept in order), a blackhole of one node (a partition: its bytes are held, then delivered), and
 * connection resets.
 */
import { check, type Fault, type FaultContext } from '../fault.js'

/** How often every proxied connection is reset while the reset fault holds. */
const RESET_EVERY_MS = 250
/** Stalls of node 1's requests: how often after a reply, and how long (beyond the bus allowance). */
const STALL_PROBABILITY = 0.2
const STALL_MS = 800
/** How often node 1 invalidates a tag during the stalls (a write whose announcement a stall can delay). */
const PROBE_EVERY_MS = 50
/** The deterministic probe: rounds, how long the request after the invalidation is held, how long nodes get. */
const PROBE_ROUNDS = 3
const HELD_MS = 1000
const BUS_WAIT_MS = 500

let probes = 0

export const latency: Fault = {
  name: 'proxy latency',
  description:
    'every node: 5-150 ms per chunk each way for half the hold, then 150-600 ms (replies past l2.timeout, PINGs past the heartbeat)',
  allowance: 'silent',
  dataSurvives: true,
  keepsRedisSlow: true,
  async run(ctx) {
    try {
      for (const proxy of ctx.proxies) proxy.setLatency(5, 150)
      await ctx.sleep(ctx.holdMs / 2)
      for (const proxy of ctx.proxies) proxy.setLatency(150, 600)
      await ctx.sleep(ctx.holdMs / 2)
    } finally {
      for (const proxy of ctx.proxies) proxy.heal()
    }
  },
}

export const blackhole: Fault = {
  name: 'proxy blackhole (node 0)',
  description:
    'node 0 is partitioned: its proxy holds every byte both ways (connections stay open), the other nodes go on; then the held bytes are delivered',
  allowance: 'silent',
  dataSurvives: true,
  async run(ctx) {
    const proxy = ctx.proxies[0]
    if (proxy === undefined) return
    proxy.setBlackhole(true)
    try {
      await ctx.sleep(ctx.holdMs)
    } finally {
      proxy.heal()
    }
  },
}

export const resets: Fault = {
  name: 'proxy resets',
  description: `every node: every connection to Redis is reset (RST) every ${RESET_EVERY_MS} ms`,
  allowance: 'deaf',
  dataSurvives: true,
  async run(ctx) {
    const before = ctx.proxies.reduce((n, p) => n + p.resets, 0)
    for (const proxy of ctx.proxies) proxy.resetEvery(RESET_EVERY_MS)
    try {
      await ctx.sleep(ctx.holdMs)
    } finally {
      for (const proxy of ctx.proxies) proxy.heal()
    }
    ctx.phase.notes.push(`${ctx.proxies.reduce((n, p) => n + p.resets, 0) - before} connections reset`)
  },
}

export const stalls: Fault = {
  name: 'proxy stalls (node 1)',
  description: `node 1: after a reply from Redis, its next request waits ${STALL_MS} ms, one time in ${Math.round(1 / STALL_PROBABILITY)} (a hiccup between two commands: a write acknowledged, its announcement not yet sent); node 1 also invalidates a tag every ${PROBE_EVERY_MS} ms`,
  allowance: 'bus',
  dataSurvives: true,
  keepsRedisSlow: true,
  async run(ctx) {
    const proxy = ctx.proxies[1]
    const node = ctx.nodes[1]
    if (proxy === undefined || node === undefined) return
    proxy.setStalls(STALL_PROBABILITY, STALL_MS)
    try {
      const until = performance.now() + ctx.holdMs
      while (performance.now() < until) {
        const group = ctx.driver.groupOf(ctx.driver.pickKey(ctx.workload))
        await Promise.all([ctx.driver.invalidate(ctx.workload, node, group), ctx.sleep(PROBE_EVERY_MS)])
      }
    } finally {
      proxy.heal()
    }
    await announcedWithTheWrite(ctx)
  },
}

/**
 * The deterministic half of the stalls: node 1, left alone by the workload, invalidates a tag while its proxy
 * lets its next request through and holds the one after it. If the invalidation were acknowledged before its
 * announcement went out (two requests), nodes 0 and 2 would keep serving the entry from L1 past the bus delay.
 */
async function announcedWithTheWrite(ctx: FaultContext): Promise<void> {
  const [reader, node, writer] = ctx.nodes
  const proxy = ctx.proxies[1]
  if (reader === undefined || node === undefined || writer === undefined || proxy === undefined) return
  const stale: string[] = []
  ctx.idle(1, true)
  try {
    await ctx.sleep(2 * ctx.driver.config.l2TimeoutMs) // let the workload's calls in flight on node 1 end
    for (let r = 0; r < PROBE_ROUNDS; r++) {
      const tag = `announce:${++probes}`
      const key = tag
      const version = ctx.truth.bump(key)
      const set = await ctx.call(writer, 'cache.set', { key, version, ttl: 600_000, tags: [tag] }, 2000)
      const installed = await Promise.all([
        ctx.call(reader, 'cache.get', { key }, 2000),
        ctx.call(writer, 'cache.get', { key }, 2000),
      ])
      // Once without a stall, so that the script is loaded (EVALSHA, not EVAL after NOSCRIPT) and the stall
      // falls on what follows the invalidation, if anything does.
      await ctx.call(node, 'cache.invalidateTags', { tags: [`${tag}:warm`] }, 2000)
      proxy.stallSecondRequest(HELD_MS)
      const invalidated = await ctx.call(node, 'cache.invalidateTags', { tags: [tag] }, 2000)
      if (!set.ok || !invalidated.ok || installed.some((i) => !i.ok)) continue
      await ctx.sleep(BUS_WAIT_MS)
      for (const [name, n] of [
        ['node 0', reader],
        ['node 2', writer],
      ] as const) {
        const read = await ctx.call(n, 'cache.get', { key }, 2000)
        if (read.ok && read.result !== null)
          stale.push(
            `${key}: ${name} still reads ${JSON.stringify(read.result)} ${BUS_WAIT_MS} ms after invalidateTags resolved`,
          )
      }
      await ctx.sleep(HELD_MS)
    }
  } finally {
    proxy.heal()
    ctx.idle(1, false)
  }
  check(
    ctx.phase,
    `${stalls.name}/invalidations are acknowledged with their announcement`,
    stale.length === 0,
    stale.join('; ') || `${PROBE_ROUNDS} rounds: every node dropped the entry within ${BUS_WAIT_MS} ms`,
  )
}
