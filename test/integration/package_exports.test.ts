/** What a user installs: the built package resolves by its name and exports the documented API. */
import { describe, expect, it } from 'vitest'

describe('package', () => {
  it('resolves `tiercache` to the build in dist/ with the documented root exports', async () => {
    const mod = (await import('tiercache')) as Record<string, unknown>
    for (const name of ['createCache', 'Cache', 'errors', 'CacheError', 'ValueTooLargeError', 'msgpackCodec', 'jsonCodec'])
      expect(mod[name], name).toBeDefined()
    const cache = (mod.createCache as (o?: object) => { set(k: string, v: unknown): Promise<void>; get(k: string): Promise<unknown> })()
    await cache.set('k', new Map([[1, 2]]))
    expect(await cache.get('k')).toEqual(new Map([[1, 2]]))
  })
})
