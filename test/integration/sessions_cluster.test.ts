/**
 * Sessions on a real 3-master Redis Cluster: every script touches one hash slot (a session, or one user's index
 * and its companion), and the walks (count, sessions, clear) SCAN each master and send one key per command. Any
 * CROSSSLOT would reject a call, and shows in the masters' error stats.
 */
import type { Cluster } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSessionStore, type SessionStore } from '../../src/sessions/index.js'
import { RedisCluster } from '../support/redis_cluster.js'

describe('sessions on a 3-master Redis Cluster', () => {
  let cluster: RedisCluster
  let client: Cluster
  let sessions: SessionStore

  beforeAll(async () => {
    cluster = await RedisCluster.start()
    client = cluster.client()
    sessions = createSessionStore({ redis: client, idleTimeout: '30m', absoluteTimeout: '1d', secret: 'cluster' })
  })
  afterAll(async () => {
    await sessions?.close()
    client?.disconnect()
    await cluster?.close()
  })

  it('creates, changes, regenerates and ends sessions spread over every master, with no cross-slot command', async () => {
    const create = (n: number, userId?: string): Promise<string[]> =>
      Promise.all(
        Array.from({ length: n }, (_, i) =>
          sessions.create({ i }, userId === undefined ? {} : { userId }).then((r) => r.id),
        ),
      )
    const ada = await create(60, 'ada')
    const bob = await create(20, 'bob')
    const anonymous = await create(20)
    const perMaster = await Promise.all(cluster.servers.map((s) => s.cli('dbsize')))
    // Failed once in a full run (2026-11-24, not reproduced in 5 runs of the file): the raw answers say why next time.
    expect(
      perMaster.every((n) => Number(n) > 0),
      `DBSIZE per master: ${JSON.stringify(perMaster)}`,
    ).toBe(true)

    const first = ada[0] as string
    await sessions.update(first, { set: { cart: ['book'] }, unset: ['i'] })
    expect(await sessions.touch(first)).toBe(true)
    const { id: moved } = await sessions.regenerate(first)
    expect(await sessions.get(first)).toBeUndefined()
    expect(await sessions.get(moved)).toEqual({ cart: ['book'] })
    await sessions.update(anonymous[0] as string, { userId: 'bob' }) // into bob's index, another slot

    expect(await sessions.listForUser('ada')).toHaveLength(60)
    expect(await sessions.listForUser('bob')).toHaveLength(21)
    expect(await sessions.destroyAllForUser('ada', { except: moved })).toBe(59)
    expect((await sessions.listForUser('ada')).map((e) => e.ref)).toEqual([await sessions.refOf(moved)])
    expect(await sessions.destroyByRef((await sessions.refOf(bob[0] as string)) as string)).toBe(true)
    expect(await sessions.listForUser('bob')).toHaveLength(20)

    expect(await sessions.count()).toBe(1 + 19 + 20) // SCAN on every master
    let walked = 0
    for await (const _ of sessions.sessions()) walked++
    expect(walked).toBe(40)
    expect(await sessions.clear()).toBeGreaterThan(40)
    expect((await Promise.all(cluster.servers.map((s) => s.cli('dbsize')))).map(Number)).toEqual([0, 0, 0])

    for (const server of cluster.servers) expect(await server.cli('info', 'errorstats')).not.toMatch(/CROSSSLOT/)
  })
})
