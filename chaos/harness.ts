/**
 * A chaos run: a real redis-server (started here, on a free loopback port), one TCP proxy per node in front of
 * it, N cache nodes as processes of their own, a steady workload from a few concurrent clients, and the faults
 * one after another. For each fault: inject, hold, heal, wait for every node to recover (a Redis write succeeds
 * again and its bus is up; bounded), let the tail settle, then the fault's own checks. The result is one
 * `PhaseStats` per fault (chaos/checker.ts); chaos/verdict.ts decides what is a violation.
 */
import { cpus, loadavg, totalmem, type as osType, release } from 'node:os'
import { Redis } from 'ioredis'
import { DEFAULTS } from '../src/index.js'
import { parseDuration } from '../src/seam.js'
import { RedisServer } from '../test/support/redis_server.js'
import { Checker, type PhaseStats } from './checker.js'
import type { Allowance, Fault, FaultContext } from './fault.js'
import { NodeHandle, type CallResult } from './node_handle.js'
import { ChaosProxy } from './proxy.js'
import { Random } from './random.js'
import { Truth } from './truth.js'
import { CacheDriver, type CacheWorkloadConfig } from './workloads/cache/driver.js'
import { describeStored } from './workloads/cache/redis_keys.js'
import type { Driver, StepContext } from './workload.js'

export interface RunOptions {
  nodes: number
  faults: readonly Fault[]
  /** How long each fault holds (ms); the steady phase too. */
  holdMs: number
  /** Longest wait for the nodes to recover after a fault (ms). */
  recoveryCapMs: number
  /** Time after recovery during which the phase still collects reads (the fault's tail), ms. */
  settleMs: number
  /** Concurrent workload clients, and each one's pause between operations (ms, drawn up to this). */
  clients: number
  thinkMs: number
  /** A call not settled this long past its bound is hung. */
  hangSlackMs: number
  seed: number
  /** Module the nodes import tiercache from (absolute path); the sources by default. */
  target?: string
  workload: CacheWorkloadConfig
  /**
   * More workloads beside the cache's (sessions, HTTP caching), each taking `share` (0-1) of the steps. Their node
   * sides are started in every node by name (chaos/node/workloads.ts) and every fault and check applies to them.
   */
  extraWorkloads?: ReadonlyArray<{ driver: Driver; share: number }>
  log: (line: string) => void
}

export interface Machine {
  cpus: number
  cpuModel: string
  memoryGiB: number
  os: string
  node: string
  redis: string
  loadBefore: number[]
  loadAfter: number[]
}

export interface RunReport {
  options: Omit<RunOptions, 'faults' | 'log' | 'extraWorkloads'> & { faults: string[]; extraWorkloads: string[] }
  machine: Machine
  phases: PhaseStats[]
  faults: readonly Fault[]
  /** Errors of the harness itself (a bug here, not in the cache): they fail the run. */
  harnessErrors: string[]
  durationMs: number
}

/** The documented allowance of stale reads for each kind of fault, in ms (see fault.ts, `Allowance`). */
export function allowanceMs(allowance: Allowance): number {
  const maxStaleness = parseDuration(DEFAULTS.bus.maxStaleness, 'bus.maxStaleness')
  const heartbeat = parseDuration(DEFAULTS.bus.heartbeat, 'bus.heartbeat')
  const busDelay = BUS_DELAY_BOUND_MS
  if (allowance === 'bus') return busDelay
  if (allowance === 'deaf') return maxStaleness + busDelay
  return 2 * heartbeat + maxStaleness + busDelay
}

/**
 * The bus delay taken as the bound on a loaded machine: the same 500 ms the multi-process coherence test allows
 * (the measured p99 on one quiet host is 2.5-5.2 ms, README "Measured"; the table shows the counts at 10 ms too).
 */
export const BUS_DELAY_BOUND_MS = 500

/**
 * How long before a node saw its bus go down the writes it may have missed are counted from (hole 7 check). A killed
 * subscriber loses the messages Redis had sent it but it had not read, and a node on a loaded machine notices the
 * loss late: with 100 ms, CI (two cores, other work) saw a node drop 91 entries on reconnect against 45 keys written
 * in the window (revalidation drops only entries whose header or tags differ in Redis, so the rest were writes the
 * window missed).
 */
const REVALIDATION_SLACK_MS = 1000

interface NodeState {
  busUp: boolean
  /** Bus events of the node's current cache, on the harness's clock. */
  bus: Array<{ at: number; state: string; dropped: number; first: boolean }>
  firstWriteAfterHeal: number | undefined
}

export async function runChaos(options: RunOptions): Promise<RunReport> {
  const started = performance.now()
  const loadBefore = loadavg()
  const rng = new Random(options.seed)
  const truth = new Truth()
  const checker = new Checker()
  const driver = new CacheDriver(options.workload)
  const extra = options.extraWorkloads ?? []
  /** The driver of the next step: an extra workload with its share, the cache's otherwise. */
  const pickDriver = (): Driver => {
    let roll = rng.next()
    for (const w of extra) if ((roll -= w.share) < 0) return w.driver
    return driver
  }
  const harnessErrors: string[] = []
  const server = await RedisServer.start()
  const redisVersion = /redis_version:(\S+)/.exec(await server.cli('info', 'server'))?.[1] ?? '?'
  const proxies: ChaosProxy[] = []
  const nodes: NodeHandle[] = []
  const raw = new Redis(server.url, { maxRetriesPerRequest: 1 })
  raw.on('error', () => undefined) // the faults kill this connection too; it reconnects
  const states = new Map<number, NodeState>()
  const readOnly = new Set<number>()
  /** Nodes the workload leaves alone for now (a fault's probe has them to itself). */
  const idle = new Set<number>()
  /** Evidence being gathered for stale reads (see StepContext.inspect): awaited before a phase is judged. */
  const pendingEvidence = new Set<Promise<unknown>>()
  let healedAt = Infinity
  let stopped = false
  checker.begin('start', allowanceMs('bus'))

  const call: StepContext['call'] = async (node, op, args, boundMs) => {
    const phase = checker.current
    const result: CallResult = await node.call(op, args, boundMs + options.hangSlackMs, () =>
      checker.hung(phase, `node ${node.id} ${op} ${JSON.stringify(args).slice(0, 80)}`),
    )
    checker.op(phase, op, result.ok, result.ok ? undefined : result.code, result.ms, boundMs)
    return { ...result, phase }
  }

  const step: StepContext = {
    rng,
    truth,
    checker,
    call,
    pickNode() {
      const alive = nodes.filter((n) => n.alive && !idle.has(n.id))
      const node = rng.pick(alive.length > 0 ? alive : nodes)
      return { node, readOnly: readOnly.has(node.id) }
    },
    inspect(keys) {
      const evidence = withTimeout(raw.mgetBuffer(...keys), 2000, 'inspect').then(
        (values) => ({ text: keys.map((key, i) => describeStored(key, values[i] ?? null)).join(', '), values }),
        (error: Error) => ({ text: `unknown (${error.message})`, values: keys.map(() => null) }),
      )
      pendingEvidence.add(evidence)
      void evidence.then(() => pendingEvidence.delete(evidence))
      return evidence
    },
    redisWriteOk(node, at) {
      const state = states.get(node.id)
      if (state !== undefined && at >= healedAt && state.firstWriteAfterHeal === undefined)
        state.firstWriteAfterHeal = at
    },
  }

  try {
    for (let i = 0; i < options.nodes; i++) proxies.push(await ChaosProxy.start(server.port, () => rng.next()))
    for (let i = 0; i < options.nodes; i++) {
      const node = new NodeHandle(
        {
          nodeId: i,
          redisUrl: (proxies[i] as ChaosProxy).url,
          workloads: ['cache', ...extra.map((w) => w.driver.name)],
          ...(options.target !== undefined && { target: options.target }),
          options: { cache: { l2: { timeout: options.workload.l2TimeoutMs } } },
        },
        truth,
      )
      const state: NodeState = { busUp: false, bus: [], firstWriteAfterHeal: undefined }
      states.set(i, state)
      node.on((event) => {
        if (event.event === 'bus:state' && event.current === true) {
          state.busUp = event.state === 'up'
          state.bus.push({
            at: performance.now(),
            state: String(event.state),
            dropped: Number(event.dropped),
            first: event.first === true,
          })
        } else if (event.event === 'revalidation-failed' && event.current === true) {
          state.bus.push({ at: performance.now(), state: 'revalidation-failed', dropped: 0, first: false })
        } else if (event.event === 'unhandled' || event.event === 'crash') {
          checker.incident(checker.current, event.event, i, String(event.message).slice(0, 300))
        } else if (event.event === 'exit' && node.crashed !== undefined) {
          checker.incident(checker.current, 'crash', i, node.crashed.slice(0, 300))
        }
      })
      nodes.push(node)
    }
    await Promise.all(nodes.map((n) => n.ready))
    await waitUntil(() => [...states.values()].every((s) => s.busUp), 15_000, 'every node bus up at start')
    options.log(`${options.nodes} nodes up on redis-server :${server.port} (seed ${options.seed})`)

    const clients = Array.from({ length: options.clients }, async () => {
      while (!stopped) {
        try {
          await pickDriver().step(step)
        } catch (error) {
          harnessErrors.push(`workload step: ${(error as Error).stack ?? String(error)}`)
          if (harnessErrors.length > 5) stopped = true
        }
        if (options.thinkMs > 0) await sleep(rng.int(options.thinkMs + 1))
      }
    })

    for (const fault of options.faults) {
      if (stopped) break
      const phase = checker.begin(fault.name, allowanceMs(fault.allowance))
      readOnly.clear()
      idle.clear()
      healedAt = Infinity
      for (const state of states.values()) state.firstWriteAfterHeal = undefined
      const ctx: FaultContext = {
        server,
        proxies,
        nodes,
        raw,
        rng,
        truth,
        checker,
        driver,
        phase,
        holdMs: options.holdMs,
        call,
        workload: step,
        cli: (...args) => server.cli(...args),
        sleep,
        readOnly: (id) => void readOnly.add(id),
        idle: (id, on) => void (on ? idle.add(id) : idle.delete(id)),
      }
      options.log(`${fault.name}: ${fault.description}`)
      try {
        await withTimeout(fault.run(ctx), options.holdMs * 4 + 30_000, `fault ${fault.name}`)
      } catch (error) {
        harnessErrors.push(`${fault.name}: ${(error as Error).message}`)
      }
      phase.healedAt = healedAt = performance.now()
      await recover(phase)
      await sleep(options.settleMs)
      try {
        await fault.verify?.(ctx)
      } catch (error) {
        harnessErrors.push(`${fault.name} verify: ${(error as Error).message}`)
      }
      if (fault.dataSurvives && fault.keepsRedisSlow !== true) checkRevalidation(fault, phase)
      phase.endedAt = performance.now()
      await Promise.allSettled([...pendingEvidence])
      await collectEvents(phase)
    }

    stopped = true
    await withTimeout(Promise.all(clients), 30_000, 'workload clients to stop').catch((error: Error) =>
      harnessErrors.push(error.message),
    )
  } finally {
    stopped = true
    await Promise.allSettled(nodes.map((n) => n.close()))
    await Promise.allSettled(proxies.map((p) => p.close()))
    raw.disconnect()
    await server.close()
  }

  return {
    options: {
      ...options,
      faults: options.faults.map((f) => f.name),
      extraWorkloads: extra.map((w) => w.driver.name),
    },
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '?',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      os: `${osType()} ${release()}`,
      node: process.version,
      redis: redisVersion,
      loadBefore,
      loadAfter: loadavg(),
    },
    phases: checker.phases.slice(1),
    faults: options.faults,
    harnessErrors,
    durationMs: performance.now() - started,
  }

  /** Waits until every live node has written to Redis since the heal and has its bus up (bounded). */
  async function recover(phase: PhaseStats): Promise<void> {
    const deadline = performance.now() + options.recoveryCapMs
    for (;;) {
      let all = true
      for (const node of nodes) {
        const state = states.get(node.id) as NodeState
        const recovery = (phase.recovery[node.id] ??= { l2Ms: undefined, busMs: undefined })
        if (!node.alive) continue
        if (readOnly.has(node.id)) recovery.l2Ms ??= Number.NaN // sends no writes: nothing to measure
        if (recovery.l2Ms === undefined && state.firstWriteAfterHeal !== undefined)
          recovery.l2Ms = state.firstWriteAfterHeal - phase.healedAt
        if (recovery.busMs === undefined && state.busUp) {
          const up = state.bus.findLast((e) => e.state === 'up')
          recovery.busMs = up === undefined || up.at < phase.healedAt ? 0 : up.at - phase.healedAt
        }
        if (recovery.l2Ms === undefined || recovery.busMs === undefined) all = false
      }
      if (all || performance.now() > deadline) return
      await sleep(20)
    }
  }

  /**
   * Issue 10 #7 (DESIGN.md point 12): a node whose bus comes back while Redis kept its data should drop only what
   * changed meanwhile. Compares what each reconnect dropped with the keys written around the outage.
   */
  function checkRevalidation(fault: Fault, phase: PhaseStats): void {
    const shortLived = Array.from({ length: options.workload.keys }, (_, i) => driver.ttlOf(i)).filter(
      (ttl) => ttl < 60_000,
    ).length
    const excess: string[] = []
    let reconnects = 0
    let fallbacks = 0
    for (const [id, state] of states) {
      for (let i = 0; i < state.bus.length; i++) {
        const up = state.bus[i] as NodeState['bus'][number]
        if (up.state !== 'up' || up.first || up.at < phase.startedAt) continue
        const down = state.bus.slice(0, i).findLast((e) => e.state === 'down')
        if (down === undefined) continue
        if (state.bus.slice(0, i).some((e) => e.state === 'revalidation-failed' && e.at >= down.at)) {
          fallbacks++ // L1 dropped because Redis did not answer the revalidation: the documented fallback
          continue
        }
        reconnects++
        // A visible loss (CLIENT KILL, RST) is seen at once; a silent one (a pause, a freeze, a partition) only when
        // the heartbeat notices, so what was missed may go back to the start of the fault.
        const lostAt = fault.allowance === 'silent' ? Math.min(phase.startedAt, down.at) : down.at
        const changed = checker.changedBetween(lostAt - REVALIDATION_SLACK_MS, up.at).size
        const allowed = changed + shortLived + 10
        if (up.dropped > allowed)
          excess.push(`node ${id} dropped ${up.dropped} L1 entries on reconnect, ${changed} keys had changed`)
      }
    }
    if (fallbacks > 0) phase.notes.push(`${fallbacks} revalidations failed (Redis too slow) and dropped L1 instead`)
    if (reconnects === 0) return
    phase.checks.push({
      id: `${fault.name}/L1 revalidated after the bus returns`,
      ok: excess.length === 0,
      detail: excess.slice(0, 3).join('; ') || `${reconnects} reconnects dropped no more than what changed`,
    })
  }

  async function collectEvents(phase: PhaseStats): Promise<void> {
    const results = await Promise.all(nodes.map((node) => node.call('cache.stats', null, 5000)))
    for (const result of results) {
      if (!result.ok) continue
      for (const [name, count] of Object.entries(result.result as Record<string, number>))
        phase.events[name] = (phase.events[name] ?? 0) + count
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms))
}

async function waitUntil(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = performance.now() + timeoutMs
  while (!condition()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(20)
  }
}

async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_resolve, reject) => {
        timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms)
      }),
    ])
  } finally {
    clearTimeout(timer)
  }
}
