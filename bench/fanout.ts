/**
 * The bus's fan-out on a Redis Cluster, classic vs sharded pub/sub (issue 17, "Measured"): a 3-master cluster, 1 to
 * 32 cache nodes (child processes, each one cache with the bus), a fixed total write rate spread over the nodes.
 * Per point: Redis CPU (INFO cpu, used_cpu_sys + used_cpu_user deltas summed over the masters, minus an idle
 * window of the same length measured first), cluster-bus pub/sub messages per write (CLUSTER INFO
 * `cluster_stats_messages_publish*_received`, summed over the masters) and messages delivered per write (bus
 * messages the nodes received from others, plus the writer's own copy).
 *
 * Bounded: `points` × (start + `seconds` of writes + drain); every child exits with the parent.
 * Run: `npx tsx bench/fanout.ts [rate=500] [seconds=3] [maxNodes=32]`
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { Cluster, Redis } from 'ioredis'
import { createCache } from '../src/index.js'
import { RedisCluster } from '../test/support/redis_cluster.js'

type Mode = 'classic' | 'sharded'
type Command = { cmd: 'start'; mode: Mode } | { cmd: 'write'; rate: number; ms: number; id: number } | { cmd: 'stop' }
interface Reply {
  /** ms from createCache to ready (the bus subscribed). */
  ready?: number
  error?: string
  done?: { writes: number; received: number }
  stopped?: true
}

const KEYS = 10_000
const DRAIN_MS = 300

// ------------------------------------------------------------------------------------------------------- child

async function child(nodes: Array<{ host: string; port: number }>): Promise<void> {
  let cache: ReturnType<typeof createCache> | undefined
  let client: Cluster | undefined
  let received = 0
  const send = (reply: Reply): void => void process.send?.(reply)
  process.on('disconnect', () => process.exit(0))
  process.on('message', (message: Command) => {
    ;(async () => {
      if (message.cmd === 'start') {
        const t0 = performance.now()
        client = new Cluster(nodes, { redisOptions: { maxRetriesPerRequest: 2 } })
        cache = createCache({ redis: client, namespace: 'fan', bus: { sharded: message.mode === 'sharded' } })
        cache.on('bus:message', () => received++)
        await cache.ready('60s')
        send({ ready: performance.now() - t0 })
      } else if (message.cmd === 'write' && cache !== undefined) {
        received = 0
        let writes = 0
        const active = cache
        const end = Date.now() + message.ms
        const start = Date.now()
        while (Date.now() < end) {
          const due = Math.floor(((Date.now() - start) / 1000) * message.rate)
          const batch: Array<Promise<void>> = []
          for (; writes < due; writes++)
            batch.push(active.set(`k:${message.id}:${writes % KEYS}`, writes).then(() => undefined))
          await Promise.all(batch)
          await new Promise((resolve) => setTimeout(resolve, 5))
        }
        await new Promise((resolve) => setTimeout(resolve, DRAIN_MS))
        send({ done: { writes, received } })
      } else if (message.cmd === 'stop') {
        await cache?.close()
        client?.disconnect()
        cache = undefined
        send({ stopped: true })
      }
    })().catch((error: unknown) => send({ error: String(error) }))
  })
}

// ------------------------------------------------------------------------------------------------------ parent

class Node {
  readonly process: ChildProcess
  readonly #waiting: Array<(reply: Reply) => void> = []

  constructor(script: string, nodes: Array<{ host: string; port: number }>) {
    this.process = fork(script, ['--child', JSON.stringify(nodes)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.process.on('message', (reply: Reply) => this.#waiting.shift()?.(reply))
  }

  ask(command: Command, timeoutMs = 30_000): Promise<Reply> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no reply to ${command.cmd} in ${timeoutMs} ms`)), timeoutMs)
      this.#waiting.push((reply) => {
        clearTimeout(timer)
        resolve(reply)
      })
      this.process.send(command)
    })
  }
}

interface Counters {
  cpu: number
  busMessages: number
}

async function counters(masters: Redis[]): Promise<Counters> {
  let cpu = 0
  let busMessages = 0
  for (const master of masters) {
    const info = await master.info('cpu')
    cpu += Number(/used_cpu_sys:([\d.]+)/.exec(info)?.[1]) + Number(/used_cpu_user:([\d.]+)/.exec(info)?.[1])
    const cluster = (await master.call('CLUSTER', 'INFO')) as string
    for (const name of ['publish', 'publishshard'])
      busMessages += Number(new RegExp(`cluster_stats_messages_${name}_received:(\\d+)`).exec(cluster)?.[1] ?? 0)
  }
  return { cpu, busMessages }
}

export interface FanoutPoint {
  mode: Mode
  nodes: number
  writes: number
  /** Redis CPU (ms, all masters) per 1,000 writes, idle subtracted. */
  cpuMsPer1kWrites: number
  /** Pub/sub messages crossing the cluster bus per write (received, summed over the masters). */
  clusterBusPerWrite: number
  /** Bus messages delivered per write: to the other nodes, plus the writer's own copy. */
  deliveredPerWrite: number
  /** The slowest node's time from createCache to ready (started one after the other), ms. */
  readyMs: number
}

export async function measureFanout(opts: { rate: number; seconds: number; maxNodes: number }): Promise<FanoutPoint[]> {
  const cluster = await RedisCluster.start(3, 0)
  const script = fileURLToPath(import.meta.url)
  const children: Node[] = []
  const masters = (await cluster.masters()).map((s) => new Redis({ host: '127.0.0.1', port: s.port }))
  const points: FanoutPoint[] = []
  try {
    const ms = opts.seconds * 1000
    const idleStart = await counters(masters)
    await new Promise((resolve) => setTimeout(resolve, ms + DRAIN_MS))
    const idleCpu = (await counters(masters)).cpu - idleStart.cpu
    const sizes = [1, 2, 4, 8, 16, 32].filter((n) => n <= opts.maxNodes)
    for (const n of sizes) {
      while (children.length < n) children.push(new Node(script, cluster.nodes))
      for (const mode of ['classic', 'sharded'] as const) {
        const nodes = children.slice(0, n)
        // One after the other: the steady state is measured, not a stampede of subscriptions (see README).
        const started: Reply[] = []
        for (const node of nodes) started.push(await node.ask({ cmd: 'start', mode }, 90_000))
        const failed = started.find((reply) => reply.error !== undefined)
        if (failed !== undefined) throw new Error(`a node did not start: ${failed.error}`)
        const readyMs = Math.max(...started.map((reply) => reply.ready ?? 0))
        const before = await counters(masters)
        const replies = await Promise.all(
          nodes.map((node, id) => node.ask({ cmd: 'write', rate: opts.rate / n, ms, id }, ms + 30_000)),
        )
        const after = await counters(masters)
        await Promise.all(nodes.map((node) => node.ask({ cmd: 'stop' })))
        const writes = replies.reduce((sum, r) => sum + (r.done?.writes ?? 0), 0)
        const received = replies.reduce((sum, r) => sum + (r.done?.received ?? 0), 0)
        const point: FanoutPoint = {
          mode,
          nodes: n,
          writes,
          cpuMsPer1kWrites: ((after.cpu - before.cpu - idleCpu) * 1e6) / Math.max(1, writes),
          clusterBusPerWrite: (after.busMessages - before.busMessages) / Math.max(1, writes),
          deliveredPerWrite: received / Math.max(1, writes) + 1,
          readyMs,
        }
        points.push(point)
        console.log(
          `${String(n).padStart(3)} nodes ${mode.padEnd(8)} ${String(writes).padStart(5)} writes  ` +
            `Redis CPU ${point.cpuMsPer1kWrites.toFixed(1).padStart(6)} ms/1k writes  ` +
            `cluster bus ${point.clusterBusPerWrite.toFixed(2).padStart(5)}/write  ` +
            `delivered ${point.deliveredPerWrite.toFixed(2).padStart(6)}/write  ` +
            `ready ${point.readyMs.toFixed(0).padStart(5)} ms`,
        )
      }
    }
    return points
  } finally {
    for (const node of children) node.process.kill()
    for (const master of masters) master.disconnect()
    await cluster.close()
  }
}

if (process.argv[2] === '--child') {
  await child(JSON.parse(process.argv[3] as string) as Array<{ host: string; port: number }>)
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const [rate = 500, seconds = 3, maxNodes = 32] = process.argv.slice(2).map(Number)
  console.log(`fan-out: 3-master cluster, ${rate} writes/s in total for ${seconds} s per point`)
  await measureFanout({ rate, seconds, maxNodes })
}
