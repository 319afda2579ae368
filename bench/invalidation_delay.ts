/**
 * Invalidation propagation between two processes: the time from `set` resolving on node A
 * (this process) to node B (a child process) having dropped the key from its L1, i.e. B's
 * `bus:message` for that key. One clock only: A stamps when `set` resolves and when B's IPC
 * report of the drop arrives, so each sample is an upper bound that includes one IPC hop
 * (two processes' clocks disagree by a fraction of a millisecond, too much to subtract
 * stamps taken in different processes). `ipcRoundTripP50` gives that hop's scale. Writes are
 * sequential, and B reloads the key into L1 after each drop so every write has something to
 * invalidate.
 *
 * Run on its own (starts its own redis-server): `npx tsx bench/invalidation_delay.ts [writes]`
 * Or: `import { measureInvalidationDelay } from './invalidation_delay.js'`.
 */
import { fork } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { createCache } from '../src/index.js'

export interface InvalidationDelay {
  /** Median delay, ms. */
  p50: number
  /** 99th percentile delay, ms. */
  p99: number
  /** Writes measured (after a warm-up that is not counted). */
  samples: number
  /** Median A→B→A IPC round trip with no Redis involved, ms: each sample includes about half of it. */
  ipcRoundTripP50: number
}

const WARMUP = 100
const now = (): number => performance.timeOrigin + performance.now()

export async function measureInvalidationDelay(opts: { redisUrl: string; writes: number }): Promise<InvalidationDelay> {
  const writes = Math.max(1, Math.floor(opts.writes))
  const script = fileURLToPath(import.meta.url)
  const observer = fork(script, ['--observer', opts.redisUrl], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const writer = createCache({ redis: opts.redisUrl, namespace: 'bench-delay' })
  try {
    const reports = new Map<string, (droppedAt: number) => void>()
    const ready = new Promise<void>((resolve, reject) => {
      observer.once('exit', (code) => reject(new Error(`observer exited with ${code}`)))
      observer.on('message', (message: { ready?: boolean; key?: string }) => {
        if (message.ready === true) return resolve()
        reports.get(message.key as string)?.(now())
      })
    })
    await ready
    const pings: number[] = []
    for (let i = 0; i < 200; i++) {
      const back = new Promise<number>((resolve) => reports.set('__ping__', resolve))
      const sent = now()
      observer.send({ ping: '__ping__' })
      pings.push((await back) - sent)
    }
    pings.sort((a, b) => a - b)
    const delays: number[] = []
    for (let i = 0; i < WARMUP + writes; i++) {
      const key = `k${i % 64}`
      const dropped = new Promise<number>((resolve) => reports.set(key, resolve))
      await writer.set(key, i)
      const resolvedAt = now()
      const droppedAt = await dropped
      reports.delete(key)
      if (i >= WARMUP) delays.push(droppedAt - resolvedAt)
    }
    delays.sort((a, b) => a - b)
    const at = (q: number): number => delays[Math.min(delays.length - 1, Math.floor(delays.length * q))] as number
    return {
      p50: round(at(0.5)),
      p99: round(at(0.99)),
      samples: delays.length,
      ipcRoundTripP50: round(pings[100] as number),
    }
  } finally {
    observer.kill('SIGTERM')
    await writer.close()
  }
}

const round = (ms: number): number => Math.round(ms * 1000) / 1000

/** Node B: reports when its L1 dropped a key, then reads it back into L1. */
async function observe(redisUrl: string): Promise<void> {
  const cache = createCache({ redis: redisUrl, namespace: 'bench-delay' })
  cache.on('bus:message', (message) => {
    for (const key of message.items) {
      process.send?.({ key })
      cache.get(key).catch(() => undefined)
    }
  })
  process.on('message', (message: { ping?: string }) => {
    if (message.ping !== undefined) process.send?.({ key: message.ping })
  })
  cache.on('bus:state', (state) => {
    if (state.state === 'up') process.send?.({ ready: true })
  })
  process.once('SIGTERM', () => {
    cache.close().then(
      () => process.exit(0),
      () => process.exit(1),
    )
  })
  process.once('disconnect', () => process.exit(0))
}

if (process.argv[2] === '--observer') {
  await observe(process.argv[3] as string)
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const { RedisServer } = await import('../test/support/redis_server.js')
  const server = await RedisServer.start()
  try {
    const writes = Number(process.argv[2] ?? 2000)
    const result = await measureInvalidationDelay({ redisUrl: server.url, writes })
    console.log(
      `invalidation delay over ${result.samples} writes: p50 ${result.p50} ms, p99 ${result.p99} ms (target p99 < 5 ms; ` +
        `each sample includes one IPC hop, IPC round trip p50 ${result.ipcRoundTripP50} ms)`,
    )
  } finally {
    await server.close()
  }
}
