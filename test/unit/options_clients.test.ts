import { Redis } from 'ioredis'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createCache } from '../../src/index.js'

describe('createCache with a bad option', () => {
  afterEach(() => vi.restoreAllMocks())

  // A client created before the bad option was checked would be left connecting (and keep the process alive).
  it.each([
    ['codec', { codec: 'bogus' }],
    ['prefix', { prefix: '' }],
    ['maxKeyBytes', { maxKeyBytes: 0 }],
    ['bus.heartbeat', { bus: { heartbeat: 'soon' } }],
    ['l2.replicas', { l2: { replicas: 6380 } }],
  ])('throws a TypeError for %s and leaves no connection behind', (name, bad) => {
    const connect = vi.spyOn(Redis.prototype, 'connect')
    const disconnect = vi.spyOn(Redis.prototype, 'disconnect')
    expect(() => createCache({ redis: 'redis://127.0.0.1:1', ...(bad as object) })).toThrow(TypeError)
    expect(connect.mock.calls.length).toBe(disconnect.mock.calls.length)
  })
})
