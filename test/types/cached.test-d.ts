import { describe, expectTypeOf, it } from 'vitest'
import { cached, createCache, type CachedFunction } from '../../src/index.js'

const cache = createCache()
interface User {
  id: number
  name: string
}
type Same<X, Y> = (<T>() => T extends X ? 1 : 2) extends <T>() => T extends Y ? 1 : 2 ? true : false
declare function loadUser(id: number, options?: { fresh: boolean }): Promise<User>

describe('cached() types', () => {
  it('keeps the parameters and the result type of fn', () => {
    const getUser = cached(cache, loadUser, { ttl: '5m', key: (id) => `user:${id}` })
    // Identical types (the strict check: each is assignable to the other, optional elements included).
    expectTypeOf<Same<Parameters<typeof getUser>, Parameters<typeof loadUser>>>().toEqualTypeOf<true>()
    expectTypeOf<Same<ReturnType<typeof getUser>, ReturnType<typeof loadUser>>>().toEqualTypeOf<true>()
    expectTypeOf(getUser).returns.toEqualTypeOf<ReturnType<typeof loadUser>>()
    expectTypeOf(getUser).toMatchTypeOf<typeof loadUser>()
    expectTypeOf<Same<Parameters<typeof getUser.invalidate>, Parameters<typeof loadUser>>>().toEqualTypeOf<true>()
    expectTypeOf(getUser.peek).returns.toEqualTypeOf<Promise<User | undefined>>()
    expectTypeOf(getUser.refresh).returns.toEqualTypeOf<Promise<User>>()
  })

  it('keeps `this`', () => {
    function describeRow(this: { table: string }, id: number): Promise<string> {
      return Promise.resolve(`${this.table}/${id}`)
    }
    const wrapped = cached(cache, describeRow)
    expectTypeOf(wrapped).thisParameter.toEqualTypeOf<{ table: string }>()
    expectTypeOf(wrapped).toMatchTypeOf<typeof describeRow>()
  })

  it('types the key and tags callbacks from fn', () => {
    cached(cache, loadUser, {
      key: (id, options) => {
        expectTypeOf(id).toEqualTypeOf<number>()
        expectTypeOf(options).toEqualTypeOf<{ fresh: boolean } | undefined>()
        return String(id)
      },
      tags: (user, id) => {
        expectTypeOf(user).toEqualTypeOf<User>()
        expectTypeOf(id).toEqualTypeOf<number>()
        return [`user:${user.id}`]
      },
      shouldCache: (user) => {
        expectTypeOf(user).toEqualTypeOf<User>()
        return true
      },
    })
    // @ts-expect-error the key function must return a string
    cached(cache, loadUser, { key: (id: number) => id })
  })

  it('cache.wrap has the same type as cached()', () => {
    expectTypeOf(cache.wrap(loadUser)).toEqualTypeOf<
      CachedFunction<[id: number, options?: { fresh: boolean }], User, unknown>
    >()
  })
})

describe('getOrSet types', () => {
  it('infers T from the factory', async () => {
    expectTypeOf(await cache.getOrSet('k', () => 1)).toEqualTypeOf<number>()
    expectTypeOf(await cache.getOrSet('k', async () => ({ a: 'x' }))).toEqualTypeOf<{ a: string }>()
    expectTypeOf(
      await cache.getOrSet('k', () => loadUser(1), { shouldCache: (user) => user.id > 0 }),
    ).toEqualTypeOf<User>()
  })

  it('types the option callbacks from the factory without letting them widen T', () => {
    void cache.getOrSet('k', () => loadUser(1), {
      tags: (user) => {
        expectTypeOf(user).toEqualTypeOf<User>()
        return []
      },
    })
    // @ts-expect-error shouldCache must take the factory's result type
    void cache.getOrSet('k', () => loadUser(1), { shouldCache: (value: string) => value.length > 0 })
  })
})
