import { fileURLToPath } from 'node:url'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'
import { deferred } from '../support/deferred.js'
import { busOf, nextEvent } from '../support/make_cache.js'
import { RedisServer } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'

const script = fileURLToPath(new URL('../fixtures/lock_worker.ts', import.meta.url))

describe('distributed lock (lock: true)', () => {
  let server: RedisServer
  let redis: Redis
  const workers: Worker[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
    redis = new Redis(server.url)
  })
  afterAll(async () => {
    for (const worker of workers) worker.kill()
    redis?.disconnect()
    await server?.close()
  })

  function start(key: string, mode: 'call' | 'hold', calls: number, lockTimeout: number): Worker {
    const worker = new Worker(script, [server.url, key, mode, String(calls), String(lockTimeout)])
    workers.push(worker)
    return worker
  }

  it('4 processes × 250 concurrent calls on a cold key run the factory once in total', async () => {
    const group = Array.from({ length: 4 }, () => start('cold', 'call', 250, 5000))
    await Promise.all(group.map((worker) => worker.next('ready')))
    for (const worker of group) worker.send('go')
    const results = await Promise.all(group.map((worker) => worker.next('done')))
    expect(await redis.get('factory-calls:cold')).toBe('1')
    const values = new Set(results.flatMap((result) => result.values as string[]))
    expect(values.size).toBe(1)
    expect(results.map((result) => result.factoryCalls).reduce((a, b) => Number(a) + Number(b), 0)).toBe(1)
    // The lease (the lock) is released once the value is written.
    expect(await redis.exists('tc!lease:tc:locks::cold')).toBe(0)
  })

  it('a lock holder killed mid-factory does not block the others past the lock timeout', async () => {
    const lockTimeout = 2000
    // Every process is started and connected first, so that the others ask for the lock well
    // within the holder's lockTimeout (process start-up on a loaded machine can take longer).
    const holder = start('orphan', 'hold', 1, lockTimeout)
    const others = [start('orphan', 'call', 50, lockTimeout), start('orphan', 'call', 50, lockTimeout)]
    await Promise.all([holder, ...others].map((worker) => worker.next('ready')))
    holder.send('go')
    await holder.next('holding')
    for (const worker of others) worker.send('go')
    // Both wait on the lock channel (each process has one subscriber) before the holder dies.
    await vi.waitFor(async () => expect((await redis.pubsub('NUMSUB', 'tc!lock'))[1]).toBe(2), { timeout: 5000 })
    holder.kill()
    const results = await Promise.all(others.map((worker) => worker.next('done')))
    for (const result of results) {
      expect(result.ms as number).toBeLessThan(lockTimeout + 1500) // the wait, then a 200 ms factory
      expect((result.values as string[]).length).toBe(1)
    }
    for (const worker of others) expect(worker.messages.some((m) => 'lockTimeout' in m)).toBe(true)
  })

  it('waiters in another cache get the holder’s value as soon as it is written, without waiting for the timeout', async () => {
    const a = createCache({ redis: server.url, namespace: 'in-proc' })
    const b = createCache({ redis: server.url, namespace: 'in-proc' })
    await Promise.all([a.ready(), b.ready()]) // the bus's first subscription fences fills in flight: start after it
    try {
      const gate = deferred<string>()
      const slow = vi.fn(() => gate.promise)
      const other = vi.fn(() => 'other')
      const first = a.getOrSet('k', slow, { lock: true, lockTimeout: '30s' })
      await vi.waitFor(async () => expect(await redis.exists('tc!lease:tc:in-proc::k')).toBe(1))
      const second = b.getOrSet('k', other, { lock: true, lockTimeout: '30s' })
      await vi.waitFor(async () => expect((await redis.pubsub('NUMSUB', 'tc!lock'))[1]).toBeGreaterThanOrEqual(1))
      const started = performance.now()
      gate.resolve('from a')
      expect(await first).toBe('from a')
      expect(await second).toBe('from a')
      expect(performance.now() - started).toBeLessThan(1000)
      expect(other).not.toHaveBeenCalled()
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('a holder whose bus reconnects while its factory runs still writes under its lease: one factory run', async () => {
    // The bus coming back fences every fill in flight (what it read may predate a missed invalidation). That keeps
    // the value out of the holder's L1, but Redis's lease decides the write: a fill skipped for it released the lock
    // unwritten, and every waiter ran its own factory (seen through a Sentinel failover).
    const a = createCache({ redis: server.url, namespace: 'bus-blip' })
    const b = createCache({ redis: server.url, namespace: 'bus-blip' })
    await Promise.all([a.ready(), b.ready()])
    try {
      const gate = deferred<string>()
      const other = vi.fn(() => 'other')
      const first = a.getOrSet('k', () => gate.promise, { lock: true, lockTimeout: '30s' })
      await vi.waitFor(async () => expect(await redis.exists('tc!lease:tc:bus-blip::k')).toBe(1))
      const second = b.getOrSet('k', other, { lock: true, lockTimeout: '30s' })
      await vi.waitFor(async () => expect((await redis.pubsub('NUMSUB', 'tc!lock'))[1]).toBeGreaterThanOrEqual(1))
      const back = nextEvent(a, 'bus:state', (s) => s.state === 'up')
      const name = `tiercache-bus-${busOf(a).origin.toString('hex')}`
      const line = ((await redis.client('LIST')) as string).split('\n').find((l) => l.includes(`name=${name} `))
      await redis.client('KILL', 'ID', String(/id=(\d+)/.exec(line ?? '')?.[1])) // A's bus subscriber only
      await back
      gate.resolve('from a')
      expect(await first).toBe('from a')
      expect(await second).toBe('from a')
      expect(other).not.toHaveBeenCalled()
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('a failed holder wakes the waiters, and one of them takes the lock and runs the factory', async () => {
    const a = createCache({ redis: server.url, namespace: 'fail' })
    const b = createCache({ redis: server.url, namespace: 'fail' })
    await Promise.all([a.ready(), b.ready()]) // the bus's first subscription fences fills in flight: start after it
    try {
      const gate = deferred<string>()
      const first = a.getOrSet('k', () => gate.promise, { lock: true }).catch((e: unknown) => e)
      await vi.waitFor(async () => expect(await redis.exists('tc!lease:tc:fail::k')).toBe(1))
      const recover = vi.fn(() => 'recovered')
      const second = b.getOrSet('k', recover, { lock: true })
      await vi.waitFor(async () => expect((await redis.pubsub('NUMSUB', 'tc!lock'))[1]).toBeGreaterThanOrEqual(1))
      gate.reject(new Error('db down'))
      expect(await first).toMatchObject({ code: 'E_FACTORY' })
      expect(await second).toBe('recovered')
      expect(recover).toHaveBeenCalledTimes(1)
    } finally {
      await a.close()
      await b.close()
    }
  })

  it('with a stale value in grace, a caller that finds the lock taken answers with it at once', async () => {
    vi.useFakeTimers({ toFake: ['Date'] })
    const a = createCache({ redis: server.url, namespace: 'stale-lock' })
    const b = createCache({ redis: server.url, namespace: 'stale-lock' })
    await Promise.all([a.ready(), b.ready()]) // the bus's first subscription fences fills in flight: start after it
    try {
      const options = { ttl: 1000, grace: '1h', lock: true } as const
      await a.getOrSet('k', () => 'old', options)
      vi.setSystemTime(Date.now() + 5000)
      const gate = deferred<string>()
      const refreshing = a.getOrSet('k', () => gate.promise, { ...options, softTimeout: '1h' })
      await vi.waitFor(async () => expect(await redis.exists('tc!lease:tc:stale-lock::k')).toBe(1))
      const served: unknown[] = []
      b.on('stale:served', (payload) => served.push(payload))
      const other = vi.fn(() => 'other')
      expect(await b.getOrSet('k', other, options)).toBe('old')
      expect(served).toMatchObject([{ reason: 'lock-held' }])
      expect(other).not.toHaveBeenCalled()
      gate.resolve('new')
      expect(await refreshing).toBe('new')
    } finally {
      vi.useRealTimers()
      await a.close()
      await b.close()
    }
  })

  it('when Redis is down, lock: true still answers from the factory (the lease read fails and is reported)', async () => {
    const down = await RedisServer.start()
    const cache = createCache({ redis: down.url, namespace: 'down', l2: { timeout: 200 } })
    try {
      await cache.health()
      await down.kill()
      const errors: string[] = []
      cache.on('l2:error', (payload) => errors.push(payload.operation))
      expect(await cache.getOrSet('k', () => 'from the factory', { lock: true })).toBe('from the factory')
      expect(errors).toContain('get') // the read that takes the lease (the lock) in the same round trip
    } finally {
      await cache.close()
      await down.close()
    }
  })
})
