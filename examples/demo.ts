/**
 * tiercache demo: two "app servers" sharing one Redis.
 *
 *   npm run demo                               # embedded in-process Redis (ioredis-mock), nothing to install
 *   REDIS_URL=redis://127.0.0.1:6379 npm run demo   # a real Redis
 */
import { Redis } from 'ioredis'
import { createCache, type RedisClient } from '../src/index.js'
import { embeddedRedis } from './embedded_redis.js'

async function connect(): Promise<{ redis: RedisClient; where: string; close: () => void }> {
  const url = process.env.REDIS_URL
  if (url !== undefined && url !== '') {
    const redis = new Redis(url, { maxRetriesPerRequest: 1 })
    return { redis, where: `Redis at ${url}`, close: () => redis.disconnect() }
  }
  const redis = await embeddedRedis()
  return {
    redis,
    where: 'an embedded in-process Redis (ioredis-mock; set REDIS_URL for a real one)',
    close: () => redis.disconnect(),
  }
}

const { redis, where, close } = await connect()
console.log(`tiercache demo on ${where}\n`)

// Two servers of the same app: each has its own L1, both share L2.
const namespace = `demo-${process.pid}`
const serverA = createCache({ redis, namespace, ttl: '10m', l1: { maxEntries: 1000 } })
const serverB = createCache({ redis, namespace, ttl: '10m', l1: { maxEntries: 1000 } })
// As an app does at startup, before it takes traffic: wait until Redis answers and the bus hears invalidations.
await Promise.all([serverA.ready(), serverB.ready()])

let dbCalls = 0
async function loadProduct(id: number): Promise<{ id: number; name: string; price: bigint; updated: Date }> {
  dbCalls++
  await new Promise((resolve) => setTimeout(resolve, 20)) // a slow database
  return { id, name: `Product ${id}`, price: 1999n, updated: new Date('2026-11-23T10:00:00Z') }
}

// 1. Read-through: A misses everywhere and runs the loader; B finds it in Redis and promotes it to its L1.
const p1 = await serverA.getOrSet('product:1', () => loadProduct(1), { ttl: '1h' })
const p1b = await serverB.getOrSet('product:1', () => loadProduct(1))
console.log('1. getOrSet on A, then on B:', p1b, `(database calls: ${dbCalls}; Date and BigInt survive the trip)`)
console.log(
  '   same value on both servers:',
  JSON.stringify(p1, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)) ===
    JSON.stringify(p1b, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)),
)

// 2. Stampede protection: 100 concurrent requests for a cold key run the loader once.
dbCalls = 0
await Promise.all(Array.from({ length: 100 }, () => serverA.getOrSet('product:2', () => loadProduct(2))))
console.log(`2. 100 concurrent getOrSet on a cold key → ${dbCalls} database call`)

// 3. Bulk: one Redis round trip for everything not in L1.
await serverA.setMany([1, 2, 3].map((i) => ({ key: `stock:${i}`, value: i * 10 })))
console.log('3. getMany on B:', await serverB.getMany(['stock:1', 'stock:2', 'stock:3', 'stock:4']))

// 4. A shared counter instead of per-server state.
await Promise.all([serverA.incr('visits'), serverB.incr('visits'), serverA.incr('visits', 5)])
console.log('4. visits counted on both servers:', await serverB.get('visits'))

// 5. Delete on A: gone from Redis and from A's L1.
await serverA.delete('stock:1')
console.log('5. after delete on A, A reads:', await serverA.get('stock:1'))

// 6. What the cache saw.
console.log('6. stats of A:', serverA.stats())
console.log('   health of B:', await serverB.health())

await serverA.clear()
await serverA.close()
await serverB.close()
close()
