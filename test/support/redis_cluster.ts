/**
 * Test harness: a real 3-master Redis Cluster on free loopback ports
 * (`redis-server --cluster-enabled yes` ×3, then `redis-cli --cluster create … --cluster-yes`), optionally with
 * replicas (`start(3, 1)`: one replica per master, so that a master's death is failed over).
 */
import { spawn } from 'node:child_process'
import { Cluster } from 'ioredis'
import { afterAll, beforeAll } from 'vitest'
import { RedisServer } from './redis_server.js'

export class RedisCluster {
  readonly servers: RedisServer[]

  private constructor(servers: RedisServer[]) {
    this.servers = servers
  }

  static async start(masters = 3, replicas = 0): Promise<RedisCluster> {
    const servers: RedisServer[] = []
    try {
      for (let i = 0; i < masters * (1 + replicas); i++) {
        servers.push(
          await RedisServer.start({
            args: [
              '--cluster-enabled',
              'yes',
              '--cluster-config-file',
              `nodes-${i}.conf`,
              '--cluster-node-timeout',
              '2000',
            ],
          }),
        )
      }
      await run('redis-cli', [
        '--cluster',
        'create',
        ...servers.map((s) => `127.0.0.1:${s.port}`),
        '--cluster-replicas',
        String(replicas),
        '--cluster-yes',
      ])
      const cluster = new RedisCluster(servers)
      await cluster.#waitUntilOk()
      if (replicas > 0) await cluster.#waitForReplicas(masters * replicas)
      return cluster
    } catch (error) {
      await Promise.all(servers.map((s) => s.close()))
      throw error
    }
  }

  get nodes(): Array<{ host: string; port: number }> {
    return this.servers.map((s) => ({ host: '127.0.0.1', port: s.port }))
  }

  /** A new ioredis Cluster client for this cluster. */
  client(): Cluster {
    return new Cluster(this.nodes, { lazyConnect: false, redisOptions: { maxRetriesPerRequest: 2 } })
  }

  /** The servers running now whose role is master. */
  async masters(): Promise<RedisServer[]> {
    const running = this.servers.filter((s) => s.running)
    const roles = await Promise.all(running.map((s) => s.cli('role')))
    return running.filter((_, i) => roles[i]?.startsWith('master'))
  }

  /** Resolves once the running nodes agree the cluster is ok again (after a failover); polls with a deadline. */
  async waitUntilOk(timeoutMs = 15_000): Promise<void> {
    await this.#waitUntilOk(timeoutMs)
  }

  /** Every replica is in sync with its master. */
  async #waitForReplicas(count: number): Promise<void> {
    const deadline = Date.now() + 15_000
    for (;;) {
      const infos = await Promise.all(this.servers.map((s) => s.cli('info', 'replication')))
      if (infos.filter((info) => info.includes('master_link_status:up')).length === count) return
      if (Date.now() > deadline) throw new Error(`the replicas did not sync:\n${infos.join('\n')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async #waitUntilOk(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (;;) {
      const states = await Promise.all(this.servers.filter((s) => s.running).map((s) => s.cli('cluster', 'info')))
      if (states.every((info) => info.includes('cluster_state:ok'))) return
      if (Date.now() > deadline) throw new Error(`cluster did not become ok:\n${states.join('\n')}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  async close(): Promise<void> {
    await Promise.all(this.servers.map((s) => s.close()))
  }
}

async function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args)
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
    child.once('error', reject)
    child.once('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`${command} ${args.join(' ')}:\n${out}`)),
    )
  })
}

/**
 * A cluster for the calling file: started before its tests, closed after them, with every client made through
 * `client()` disconnected first.
 */
export function useCluster(masters = 3, replicas = 0): { readonly cluster: RedisCluster; client(): Cluster } {
  let cluster: RedisCluster | undefined
  const clients: Cluster[] = []
  beforeAll(async () => {
    cluster = await RedisCluster.start(masters, replicas)
  }, 30_000)
  afterAll(async () => {
    for (const client of clients.splice(0)) client.disconnect()
    await cluster?.close()
  })
  return {
    get cluster() {
      if (cluster === undefined) throw new Error('useCluster: the cluster starts in beforeAll')
      return cluster
    },
    client() {
      const made = this.cluster.client()
      clients.push(made)
      return made
    },
  }
}
