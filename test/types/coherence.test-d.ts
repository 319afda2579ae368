import { expectTypeOf, it } from 'vitest'
import type { BusOptions, Cache, CacheEvents, CacheOptions } from '../../src/index.js'

it('types the coherence API', () => {
  expectTypeOf<Cache['invalidateTags']>().parameters.toEqualTypeOf<[tags: readonly string[]]>()
  expectTypeOf<Cache['invalidateTags']>().returns.toEqualTypeOf<Promise<void>>()
  expectTypeOf<CacheOptions['bus']>().toEqualTypeOf<boolean | BusOptions | undefined>()
  expectTypeOf<BusOptions>().toHaveProperty('maxStaleness')
  expectTypeOf<CacheEvents['bus:state']>().toEqualTypeOf<{ state: 'up' | 'down'; dropped: number }>()
  expectTypeOf<CacheEvents['bus:error']['error']['code']>().toEqualTypeOf<'E_BUS'>()
})
