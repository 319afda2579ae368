/** Fast checks of the facade over ioredis-mock (the embedded demo runs on it). Real behaviour is proven in test/integration. */
import RedisMock from 'ioredis-mock'
import { describe, expect, it } from 'vitest'
import { createCache } from '../../src/index.js'

describe('facade over ioredis-mock', () => {
  it('dual-writes and reads through L2 from a second cache', async () => {
    const redis = new RedisMock()
    const a = createCache({ redis, namespace: 'demo' })
    const b = createCache({ redis, namespace: 'demo', l1: false })
    await a.set('user:1', { name: 'Ada', since: new Date(0) })
    expect(await b.get('user:1')).toEqual({ name: 'Ada', since: new Date(0) })
    expect(await b.getMany(['user:1', 'user:2'])).toEqual([{ name: 'Ada', since: new Date(0) }, undefined])
    expect(await b.delete('user:1')).toBe(true)
    await a.close()
    await b.close()
  })
})
