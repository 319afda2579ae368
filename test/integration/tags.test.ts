import { describe, expect, it } from 'vitest'
import type { Cache } from '../../src/cache/cache.js'
import { createCache } from '../../src/cache/create_cache.js'
import { deferred } from '../support/deferred.js'
import { useRedis, type RedisServer } from '../support/redis_server.js'
import { internals, makeNode, nextEvent, synced } from '../support/make_cache.js'

/** Calls of GET and MGET the server has answered so far (INFO commandstats). */
async function reads(server: RedisServer): Promise<{ get: number; mget: number }> {
  const info = await server.cli('info', 'commandstats')
  const calls = (name: string): number => Number(new RegExp(`cmdstat_${name}:calls=(\\d+)`).exec(info)?.[1] ?? 0)
  return { get: calls('get'), mget: calls('mget') }
}

describe('tags: invalidateTags on every node and in Redis', () => {
  const env = useRedis()

  async function node(): Promise<Cache> {
    const cache = await makeNode(env.server.url)
    return cache
  }

  it("drops tagged entries from every node's L1 and makes them misses in Redis, without touching other entries", async () => {
    const a = await node()
    const b = await node()
    await a.set('p1', 'one', { tags: ['products'] })
    await a.set('p2', 'two', { tags: ['products', 'featured'] })
    await a.set('u1', 'user', { tags: ['users'] })
    await a.set('plain', 'untagged')
    await synced(a, b)
    expect(await b.getMany(['p1', 'p2', 'u1', 'plain'])).toEqual(['one', 'two', 'user', 'untagged'])

    const heard = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
    await a.invalidateTags(['products'])
    expect(internals(a).l1?.get('p1')).toBeUndefined()
    await heard
    expect(internals(b).l1?.get('p1')).toBeUndefined()
    expect(internals(b).l1?.get('p2')).toBeUndefined()
    expect(internals(b).l1?.get('u1')?.value).toBe('user')
    expect(await b.getMany(['p1', 'p2', 'u1', 'plain'])).toEqual([undefined, undefined, 'user', 'untagged'])
    expect(await a.get('p2')).toBeUndefined()

    // A node that never saw the entries (empty L1) reads them from Redis: still misses. Nothing was scanned or deleted.
    const c = await node()
    expect(await c.get('p1')).toBeUndefined()
    expect(await c.get('u1')).toBe('user')
    expect(await env.server.cli('exists', 'tc:app::p1')).toBe('1')
    expect(await env.server.cli('exists', '{tc:app}:tag:products')).toBe('1')
  })

  it('serves entries written after the invalidation', async () => {
    const a = await node()
    await a.set('p', 'old', { tags: ['t'] })
    await a.invalidateTags(['t'])
    await a.set('p', 'new', { tags: ['t'] })
    const c = await node()
    expect(await c.get('p')).toBe('new')
  })

  it('checks a tagged entry in one extra round trip however many tags it has, and untagged ones in none', async () => {
    const a = await node()
    const many = Array.from({ length: 40 }, (_, i) => `tag-${i}`)
    await a.set('tagged', 1, { tags: many })
    await a.set('plain', 2)
    await a.invalidateTags(['unrelated'])
    const c = await node()

    let before = await reads(env.server)
    expect(await c.get('tagged')).toBe(1)
    let after = await reads(env.server)
    expect(after.get - before.get).toBe(1)
    expect(after.mget - before.mget).toBe(1)

    before = await reads(env.server)
    expect(await c.get('plain')).toBe(2)
    after = await reads(env.server)
    expect(after.get - before.get + after.mget - before.mget).toBe(1)

    await a.setMany([
      { key: 'm1', value: 'a', tags: ['x', 'y'] },
      { key: 'm2', value: 'b', tags: ['y', 'z'] },
      { key: 'm3', value: 'c' },
    ])
    before = await reads(env.server)
    expect(await c.getMany(['m1', 'm2', 'm3'])).toEqual(['a', 'b', 'c'])
    after = await reads(env.server)
    expect(after.mget - before.mget).toBe(2) // values, then every tag of every entry
  })

  it('tags getOrSet results, and a factory that started before the invalidation is not cached', async () => {
    const a = await node()
    const b = await node()
    let calls = 0
    const load = async (): Promise<string> => `v${++calls}`
    expect(await b.getOrSet('g', load, { tags: ['t'] })).toBe('v1')
    expect(await b.getOrSet('g', load, { tags: ['t'] })).toBe('v1')
    let heard = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
    await a.invalidateTags(['t'])
    await heard
    expect(await b.getOrSet('g', load, { tags: ['t'] })).toBe('v2')

    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    let started!: () => void
    const running = new Promise<void>((resolve) => (started = resolve))
    await b.delete('g')
    const slow = b.getOrSet(
      'g',
      async () => {
        started()
        await gate
        return 'computed-before-invalidation'
      },
      { tags: ['t'] },
    )
    await running // the factory has started: the invalidation below comes after it
    heard = nextEvent(b, 'bus:message', (m) => m.kind === 'tags')
    await a.invalidateTags(['t'])
    await heard
    release()
    expect(await slow).toBe('computed-before-invalidation')
    expect(internals(b).l1?.get('g')).toBeUndefined()
    expect(await a.get('g')).toBeUndefined()
  })

  it('racing writers of a new tag: a write made earlier that lands later stays readable, and an invalidation still counts', async () => {
    const a = await node()
    const b = await node()
    const reader = await makeNode(env.server.url, { l1: false })
    const factory = deferred<string>()
    // a's entry is made when its factory starts; b writes another entry with the same new tag, which lands first.
    const started = deferred<void>()
    const filling = a.getOrSet(
      'early',
      () => {
        started.resolve()
        return factory.promise
      },
      { tags: ['new-tag'] },
    )
    await started.promise
    await b.set('late', 'b', { tags: ['new-tag'] })
    factory.resolve('a')
    expect(await filling).toBe('a')
    expect(await reader.getMany(['early', 'late'])).toEqual(['a', 'b'])
    const mark = await env.server.cli('get', '{tc:app}:tag:new-tag')
    expect(mark).toMatch(/^c\d/) // a creation mark, not an invalidation
    await a.invalidateTags(['new-tag'])
    expect(await env.server.cli('get', '{tc:app}:tag:new-tag')).toMatch(/^\d/)
    expect(await reader.getMany(['early', 'late'])).toEqual([undefined, undefined])
    await b.set('late', 'again', { tags: ['new-tag'] })
    expect(await reader.get('late')).toBe('again')
  })

  it('refuses bad tags with a TypeError and changes nothing', async () => {
    const a = await node()
    await a.set('k', 1, { tags: ['t'] })
    await expect(a.invalidateTags('t' as never)).rejects.toThrow(TypeError)
    await expect(a.invalidateTags([''])).rejects.toThrow(/Expected `tags`/)
    await expect(a.invalidateTags([1 as never])).rejects.toThrow(/tags/)
    expect(await a.get('k')).toBe(1)
    await a.invalidateTags([]) // nothing to do
    expect(await a.get('k')).toBe(1)
  })

  it('works on L1 alone', async () => {
    const local = createCache({ namespace: 'solo' })
    await local.set('a', 1, { tags: ['t'] })
    await local.set('b', 2)
    await local.invalidateTags(['t'])
    expect(await local.getMany(['a', 'b'])).toEqual([undefined, 2])
  })
})
