/**
 * Misuse messages name the key or option, the bad value and what is expected (issue 14): a function or a symbol in
 * a value (where it is, not `[object Object]`), a BigInt with the JSON codec, a port number as `redis`.
 */
import { describe, expect, it } from 'vitest'
import { createCache, jsonCodec } from '../../src/index.js'
import { describe as describeValue } from '../../src/seam.js'
import { makeCache } from '../support/make_cache.js'

describe('error messages', () => {
  it('a function in a value: the key, where it is, and that it does not survive Redis', async () => {
    const cache = makeCache()
    await expect(cache.set('user:1', { name: 'Ada', format: () => 'x' })).rejects.toThrow(
      new TypeError(
        'Cannot cache the value at "user:1": `value.format` is a function (`[Function: format]`), which does not survive a round trip through Redis: cache plain data',
      ),
    )
    await expect(cache.getOrSet('user:2', () => [1, { load() {} }])).rejects.toThrow(
      /"user:2": `value\[1\]\.load` is a function/,
    )
  })

  it('a symbol in a value is shown as a symbol, not [object Object]', async () => {
    const cache = makeCache()
    const error = await cache.set('k', { tags: new Map([['a', Symbol('x')]]) }).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(TypeError)
    expect((error as Error).message).toBe(
      'Cannot cache the value at "k": `value.tags.get("a")` is a symbol (`Symbol(x)`), which does not survive a round trip through Redis: cache plain data',
    )
  })

  it('a BigInt with the JSON codec: the key, where it is, and what to use instead', async () => {
    const cache = makeCache({ codec: jsonCodec() })
    await expect(cache.set('product:1', { id: 1, price: 1999n })).rejects.toThrow(
      new TypeError(
        'Cannot cache the value at "product:1": `value.price` is a bigint (`1999n`), which JSON cannot carry: use the msgpack codec (the default), or store it as a string',
      ),
    )
  })

  it('`redis: 6379`: the option, the value, and the forms it takes', () => {
    expect(() => createCache({ redis: 6379 as never })).toThrow(
      new TypeError(
        'Expected `redis` to be a redis:// URL, an ioredis Redis or Cluster instance, or ioredis options, got `6379` (number): for a port, use "redis://127.0.0.1:6379" or `{ port: 6379 }`',
      ),
    )
    expect(() => createCache({ redis: 'localhost:6379' })).toThrow(/did you mean "redis:\/\/localhost:6379"\?/)
  })

  it('describe() shows objects, symbols, functions and bigints as written', () => {
    expect(describeValue({ s: Symbol('x') })).toBe('`{ s: Symbol(x) }` (object)')
    expect(describeValue(Symbol('y'))).toBe('`Symbol(y)` (symbol)')
    expect(describeValue(function load() {})).toBe('`[Function: load]` (function)')
    expect(describeValue(12n)).toBe('`12n` (bigint)')
    expect(describeValue(-0)).toBe('`-0` (number)')
    expect(describeValue('0')).toBe('`"0"` (string)')
    expect(describeValue([1, 2])).toBe('`[ 1, 2 ]` (array)')
  })
})
