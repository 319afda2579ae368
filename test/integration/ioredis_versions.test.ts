/**
 * ioredis is a peer dependency (^5.11 || ^6). The suite runs on ioredis 6 (RESP3) by default and on ioredis 5 (RESP2)
 * with TIERCACHE_IOREDIS=5 (vitest.config.ts); the first block checks that the run uses the major it claims, here and
 * in the processes it starts. The second passes clients of both copies installed side by side (the devDependencies
 * `ioredis` and `ioredis-5`) to one tiercache: clusters are recognised by duck typing, not `instanceof`, so a Cluster
 * of another copy of ioredis works as well as one of tiercache's own.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as ioredis5 from 'ioredis-5'
import * as ioredis6 from '../../node_modules/ioredis/built/index.js'
import type { RedisClient } from '../../src/index.js'
import { isClusterClient, isRedisClient, redisOf } from '../../src/seam.js'
import { exec } from '../support/exec.js'
import { makeCache } from '../support/make_cache.js'
import { RedisCluster } from '../support/redis_cluster.js'
import { useRedis } from '../support/redis_server.js'

const major = process.env.TIERCACHE_IOREDIS === '5' ? 5 : 6
const redis = useRedis()

describe(`this run uses ioredis ${major}`, () => {
  it(`src/ and the test files import ioredis ${major}`, async () => {
    const { default: manifest } = (await import('ioredis/package.json', { with: { type: 'json' } })) as {
      default: { version: string }
    }
    expect(manifest.version.split('.')[0]).toBe(String(major))
  })

  it(`processes started by the tests (workers, the demo) import ioredis ${major}`, async () => {
    const ran = await exec(process.execPath, ['--import', 'tsx', '-e', "console.log(import.meta.resolve('ioredis'))"])
    expect(ran.code).toBe(0)
    expect(ran.stdout).toContain(major === 5 ? '/node_modules/ioredis-5/' : '/node_modules/ioredis/')
  })

  it(`the clients tiercache creates speak RESP${major === 5 ? 2 : 3}`, async () => {
    const cache = makeCache({ redis: redis.url })
    const info = String(await redisOf(cache)!.client.call('CLIENT', 'INFO'))
    expect(info).toContain(`resp=${major === 5 ? 2 : 3}`)
  })
})

describe('clients of two copies of ioredis side by side (5 and 6)', () => {
  let cluster: RedisCluster
  const clients: Array<{ disconnect(): void }> = []
  beforeAll(async () => {
    cluster = await RedisCluster.start()
  })
  afterAll(async () => {
    for (const client of clients) client.disconnect()
    await cluster?.close()
  })

  const copies: Record<string, (url: string, nodes: RedisCluster['nodes']) => [RedisClient, RedisClient]> = {
    // Typed as the copy src/ compiles against: at run time, any copy must do.
    'ioredis 5': (url, nodes) =>
      [new ioredis5.Redis(url), new ioredis5.Cluster(nodes)] as unknown as [RedisClient, RedisClient],
    'ioredis 6': (url, nodes) =>
      [new ioredis6.Redis(url), new ioredis6.Cluster(nodes)] as unknown as [RedisClient, RedisClient],
  }

  for (const [name, connect] of Object.entries(copies)) {
    it(`a Redis and a Cluster of ${name} are recognised, and the Cluster works across hash slots`, async () => {
      const [single, many] = connect(redis.url, cluster.nodes)
      clients.push(single, many)
      expect([isRedisClient(single), isClusterClient(single)]).toEqual([true, false])
      expect([isRedisClient(many), isClusterClient(many)]).toEqual([true, true])

      const writer = makeCache({ redis: many, namespace: 'copies' })
      const reader = makeCache({ redis: many, namespace: 'copies', l1: false })
      const keys = Array.from({ length: 12 }, (_, i) => `key:${i}`) // spread over every master's slots
      const errors: unknown[] = []
      reader.on('l2:error', ({ error }) => errors.push(error))
      await writer.setMany(keys.map((key, i) => ({ key, value: i })))
      expect(await reader.getMany(keys)).toEqual(keys.map((_, i) => i))
      await writer.clear() // SCAN on every master
      expect(await reader.getMany(keys)).toEqual(keys.map(() => undefined))
      expect(errors).toEqual([])
    })
  }
})
