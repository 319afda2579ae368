/**
 * Fresh caches created and used at once, as after a deploy (DESIGN.md point 12): every node replaces its cache
 * with a new one that the workload uses without `ready()`; a brand-new cache on every node writes and reads
 * back at once; then brand-new caches on every node make concurrent `lock: true` calls on cold keys. A cache
 * used in its first millisecond must behave like one that awaited `ready()`: what it wrote stays in its L1
 * when its bus is confirmed, and the distributed lock runs the factory once in total. The probes run in a
 * namespace of their own, where no tag invalidation of the workload reaches them, except the last one.
 */
import { check, type Fault, type FaultContext } from '../fault.js'

/** Concurrent `lock: true` calls per node and round, and rounds, of the stampede probes. */
const STAMPEDE_CALLS = 100
const STAMPEDE_ROUNDS = 3
/** The factory's read of the truth takes this long: long enough for every node to find the lock taken. */
const FACTORY_MS = 100
const LOCK_TIMEOUT_MS = 3000
const FRESH_BOUND_MS = 8000
const STAMPEDE_BOUND_MS = LOCK_TIMEOUT_MS + 5000
/** Where the stampede probes run when they must not hear the workload's tag invalidations. */
const QUIET_NAMESPACE = 'chaos-stampede'

let run = 0

interface FreshResult {
  setError?: string
  own: unknown
  droppedAtFirstConfirm?: number
  layerAfterConfirm: string
}

interface StampedeProbe {
  check: string
  awaitReady: boolean
  namespace?: string
}

/**
 * The stampede probes: fresh caches (issue 10 #6), the same after ready() in a quiet namespace (the control: it
 * must pass, or the probe is wrong), and after ready() in the workload's namespace, where the other nodes'
 * tag invalidations keep arriving while the lock holder's factory runs.
 */
const PROBES: readonly StampedeProbe[] = [
  { check: 'lock stampede of fresh caches runs the factory once', awaitReady: false, namespace: QUIET_NAMESPACE },
  {
    check: 'lock stampede after ready() runs the factory once (control)',
    awaitReady: true,
    namespace: QUIET_NAMESPACE,
  },
  { check: 'lock stampede under tag invalidations runs the factory once', awaitReady: true },
]

async function stampede(ctx: FaultContext, round: number, probe: StampedeProbe): Promise<void> {
  const extra: string[] = []
  for (let r = 0; r < STAMPEDE_ROUNDS; r++) {
    const key = `cold:${round}:${PROBES.indexOf(probe)}:${r}`
    const args = {
      key,
      calls: STAMPEDE_CALLS,
      awaitReady: probe.awaitReady,
      ...(probe.namespace !== undefined && { namespace: probe.namespace }),
      ttl: 60_000,
      tags: [],
      lock: true,
      lockTimeout: LOCK_TIMEOUT_MS,
      dbDelay: FACTORY_MS,
    }
    const outcomes = await Promise.all(
      ctx.nodes.map((node) => ctx.call(node, 'cache.stampede', args, STAMPEDE_BOUND_MS)),
    )
    const runs = ctx.truth.readsOf(key)
    const failures = outcomes.flatMap((o) => (o.ok ? [] : [o.code]))
    if (runs !== 1 || failures.length > 0)
      extra.push(
        `${key}: factory ran ${runs} times for ${ctx.nodes.length} x ${STAMPEDE_CALLS} calls` +
          (failures.length > 0 ? `, failures ${failures.join(',')}` : ''),
      )
  }
  check(
    ctx.phase,
    `fresh caches/${probe.check}`,
    extra.length === 0,
    extra.join('; ') ||
      `${STAMPEDE_ROUNDS} cold keys, ${ctx.nodes.length} x ${STAMPEDE_CALLS} lock: true calls each: one factory run each`,
  )
}

export const freshCaches: Fault = {
  name: 'fresh caches',
  description: `every node swaps in a new cache used at once (no ready()); a new cache per node writes and reads back at once; then ${STAMPEDE_ROUNDS} rounds of ${STAMPEDE_CALLS} concurrent lock: true calls per node from brand-new caches on a cold key, without and with ready(), in a quiet namespace and in the workload's`,
  allowance: 'bus',
  dataSurvives: true,
  async run(ctx) {
    const round = ++run
    // The workload goes on at once on new caches, without ready(): its own checks (stale, backwards) apply.
    await Promise.all(ctx.nodes.map((node) => ctx.call(node, 'cache.swap', {}, FRESH_BOUND_MS)))
    const fresh = await Promise.all(
      ctx.nodes.map(async (node) => {
        const key = `fresh:${node.id}:${round}`
        const version = ctx.truth.bump(key)
        const args = { key, version, ttl: 600_000, tags: [`fresh:${node.id}`], namespace: QUIET_NAMESPACE }
        return { node: node.id, version, result: await ctx.call(node, 'cache.freshProbe', args, FRESH_BOUND_MS) }
      }),
    )
    const notReadBack: string[] = []
    const dropped: string[] = []
    for (const { node, version, result } of fresh) {
      if (!result.ok) {
        notReadBack.push(`node ${node}: ${result.code}`)
        continue
      }
      const r = result.result as FreshResult
      if (r.setError !== undefined || r.own !== version)
        notReadBack.push(`node ${node}: set ${r.setError ?? 'ok'}, read back ${JSON.stringify(r.own)}`)
      if (r.layerAfterConfirm !== 'l1' || r.droppedAtFirstConfirm !== 0)
        dropped.push(
          `node ${node}: first confirmation dropped ${r.droppedAtFirstConfirm ?? '?'} L1 entries; ` +
            `the next read came from ${r.layerAfterConfirm}`,
        )
    }
    check(
      ctx.phase,
      'fresh caches/read-your-write',
      notReadBack.length === 0,
      notReadBack.join('; ') || 'every fresh cache read back what it had just written',
    )
    check(
      ctx.phase,
      'fresh caches/L1 kept at first confirmation',
      dropped.length === 0,
      dropped.join('; ') || 'every fresh cache kept its L1 when its bus was first confirmed',
    )
    for (const probe of PROBES) await stampede(ctx, round, probe)
    await ctx.sleep(ctx.holdMs / 2)
  },
}
