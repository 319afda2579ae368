/**
 * Test harness: a real 3-master Redis Cluster on free loopback ports
 * (`redis-server --cluster-enabled yes` ×3, then `redis-cli --cluster create … --cluster-yes`).
 */
import { spawn } from 'node:child_process'
import { Cluster } from 'ioredis'
import { RedisServer } from './redis_server.js'

export class RedisCluster {
  readonly servers: RedisServer[]

  private constructor(servers: RedisServer[]) {
    this.servers = servers
  }

  static async start(masters = 3): Promise<RedisCluster> {
    const servers: RedisServer[] = []
    try {
      for (let i = 0; i < masters; i++) {
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
        '0',
        '--cluster-yes',
      ])
      const cluster = new RedisCluster(servers)
      await cluster.#waitUntilOk()
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

  async #waitUntilOk(): Promise<void> {
    const deadline = Date.now() + 15_000
    for (;;) {
      const states = await Promise.all(this.servers.map((s) => s.cli('cluster', 'info')))
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
