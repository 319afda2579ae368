import { describe, expectTypeOf, it } from 'vitest'
import { createCache, type Cache } from '../../src/index.js'

declare const cache: Cache

describe('generic signatures', () => {
  it('getOrSet infers T from the factory, sync or async', () => {
    expectTypeOf(cache.getOrSet('k', async () => ({ id: 1, name: 'x' }))).toEqualTypeOf<
      Promise<{ id: number; name: string }>
    >()
    expectTypeOf(cache.getOrSet('k', () => 42)).toEqualTypeOf<Promise<number>>()
    expectTypeOf(cache.getOrSet('k', () => null as string | null)).toEqualTypeOf<Promise<string | null>>()
  })

  it('get and getMany return T | undefined', () => {
    expectTypeOf(cache.get<{ a: 1 }>('k')).toEqualTypeOf<Promise<{ a: 1 } | undefined>>()
    expectTypeOf(cache.get('k')).toEqualTypeOf<Promise<unknown>>()
    expectTypeOf(cache.getMany<number>(['a'])).toEqualTypeOf<Promise<Array<number | undefined>>>()
  })

  it('options are typed: durations, events', () => {
    createCache({ ttl: '10m', l1: { maxBytes: 1024 } })
    // @ts-expect-error not a duration
    createCache({ ttl: '10 minutes' })
    cache.on('l2:error', (e) => expectTypeOf(e.error.code).toEqualTypeOf<string>())
    // @ts-expect-error unknown event
    cache.on('nope', () => undefined)
  })
})
