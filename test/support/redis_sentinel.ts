/**
 * Test harness: a real Redis Sentinel setup on free loopback ports: a primary, a replica and three
 * `redis-server --sentinel` processes monitoring them as `mymaster` (quorum 2), tuned to fail over
 * within a couple of seconds (`down-after-milliseconds` 800, `failover-timeout` 1000). Started once
 * per test file with {@link useSentinel}; every process is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Redis } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { freePort, RedisServer, waitForPort } from './redis_server.js'

const NAME = 'mymaster'
const sentinels = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of sentinels) child.kill('SIGKILL')
})

export class RedisSentinel {
  readonly name = NAME
  /** The two data servers: `servers[0]` starts as the primary, `servers[1]` as its replica. */
  readonly servers: RedisServer[]
  readonly sentinelPorts: number[]
  readonly #children: ChildProcess[]
  readonly #dir: string

  private constructor(servers: RedisServer[], ports: number[], children: ChildProcess[], dir: string) {
    this.servers = servers
    this.sentinelPorts = ports
    this.#children = children
    this.#dir = dir
  }

  static async start(): Promise<RedisSentinel> {
    const primary = await RedisServer.start()
    const replica = await RedisServer.start({ args: ['--replicaof', '127.0.0.1', String(primary.port)] })
    const dir = mkdtempSync(join(tmpdir(), 'tiercache-sentinel-'))
    const ports: number[] = []
    const children: ChildProcess[] = []
    const setup = new RedisSentinel([primary, replica], ports, children, dir)
    try {
      for (let i = 0; i < 3; i++) {
        const port = await freePort()
        const file = join(dir, `sentinel-${i}.conf`)
        writeFileSync(
          file,
          [
            `port ${port}`,
            'bind 127.0.0.1',
            'protected-mode no',
            `dir ${dir}`,
            'sentinel resolve-hostnames no',
            'sentinel announce-ip 127.0.0.1',
            `sentinel monitor ${NAME} 127.0.0.1 ${primary.port} 2`,
            `sentinel down-after-milliseconds ${NAME} 800`,
            // Not shorter: after promoting the replica, Sentinel waits for an INFO (sent every 1 s during a failover)
            // showing it a primary, and gives up at this timeout. At 1000 ms a planned failover was abandoned about
            // one time in six (the replica promoted, the switch never made: CI, sentinel_min_replicas).
            `sentinel failover-timeout ${NAME} 3000`,
            `sentinel parallel-syncs ${NAME} 1`,
            '',
          ].join('\n'),
        )
        const child = spawn('redis-server', [file, '--sentinel'], { stdio: 'ignore' })
        sentinels.add(child)
        child.once('exit', () => sentinels.delete(child))
        children.push(child)
        ports.push(port)
        await waitForPort(port)
      }
      await setup.#waitUntilReady()
      return setup
    } catch (error) {
      await setup.close()
      throw error
    }
  }

  /** ioredis options reaching the primary through the sentinels (what a user passes as `redis`). */
  get options(): { sentinels: Array<{ host: string; port: number }>; name: string } {
    return { sentinels: this.sentinelPorts.map((port) => ({ host: '127.0.0.1', port })), name: NAME }
  }

  /** A plain connection to one sentinel (closed by the caller). */
  sentinel(index = 0): Redis {
    return new Redis({ host: '127.0.0.1', port: this.sentinelPorts[index] as number, maxRetriesPerRequest: 2 })
  }

  /** Freezes (SIGSTOP) or resumes (SIGCONT) every sentinel: their connections stay open, nothing is answered. */
  freezeSentinels(frozen: boolean): void {
    for (const child of this.#children) child.kill(frozen ? 'SIGSTOP' : 'SIGCONT')
  }

  /** What sentinel `index` says of the primary and its replicas (flags, failover state), for failure messages. */
  async describe(index = 0): Promise<string> {
    const master = await this.#cli(index, 'sentinel', 'master', NAME).catch((e: Error) => e.message)
    const replicas = await this.#cli(index, 'sentinel', 'replicas', NAME).catch((e: Error) => e.message)
    return `master: ${master.replace(/\n/g, ' ')}\nreplicas: ${replicas.replace(/\n/g, ' ')}`
  }

  /** The data server the sentinels name as primary now. */
  async primary(): Promise<RedisServer> {
    const port = await this.#primaryPort(0)
    const server = this.servers.find((s) => s.port === port)
    if (server === undefined) throw new Error(`the sentinels name an unknown primary on port ${port}`)
    return server
  }

  /**
   * Resolves once every sentinel knows the other two and the replica, and the replica is in sync: a failover
   * (forced or after a kill) can then start at once. Polls with a deadline (harness readiness, not a race).
   */
  async #waitUntilReady(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const ready = await this.#ready().catch(() => false)
      if (ready) return
      if (Date.now() > deadline) throw new Error(`the sentinel setup was not ready within ${timeoutMs} ms`)
      await new Promise((r) => setTimeout(r, 100))
    }
  }

  /** Every sentinel agrees on the primary, knows the two other sentinels and one replica in sync. */
  async #ready(): Promise<boolean> {
    const primaries = await Promise.all(this.sentinelPorts.map((_, i) => this.#primaryPort(i)))
    const port = primaries[0]
    if (primaries.some((p) => p !== port)) return false
    const primary = this.servers.find((s) => s.port === port)
    if (primary === undefined || !primary.running) return false
    const replication = await primary.cli('info', 'replication')
    if (!/connected_slaves:1/.test(replication) || !/state=online/.test(replication)) return false
    for (let i = 0; i < this.sentinelPorts.length; i++) {
      const fields = (await this.#cli(i, 'sentinel', 'master', NAME)).split('\n')
      const field = (name: string): string | undefined => fields[fields.indexOf(name) + 1]
      if (field('num-other-sentinels') !== '2' || field('num-slaves') !== '1') return false
      if (!/^master$/.test(field('flags') ?? '')) return false
      if (/s_down|disconnected/.test(await this.#cli(i, 'sentinel', 'replicas', NAME))) return false
    }
    return true
  }

  /**
   * Resolves once every sentinel has at least `count` clients subscribed (to `+switch-master`: ioredis's failover
   * detectors, one per client made with `failoverDetector`). A detector subscribes a moment after its client is ready;
   * a failover before that goes unseen by that client (a subscriber then stays on the demoted primary).
   */
  async detectorsSubscribed(count: number, timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const lists = await Promise.all(this.sentinelPorts.map((_, i) => this.#cli(i, 'client', 'list')))
      const subscribed = lists.map((list) => list.split('\n').filter((line) => /\bsub=[1-9]/.test(line)).length)
      if (subscribed.every((n) => n >= count)) return
      if (Date.now() > deadline) throw new Error(`failover detectors not subscribed: ${JSON.stringify(subscribed)}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /**
   * Waits until the setup is back to a primary with one replica in sync, every sentinel agreeing. A former primary
   * still running as a primary is made a replica of the new one at once, as Sentinel itself does only at its next
   * INFO refresh of it (up to 10 s later).
   */
  async settled(timeoutMs = 15_000): Promise<void> {
    const primary = await this.primary()
    for (const server of this.servers) {
      if (server === primary || !server.running) continue
      if (/role:master/.test(await server.cli('info', 'replication')))
        await server.cli('replicaof', '127.0.0.1', String(primary.port))
    }
    await this.#waitUntilReady(timeoutMs)
  }

  async #primaryPort(index: number): Promise<number> {
    const reply = await this.#cli(index, 'sentinel', 'get-master-addr-by-name', NAME)
    return Number(reply.split('\n')[1])
  }

  #cli(index: number, ...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(this.sentinelPorts[index]), ...args])
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.once('error', reject)
      child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(out))))
    })
  }

  async close(): Promise<void> {
    this.freezeSentinels(false)
    await Promise.all(
      this.#children.map(
        (child) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve()
            child.once('exit', () => resolve())
            child.kill('SIGKILL')
          }),
      ),
    )
    await Promise.all(this.servers.map((s) => s.close()))
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

/** A Sentinel setup for the calling file: started before its tests, closed after them. */
export function useSentinel(): { readonly setup: RedisSentinel } {
  let setup: RedisSentinel | undefined
  beforeAll(async () => {
    setup = await RedisSentinel.start()
  }, 30_000)
  afterAll(async () => {
    await setup?.close()
  })
  return {
    get setup() {
      if (setup === undefined) throw new Error('useSentinel: the setup starts in beforeAll')
      return setup
    },
  }
}
