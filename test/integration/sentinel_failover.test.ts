/**
 * Sentinel: a real primary, replica and three sentinels (test/support/redis_sentinel.ts). Two caches write a
 * steady stream of keys through a planned failover (`SENTINEL FAILOVER`) and then through a kill -9 of the
 * primary. Proves: writes sent once a cache has reconnected after `+switch-master` all land on the new primary,
 * the bus subscriber follows to the new primary and comes back (revalidating L1), invalidations then flow both
 * ways, and nothing hangs. The windows are measured and printed (README, "Sentinel"). Counters and `lock: true`
 * through a planned failover: every increment sent once a cache is connected to the new primary is counted exactly
 * once, and a caller waiting for another server's lock gets that server's value (one factory run).
 */
import type { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Cache } from '../../src/index.js'
import { deferred } from '../support/deferred.js'
import { busBackAfter, Workload, type NodeTrace } from '../support/failover_workload.js'
import { busOf, busUp, internals, nextEvent, readyCache, synced } from '../support/make_cache.js'
import { useSentinel } from '../support/redis_sentinel.js'

const fixture = useSentinel()

/** Connections to every sentinel, subscribed to `+switch-master`: the first one to announce it counts. */
const watchers: Redis[] = []
const switches: Array<{ at: number; port: number }> = []

beforeAll(async () => {
  for (let i = 0; i < fixture.setup.sentinelPorts.length; i++) {
    const watcher = fixture.setup.sentinel(i)
    watchers.push(watcher)
    watcher.on('message', (_channel: string, message: string) => {
      // `<name> <old-ip> <old-port> <new-ip> <new-port>`
      switches.push({ at: Date.now(), port: Number(message.split(' ')[4]) })
    })
    await watcher.subscribe('+switch-master')
  }
})

afterAll(() => {
  for (const watcher of watchers) watcher.disconnect()
})

/** Resolves with the first `+switch-master` seen at or after `since`. */
async function switchAfter(since: number, timeoutMs = 15_000): Promise<{ at: number; port: number }> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = switches.find((s) => s.at >= since)
    if (found !== undefined) return found
    if (Date.now() > deadline) throw new Error(`no +switch-master within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

async function nodes(): Promise<[Cache, Cache]> {
  const options = { redis: fixture.setup.options, namespace: 'app' }
  const caches: [Cache, Cache] = [await readyCache(options), await readyCache(options)]
  await Promise.all(caches.map((cache) => busUp(cache, 10_000))) // ready() waits for the bus for l2.timeout at most
  await fixture.setup.detectorsSubscribed(2 * 2 + 1) // each cache's command and bus connections, and the watcher
  return caches
}

/** The first time the command connection of `trace` was ready again at or after `since`. */
function readyAfter(trace: NodeTrace, since: number): number {
  const at = trace.ready.find((t) => t >= since)
  if (at === undefined) throw new Error('the command connection did not reconnect')
  return at
}

/** Invalidations flow both ways: a value one node caches in L1 is replaced as soon as the other writes. */
async function coherent(a: Cache, b: Cache, round: string): Promise<void> {
  for (const [writer, reader] of [
    [a, b],
    [b, a],
  ] as const) {
    const key = `shared-${round}`
    await writer.set(key, 'old')
    await synced(writer, reader)
    expect(await reader.get(key)).toBe('old') // now in the reader's L1
    const heard = nextEvent(reader, 'bus:message', (m) => m.items.includes(key))
    await writer.set(key, 'new')
    await heard
    expect(await reader.get(key)).toBe('new')
    await writer.delete(key)
    await synced(writer, reader)
  }
}

/** Reads every acknowledged write back through a fresh cache (empty L1, so from the primary): the ones missing. */
async function missing(writes: Array<{ key: string; value: number }>): Promise<string[]> {
  const reader = await readyCache({ redis: fixture.setup.options, namespace: 'app', bus: false })
  const values = await Promise.all(writes.map((w) => reader.get<number>(w.key)))
  return writes.filter((w, i) => values[i] !== w.value).map((w) => w.key)
}

/**
 * Every write sent once its cache had reconnected after +switch-master is on the new primary, and none of them failed
 * (the circuit breaker's cooldown holds nothing back). Resolves with the acknowledged writes that are missing.
 */
async function writesAfterSwitch(workload: Workload, switchedAt: number): Promise<string[]> {
  const safe = workload.traces.flatMap((trace) => trace.acked.filter((w) => w.sentAt >= readyAfter(trace, switchedAt)))
  expect(safe.length).toBeGreaterThan(0)
  expect(await missing(safe)).toEqual([])
  for (const trace of workload.traces)
    expect(trace.failed.filter((t) => t >= readyAfter(trace, switchedAt))).toEqual([])
  return missing(workload.acked)
}

interface Increment {
  key: string
  sentAt: number
  acked: boolean
}

/** Each cache increments a counter per 100 ms slot (`hits:<slot>`), one call after another, until stopped. */
class Counting {
  readonly sent: Increment[][] = []
  readonly ready: number[][] = []
  #stopped = false
  readonly #loops: Promise<void>[]

  constructor(caches: Cache[], t0: number) {
    this.#loops = caches.map(async (cache, i) => {
      const sent: Increment[] = (this.sent[i] = [])
      const ready: number[] = (this.ready[i] = [])
      internals(cache).ctx.connection?.client.on('ready', () => ready.push(Date.now()))
      while (!this.#stopped) {
        const sentAt = Date.now()
        const increment = { key: `hits:${Math.floor((sentAt - t0) / 100)}`, sentAt, acked: false }
        sent.push(increment)
        try {
          await cache.incr(increment.key)
          increment.acked = true
        } catch {
          // counted as sent, not acknowledged
        }
        await new Promise((resolve) => setTimeout(resolve, 5))
      }
    })
  }

  async stop(): Promise<void> {
    this.#stopped = true
    await Promise.all(this.#loops)
  }
}

/** Polls `check` until it holds (bounded): for states no event announces (a server's subscriptions). */
async function until(what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

describe('Sentinel failover', () => {
  it('SENTINEL FAILOVER: writes switch to the new primary, the bus follows and revalidates', async () => {
    const [a, b] = await nodes()
    const before = await fixture.setup.primary()
    const workload = new Workload([a, b])
    workload.start()

    const t0 = Date.now()
    const sentinel = fixture.setup.sentinel(0)
    await sentinel.call('sentinel', 'failover', fixture.setup.name).finally(() => sentinel.disconnect())
    const switched = await switchAfter(t0)
    const up = await Promise.all(workload.traces.map((trace) => busBackAfter(trace, switched.at)))
    await coherent(a, b, 'planned')
    await workload.stop()

    const after = await fixture.setup.primary()
    expect(after.port).not.toBe(before.port)
    expect(switched.port).toBe(after.port)
    // The bus subscribers listen on a server of the setup: the new primary or, as seen once in CI on ioredis 5 (not on
    // the new primary), the demoted primary, now its replica, where every PUBLISH arrives through replication.
    // coherent() above proved that invalidations flow both ways.
    const clients = (await Promise.all(fixture.setup.servers.map((server) => server.cli('client', 'list')))).join('\n')
    for (const cache of [a, b]) expect(clients).toContain(`tiercache-bus-${busOf(cache).origin.toString('hex')}`)

    const lost = await writesAfterSwitch(workload, switched.at)

    report('SENTINEL FAILOVER', t0, switched.at, workload, up, lost)
    await fixture.setup.settled()
  }, 40_000)

  it('counts every increment sent after the switch once, and a lock waiter gets the holder’s value', async () => {
    const options = { redis: fixture.setup.options, namespace: 'app' }
    const [a, b] = [await readyCache(options), await readyCache(options)]
    await Promise.all([busUp(a, 10_000), busUp(b, 10_000)])
    await fixture.setup.detectorsSubscribed(2 * 2 + 1)
    const before = await fixture.setup.primary()
    const replica = fixture.setup.servers.find((s) => s.port !== before.port)
    if (replica === undefined) throw new Error('no replica')

    // A holds the lock for `report` (its factory waits for the test); the lease has reached the replica.
    const started = deferred<void>()
    const releaseA = deferred<string>()
    const holder = a.getOrSet(
      'report',
      () => {
        started.resolve()
        return releaseA.promise
      },
      { lock: true, lockTimeout: '20s' },
    )
    await started.promise
    await until('the lease on the replica', async () => (await replica.cli('keys', '*report*')).includes('!lease:'))
    // B waits for it, through the failover.
    let bRan = 0
    const timeouts: unknown[] = []
    b.on('lock:timeout', (event) => timeouts.push(event))
    const waiter = b.getOrSet(
      'report',
      () => {
        bRan++
        return 'B'
      },
      { lock: true, lockTimeout: '20s' },
    )
    await until('B waiting', async () => b.stats().locks.waits >= 1)

    const t0 = Date.now()
    const counting = new Counting([a, b], t0)
    const switched = new Promise<number>((resolve) => {
      const watcher: Redis = fixture.setup.sentinel(0)
      watcher.on('message', () => {
        watcher.disconnect()
        resolve(Date.now())
      })
      void watcher.subscribe('+switch-master')
    })
    const busBack = Promise.all([a, b].map((cache) => nextEvent(cache, 'bus:state', (s) => s.state === 'up', 20_000)))
    const sentinel = fixture.setup.sentinel(0)
    await sentinel.call('sentinel', 'failover', fixture.setup.name).finally(() => sentinel.disconnect())
    const switchedAt = await switched
    await busBack
    const after = await fixture.setup.primary()
    expect(after.port).not.toBe(before.port)

    // B's lock subscriber is back (on the new primary, or on the demoted one, which replication feeds): release A.
    await until('B resubscribed to lock releases', async () => {
      const counts = await Promise.all(fixture.setup.servers.map((s) => s.cli('pubsub', 'numsub', 'tc!lock')))
      return counts.some((reply) => /\s[1-9]/.test(reply))
    })
    releaseA.resolve('A')
    expect(await holder).toBe('A')
    expect(await waiter).toBe('A')
    expect(bRan).toBe(0)
    expect(timeouts).toEqual([])

    // Slots whose every increment was sent after its cache reconnected post-switch: counted exactly once each.
    const reconnected = counting.ready.map((times) => times.find((t) => t >= switchedAt) ?? Number.POSITIVE_INFINITY)
    const firstSafeSlot = Math.floor((Math.max(...reconnected) - t0) / 100) + 1
    const safeAcked = (i: number): number =>
      (counting.sent[i] ?? []).filter((inc) => inc.acked && Number(inc.key.slice(5)) >= firstSafeSlot).length
    await until('60 increments per cache in whole slots after the switch', async () =>
      [0, 1].every((i) => safeAcked(i) >= 60),
    )
    await counting.stop()

    const bySlot = new Map<string, { acked: number; sent: number; safe: boolean }>()
    counting.sent.forEach((increments, i) => {
      for (const inc of increments) {
        const slot = bySlot.get(inc.key) ?? { acked: 0, sent: 0, safe: true }
        slot.sent++
        if (inc.acked) slot.acked++
        if (inc.sentAt < (reconnected[i] as number)) slot.safe = false
        bySlot.set(inc.key, slot)
      }
    })
    const reader = await readyCache({ ...options, bus: false })
    const safe = [...bySlot].filter(([, slot]) => slot.safe)
    expect(safe.length).toBeGreaterThan(0)
    for (const [key, slot] of safe) {
      expect({ key, counted: await reader.get(key) }).toEqual({ key, counted: slot.acked })
      expect(slot.acked).toBe(slot.sent) // none failed once reconnected
    }
    // No slot, even during the failover, counts more than was sent (an increment is never applied twice).
    for (const [key, slot] of bySlot) expect((await reader.get<number>(key)) ?? 0).toBeLessThanOrEqual(slot.sent)
    await fixture.setup.settled()
  }, 60_000)

  it('kill -9 of the primary: commands resume on the promoted replica, the bus comes back', async () => {
    const [a, b] = await nodes()
    const primary = await fixture.setup.primary()
    const workload = new Workload([a, b])
    workload.start()

    const t0 = Date.now()
    await primary.kill()
    const switched = await switchAfter(t0)
    const up = await Promise.all(workload.traces.map((trace) => busBackAfter(trace, switched.at)))
    await coherent(a, b, 'killed')
    await workload.stop()

    const after = await fixture.setup.primary()
    expect(after.port).not.toBe(primary.port)
    const lost = await writesAfterSwitch(workload, switched.at)
    report('kill -9', t0, switched.at, workload, up, lost)
  }, 40_000)

  it('a client its failover detector closes while it asks the sentinels is connected again', async () => {
    const [a] = await nodes()
    const client = internals(a).ctx.connection?.client as Redis
    const primary = await fixture.setup.primary()
    fixture.setup.freezeSentinels(true)
    let ended: Promise<unknown>
    try {
      // Drop the connection: reconnecting, it asks a (frozen) sentinel where the primary is...
      const connecting = new Promise((resolve) => client.once('connecting', resolve))
      await primary.cli('client', 'kill', 'type', 'normal')
      await connecting
      // ...when the failover detector closes it (what it does on +switch-master): once the sentinel answers,
      // ioredis gives up ("Connection is closed") and ends the client for good.
      ended = new Promise((resolve) => client.once('end', resolve))
      ;(client as unknown as { connector: { disconnect(): void } }).connector.disconnect()
    } finally {
      fixture.setup.freezeSentinels(false)
    }
    await ended
    await new Promise((resolve) => client.once('ready', resolve)) // connected again, 25 ms later
    await a.set('after-end', 1)
    expect(await a.get('after-end')).toBe(1)
  }, 10_000)
})

function report(name: string, t0: number, switchedAt: number, workload: Workload, up: number[], lost: string[]): void {
  const writesBack = workload.traces.map((trace) => {
    const first = trace.acked.find((w) => w.sentAt >= readyAfter(trace, switchedAt))
    return (first?.ackedAt ?? Number.NaN) - t0
  })
  const failed = workload.traces.reduce((n, trace) => n + trace.failed.length, 0)
  const lostAt = workload.acked.filter((w) => lost.includes(w.key)).map((w) => w.ackedAt - t0)
  const lostRange = lostAt.length === 0 ? '' : ` (acknowledged ${Math.min(...lostAt)} to ${Math.max(...lostAt)} ms in)`
  console.log(
    `[sentinel] ${name}: +switch-master after ${switchedAt - t0} ms, writes on the new primary after ` +
      `${Math.max(...writesBack)} ms, bus back after ${Math.max(...up) - t0} ms; longest write gap ` +
      `${workload.longestGap(t0)} ms; ${workload.acked.length} writes acknowledged, ${failed} failed, ` +
      `${lost.length} lost${lostRange}`,
  )
}
