// A user's program passing ioredis' own clients to tiercache: a `Redis` for one server and a `Cluster`. Type-checked
// against whichever ioredis the project installed (6 or 5), then run against a real server and a real cluster:
//   node program.mjs <redis url> <cluster host> <cluster port>
// On a Cluster, keys of different hash slots only work if tiercache recognised the client as a cluster.
import { Cluster, Redis } from 'ioredis'
import { createCache, type RedisClient } from 'tiercache'

const [url = '', host = '', port = ''] = process.argv.slice(2)

async function exercise(client: RedisClient, namespace: string) {
  const writer = createCache({ redis: client, namespace })
  const reader = createCache({ redis: client, namespace, l1: false }) // reads Redis itself
  const errors: string[] = []
  for (const cache of [writer, reader])
    cache.on('l2:error', ({ operation, error }) => errors.push(`${operation}: ${error.message}`))
  const keys = Array.from({ length: 12 }, (_, i) => `key:${i}`) // spread over the hash slots of every master
  await writer.setMany(keys.map((key, i) => ({ key, value: i })))
  const written = await reader.getMany<number>(keys)
  await writer.clear() // SCAN on every master
  const cleared = await reader.getMany<number>(keys)
  const health = await reader.health()
  await writer.close()
  await reader.close()
  return { written, cleared: cleared.filter((v) => v !== undefined).length, ok: health.ok, errors }
}

const redis = new Redis(url)
const cluster = new Cluster([{ host, port: Number(port) }])
const resp = /resp=(\d)/.exec(String(await redis.call('CLIENT', 'INFO')))?.[1]
const result = { resp, standalone: await exercise(redis, 'standalone'), cluster: await exercise(cluster, 'cluster') }
redis.disconnect()
cluster.disconnect()
console.log(JSON.stringify(result))
