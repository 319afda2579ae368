import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { cached, createCache, FactoryError, type Cache } from '../../src/index.js'
import { argumentsKey } from '../../src/wrappers/key.js'
import { deferred } from '../support/deferred.js'
import { internals } from '../support/make_cache.js'

let cache: Cache
beforeEach(() => {
  cache = createCache() // L1 only
})
afterEach(async () => {
  await cache.close()
})

describe('cached()', () => {
  it('caches by name and arguments; objects with keys in any order share a key', async () => {
    const search = vi.fn(async (query: { q: string; page: number }) => `${query.q}#${query.page}`)
    const cachedSearch = cached(cache, search, { name: 'search' })
    expect(await cachedSearch({ q: 'tea', page: 1 })).toBe('tea#1')
    expect(await cachedSearch({ page: 1, q: 'tea' })).toBe('tea#1')
    expect(await cachedSearch({ q: 'tea', page: 2 })).toBe('tea#2')
    expect(search).toHaveBeenCalledTimes(2)
    expect(cachedSearch.keyFor({ page: 1, q: 'tea' })).toBe('search({"page":1,"q":"tea"})')
  })

  it('runs fn once for 1,000 concurrent calls with equal arguments', async () => {
    const gate = deferred<number>()
    const load = vi.fn((_id: number) => gate.promise)
    const cachedLoad = cached(cache, load, { name: 'load' })
    const calls = Array.from({ length: 1000 }, () => cachedLoad(1))
    gate.resolve(42)
    expect(new Set(await Promise.all(calls))).toEqual(new Set([42]))
    expect(load).toHaveBeenCalledTimes(1)
  })

  it('uses a key function when given, and keeps `this`', async () => {
    const repo = {
      table: 'users',
      load: cached(
        createCache(),
        async function (this: { table: string }, id: number) {
          return `${this.table}/${id}`
        },
        { key: (id) => `user:${id}` },
      ),
    }
    expect(await repo.load(7)).toBe('users/7')
    expect(repo.load.keyFor.call(repo, 7)).toBe('user:7')
  })

  it('invalidate, peek and refresh work on the key of the given arguments', async () => {
    let version = 1
    const load = cached(cache, async (id: number) => `${id}@v${version}`, { name: 'load' })
    expect(await load.peek(1)).toBeUndefined()
    expect(await load(1)).toBe('1@v1')
    expect(await load.peek(1)).toBe('1@v1')
    version = 2
    expect(await load(1)).toBe('1@v1')
    expect(await load.refresh(1)).toBe('1@v2')
    expect(await load(1)).toBe('1@v2')
    expect(await load.invalidate(1)).toBe(true)
    expect(await load.peek(1)).toBeUndefined()
    version = 3
    expect(await load(1)).toBe('1@v3')
  })

  it('passes getOrSet options through: tags from the result and the arguments, shouldCache', async () => {
    const load = cached(cache, async (id: number) => ({ id, team: 'red' }), {
      name: 'member',
      tags: (member, id) => [`team:${member.team}`, `member:${id}`],
      shouldCache: (member) => member.id !== 0,
    })
    await load(5)
    expect(internals(cache).l1?.get(load.keyFor(5))?.tags).toEqual(['team:red', 'member:5'])
    await load(0)
    expect(await load.peek(0)).toBeUndefined()
  })

  it('rejects with FactoryError (cause kept) and does not cache the failure', async () => {
    const boom = new Error('nope')
    let fail = true
    const load = cached(cache, async function loadOrFail(id: number) {
      if (fail) throw boom
      return id
    })
    const error = await load(1).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(FactoryError)
    expect((error as FactoryError).cause).toBe(boom)
    fail = false
    expect(await load(1)).toBe(1)
  })

  it('is also cache.wrap(fn, options)', async () => {
    const double = vi.fn(async (n: number) => n * 2)
    const wrapped = cache.wrap(double, { ttl: '1m' })
    expect(await wrapped(2)).toBe(4)
    expect(await wrapped(2)).toBe(4)
    expect(double).toHaveBeenCalledTimes(1)
  })

  it('refuses misuse with a TypeError naming the value', () => {
    expect(() => cached(cache, 42 as never)).toThrow(/`fn`.*`42` \(number\)/)
    expect(() => cached(cache, async () => 1)).toThrow(/`name`/)
    expect(() => cached(cache, async function f() {}, { ttl: -1 })).toThrow(/`ttl`/)
    expect(() => cached({} as Cache, async function f() {})).toThrow(/`cache`/)
  })

  it('rejects a call whose arguments cannot make a key, and changes nothing', async () => {
    const load = cached(cache, async (_x: unknown) => 1, { name: 'load' })
    await expect(load(() => 1)).rejects.toThrow(TypeError)
    const circular: Record<string, unknown> = {}
    circular.self = circular
    await expect(load(circular)).rejects.toThrow(/circular/)
  })
})

describe('argument keys', () => {
  const key = (...args: unknown[]): string => argumentsKey('f', args)

  it('tells apart values that JSON would confuse', () => {
    const distinct = [
      key(1),
      key('1'),
      key(1n),
      key(-0),
      key(0),
      key(NaN),
      key(null),
      key(undefined),
      key(),
      key([1]),
      key(new Set([1])),
      key(new Map([[1, 1]])),
      key(new Date(0)),
      key(Buffer.from('a')),
      key(new Uint8Array([97])),
      key({ a: 1 }),
      key(/a/g),
      key('a', 'b'),
      key('a,b'),
    ]
    expect(new Set(distinct).size).toBe(distinct.length)
  })

  it('is independent of the order of object keys, Map entries and Set members', () => {
    expect(key({ a: 1, b: { c: 2, d: 3 } })).toBe(key({ b: { d: 3, c: 2 }, a: 1 }))
    expect(
      key(
        new Map([
          ['x', 1],
          ['y', 2],
        ]),
      ),
    ).toBe(
      key(
        new Map([
          ['y', 2],
          ['x', 1],
        ]),
      ),
    )
    expect(key(new Set(['x', 'y']))).toBe(key(new Set(['y', 'x'])))
    expect(key({ a: 1, b: undefined })).toBe(key({ a: 1 }))
    expect(key(new Date(5))).toBe(key(new Date(5)))
  })

  it('hashes long arguments into a short key', () => {
    const long = key('x'.repeat(10_000))
    expect(long.length).toBeLessThan(60)
    expect(long).toBe(key('x'.repeat(10_000)))
    expect(long).not.toBe(key('x'.repeat(10_001)))
  })

  it('refuses functions, symbols and circular data', () => {
    expect(() => key(Symbol('s'))).toThrow(TypeError)
    expect(() => key({ f: () => 1 })).toThrow(/got `/)
    const a: unknown[] = []
    a.push(a)
    expect(() => key(a)).toThrow(/circular/)
    const shared = { x: 1 }
    expect(() => key([shared, shared])).not.toThrow() // shared, not circular
  })
})
