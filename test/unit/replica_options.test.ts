/** `l2.replicas` / `l2.replicaLag`: misuse is a TypeError naming the value; which reads may go to the replica. */
import { afterEach, describe, expect, it, vi } from 'vitest'
import { ReplicaRoutes } from '../../src/cache/replica_routes.js'
import { createCache } from '../../src/index.js'

describe('l2.replicas options', () => {
  const lazy = { lazyConnect: true, port: 1 }

  it('rejects a replica that is not a URL, client or options, naming l2.replicas', () => {
    expect(() => createCache({ redis: lazy, l2: { replicas: 6380 as never } })).toThrow(/`l2\.replicas`.*6380/)
    expect(() => createCache({ redis: lazy, l2: { replicas: 'localhost:6380' } })).toThrow(
      /`l2\.replicas`.*did you mean "redis:\/\/localhost:6380"/,
    )
  })

  it('rejects a replicaLag without replicas, and a bad replicaLag', () => {
    expect(() => createCache({ redis: lazy, l2: { replicaLag: '1s' } })).toThrow(TypeError)
    expect(() => createCache({ redis: lazy, l2: { replicaLag: '1s' } })).toThrow(/l2\.replicaLag.*l2\.replicas/)
    expect(() => createCache({ redis: lazy, l2: { replicas: lazy, replicaLag: 'soon' as never } })).toThrow(
      /l2\.replicaLag.*soon/,
    )
  })
})

describe('ReplicaRoutes', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('sends reads of an invalidated key, namespace or everything to the primary for the lag, then back', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    let deaf = false
    const routes = new ReplicaRoutes(100, () => deaf)
    expect(routes.allows('p::a', 'p::')).toBe(true)
    routes.key('p::a')
    expect(routes.allows('p::a', 'p::')).toBe(false)
    expect(routes.allows('p::b', 'p::')).toBe(true) // only the key
    vi.advanceTimersByTime(100)
    expect(routes.allows('p::a', 'p::')).toBe(true)
    routes.prefix('p::')
    expect(routes.allows('p::b', 'p::')).toBe(false)
    expect(routes.allows('q::b', 'q::')).toBe(true) // only the namespace
    vi.advanceTimersByTime(100)
    routes.all()
    expect(routes.allows('q::b', 'q::')).toBe(false)
    vi.advanceTimersByTime(100)
    expect(routes.allows('q::b', 'q::')).toBe(true)
    deaf = true // the bus is down: nothing is heard, so nothing goes to the replica
    expect(routes.allows('q::b', 'q::')).toBe(false)
  })

  it('remembers only keys invalidated within the lag (memory stays bounded)', () => {
    vi.useFakeTimers({ now: 1_000_000 })
    const routes = new ReplicaRoutes(100, () => false)
    for (let i = 0; i < 1000; i++) routes.key(`k${i}`)
    vi.advanceTimersByTime(100)
    routes.key('last')
    expect(routes.tracked).toBe(1)
  })
})

describe('l2.minReplicas options', () => {
  const lazy = { lazyConnect: true, port: 1 }

  it('rejects a minReplicas that is not a whole number from 1, and a replicaTimeout without it', () => {
    expect(() => createCache({ redis: lazy, l2: { minReplicas: 0 } })).toThrow(/`l2\.minReplicas`.*0/)
    expect(() => createCache({ redis: lazy, l2: { minReplicas: 1.5 } })).toThrow(/`l2\.minReplicas`.*1\.5/)
    expect(() => createCache({ redis: lazy, l2: { replicaTimeout: '50ms' } })).toThrow(
      /l2\.replicaTimeout.*l2\.minReplicas/,
    )
  })

  it('rejects minReplicas on a Cluster (WAIT would reach a random node)', async () => {
    const { Cluster } = await import('ioredis')
    const cluster = new Cluster([{ host: '127.0.0.1', port: 1 }], { lazyConnect: true })
    try {
      expect(() => createCache({ redis: cluster, l2: { minReplicas: 1 } })).toThrow(/l2\.minReplicas.*Cluster/)
    } finally {
      cluster.disconnect()
    }
  })
})
