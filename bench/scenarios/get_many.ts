/**
 * getMany of 100 keys, all in L2 and none in L1 (the L2-only instances): calls/s, and the
 * number of Redis commands one call costs, counted with INFO commandstats on the bench server
 * (the fewest of three calls, so that a heartbeat of some other instance cannot be counted).
 * bentocache has no getMany: it is `Promise.all` of 100 `get`s. cache-manager uses `mget`.
 */
import { expectValue, type Fact, type Scenario } from '../harness.js'
import type { Peers } from '../peers.js'
import { commandsDuring } from '../redis_commands.js'
import { makeValue } from '../values.js'

const KEYS = 100
const BATCH = 20

export interface GetMany {
  scenario: Scenario
  /** Redis commands per getMany call, per contender. */
  roundTrips(): Promise<Fact[]>
}

export function getManyScenario(peers: Peers): GetMany {
  const value = makeValue('100B')
  const keys = Array.from({ length: KEYS }, (_, i) => `many:${i}`)
  const rawKeys = keys.map((key) => `raw:${key}`)
  const { tiercacheL2, raw, bentoL2, cmL2 } = peers
  const rawGetMany = async (): Promise<unknown[]> =>
    (await raw.redis.mgetBuffer(...rawKeys)).map((bytes) =>
      bytes === null ? undefined : (raw.packr.unpack(bytes) as unknown),
    )
  const bentoGetMany = (): Promise<unknown[]> => Promise.all(keys.map((key) => bentoL2.get({ key })))
  const calls: Record<string, () => Promise<unknown[]>> = {
    tiercache: () => tiercacheL2.getMany(keys),
    raw: rawGetMany,
    bentocache: bentoGetMany,
    'cache-manager': () => cmL2.mget(keys),
  }
  let filled = false
  const scenario: Scenario = {
    id: 'getmany-100/100B',
    title: 'getMany of 100 keys, from L2 (100B)',
    async setup() {
      if (filled) return
      filled = true
      await tiercacheL2.setMany(keys.map((key) => ({ key, value })))
      await raw.redis.mset(...rawKeys.flatMap((key) => [key, raw.packr.pack(value)]))
      for (const key of keys) {
        await bentoL2.set({ key, value })
        await cmL2.set(key, value)
      }
    },
    tasks: {
      tiercache: {
        ops: BATCH,
        check: async () => expectValue('getmany', 'tiercache', (await tiercacheL2.getMany(keys))[KEYS - 1]),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await tiercacheL2.getMany(keys)
        },
      },
      raw: {
        ops: BATCH,
        check: async () => expectValue('getmany', 'raw', (await rawGetMany())[KEYS - 1]),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await rawGetMany()
        },
      },
      bentocache: {
        ops: BATCH,
        check: async () => expectValue('getmany', 'bentocache', (await bentoGetMany())[KEYS - 1]),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await bentoGetMany()
        },
      },
      'cache-manager': {
        ops: BATCH,
        check: async () => expectValue('getmany', 'cache-manager', (await cmL2.mget(keys))[KEYS - 1]),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await cmL2.mget(keys)
        },
      },
    },
  }
  return {
    scenario,
    async roundTrips() {
      await scenario.setup?.()
      const facts: Fact[] = []
      for (const [contender, call] of Object.entries(calls)) {
        // Fewest of three: a bus heartbeat from another instance may land in one window.
        let commands = Infinity
        for (let attempt = 0; attempt < 3; attempt++)
          commands = Math.min(commands, await commandsDuring(raw.redis, call))
        facts.push({
          id: 'getmany-roundtrips',
          title: 'Redis commands per getMany of 100 keys',
          contender,
          values: { commands },
        })
      }
      return facts
    },
  }
}
