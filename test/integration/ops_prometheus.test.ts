/**
 * tiercache/prometheus with a real prom-client registry and a real redis-server: the text exposition holds every
 * documented metric with its name, type and labels; counters move by what real traffic did; registering twice is
 * harmless; and without a registration the core's channels have no subscriber (nothing runs on the hot path).
 */
import { hasSubscribers, tracingChannel } from 'node:diagnostics_channel'
import { Registry } from 'prom-client'
import { describe, expect, it, onTestFinished } from 'vitest'
import { registerMetrics } from '../../src/prometheus/index.js'
import { makeNode, nextEvent } from '../support/make_cache.js'
import { useRedis } from '../support/redis_server.js'

const redis = useRedis()

/** The documented metrics (README, "Prometheus metrics"): name, type, labels. */
const DOCUMENTED: Array<[string, string, string[]]> = [
  ['tiercache_lookups_total', 'counter', ['namespace', 'tier', 'result']],
  ['tiercache_l1_entries', 'gauge', ['namespace']],
  ['tiercache_l1_bytes', 'gauge', ['namespace']],
  ['tiercache_l1_max_entries', 'gauge', ['namespace']],
  ['tiercache_l1_max_bytes', 'gauge', ['namespace']],
  ['tiercache_l1_evictions_total', 'counter', ['namespace']],
  ['tiercache_l2_errors_total', 'counter', ['namespace', 'operation']],
  ['tiercache_l2_timeouts_total', 'counter', ['namespace', 'operation']],
  ['tiercache_l2_circuit_state', 'gauge', ['namespace', 'state']],
  ['tiercache_redis_command_duration_seconds', 'histogram', ['namespace', 'operation']],
  ['tiercache_bus_up', 'gauge', ['namespace']],
  ['tiercache_bus_messages_published_total', 'counter', ['namespace']],
  ['tiercache_bus_messages_received_total', 'counter', ['namespace']],
  ['tiercache_bus_messages_dropped_total', 'counter', ['namespace', 'reason']],
  ['tiercache_bus_reconnects_total', 'counter', ['namespace']],
  ['tiercache_bus_pending_messages', 'gauge', ['namespace']],
  ['tiercache_bus_heartbeat_seconds', 'gauge', ['namespace']],
  ['tiercache_bus_last_message_age_seconds', 'gauge', ['namespace']],
  ['tiercache_stale_served_total', 'counter', ['namespace', 'reason']],
  ['tiercache_factory_calls_total', 'counter', ['namespace']],
  ['tiercache_factory_errors_total', 'counter', ['namespace']],
  ['tiercache_factory_duration_seconds', 'histogram', ['namespace', 'result']],
  ['tiercache_lock_waits_total', 'counter', ['namespace']],
  ['tiercache_lock_timeouts_total', 'counter', ['namespace']],
  ['tiercache_decode_errors_total', 'counter', ['namespace']],
  ['tiercache_writes_total', 'counter', ['namespace']],
  ['tiercache_deletes_total', 'counter', ['namespace']],
]

interface Exposition {
  types: Map<string, string>
  samples: Array<{ name: string; labels: Record<string, string>; value: number }>
}

function parse(text: string): Exposition {
  const types = new Map<string, string>()
  const samples: Exposition['samples'] = []
  for (const line of text.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line)
    if (type !== null) types.set(type[1] as string, type[2] as string)
    if (line === '' || line.startsWith('#')) continue
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line)
    if (sample === null) throw new Error(`not a sample line: ${line}`)
    const labels: Record<string, string> = {}
    for (const pair of (sample[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g))
      labels[pair[1] as string] = pair[2] as string
    samples.push({ name: sample[1] as string, labels, value: Number(sample[3]) })
  }
  return { types, samples }
}

function value(exposition: Exposition, name: string, labels: Record<string, string>): number | undefined {
  return exposition.samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value
}

describe('tiercache/prometheus', () => {
  it('exposes every documented metric, and counters move by what real traffic did', async () => {
    const a = await makeNode(redis.url, { namespace: 'a', l1: { maxEntries: 2 } })
    const b = await makeNode(redis.url, { namespace: 'a', prefix: 'tc' })
    const registry = new Registry()
    const registrations = [registerMetrics(a, { registry }), registerMetrics(b, { registry, prefix: 'node_b_' })]
    onTestFinished(() => registrations.forEach((r) => r.unregister()))

    await a.set('k', 'v')
    await a.get('k') // L1 hit
    await a.get('nope') // L1 miss, L2 miss
    await a.getOrSet('f', () => 'made') // a factory run
    await expect(a.getOrSet('bad', () => Promise.reject(new Error('db down')))).rejects.toThrow()
    await a.set('x', 1)
    await a.set('y', 2) // L1 holds 2 entries: one more evicts
    const heard = nextEvent(b, 'bus:message', (m) => m.items.includes('k'))
    await a.delete('k')
    await heard
    await b.get('y') // L2 hit on b

    const text = await registry.metrics()
    const exposition = parse(text)
    for (const [name, type, labels] of DOCUMENTED) {
      expect(exposition.types.get(name), name).toBe(type)
      expect([...(registry.getSingleMetric(name) as unknown as { labelNames: string[] }).labelNames], name).toEqual(
        labels,
      )
    }
    expect([...exposition.types.keys()].filter((n) => n.startsWith('tiercache_')).sort()).toEqual(
      DOCUMENTED.map(([name]) => name).sort(),
    )
    for (const sample of exposition.samples) expect(Object.keys(sample.labels)).not.toContain('key')

    const stats = a.stats()
    const ns = { namespace: 'a' }
    expect(value(exposition, 'tiercache_lookups_total', { ...ns, tier: 'l1', result: 'hit' })).toBe(stats.l1?.hits)
    expect(value(exposition, 'tiercache_lookups_total', { ...ns, tier: 'l1', result: 'miss' })).toBe(stats.l1?.misses)
    expect(value(exposition, 'tiercache_lookups_total', { ...ns, tier: 'l2', result: 'miss' })).toBe(stats.l2?.misses)
    expect(value(exposition, 'node_b_lookups_total', { ...ns, tier: 'l2', result: 'hit' })).toBe(1)
    expect(value(exposition, 'tiercache_factory_calls_total', ns)).toBe(2)
    expect(value(exposition, 'tiercache_factory_errors_total', ns)).toBe(1)
    expect(value(exposition, 'tiercache_factory_duration_seconds_count', { ...ns, result: 'ok' })).toBe(1)
    expect(value(exposition, 'tiercache_factory_duration_seconds_count', { ...ns, result: 'error' })).toBe(1)
    expect(value(exposition, 'tiercache_l1_evictions_total', ns)).toBeGreaterThanOrEqual(1)
    expect(value(exposition, 'tiercache_l1_max_entries', ns)).toBe(2)
    expect(value(exposition, 'tiercache_writes_total', ns)).toBe(stats.writes)
    expect(value(exposition, 'tiercache_deletes_total', ns)).toBe(1)
    expect(value(exposition, 'tiercache_bus_up', ns)).toBe(1)
    expect(value(exposition, 'tiercache_bus_messages_published_total', ns)).toBeGreaterThanOrEqual(1)
    expect(value(exposition, 'node_b_bus_messages_received_total', ns)).toBeGreaterThanOrEqual(1)
    expect(value(exposition, 'tiercache_l2_circuit_state', { ...ns, state: 'closed' })).toBe(1)
    expect(value(exposition, 'tiercache_l2_circuit_state', { ...ns, state: 'open' })).toBe(0)
    const commands = exposition.samples.filter(
      (s) => s.name === 'tiercache_redis_command_duration_seconds_count' && s.labels.namespace === 'a',
    )
    expect(commands.length).toBeGreaterThan(0)
    expect(commands.every((s) => s.labels.operation !== undefined && s.value >= 1)).toBe(true)
  })

  it('registering twice does not throw and counts once; without a registration the channels have no subscriber', async () => {
    const cache = await makeNode(redis.url, { namespace: 'twice' })
    const factory = tracingChannel('tiercache:factory')
    expect(hasSubscribers('tiercache:redis:command')).toBe(false)
    expect(factory.hasSubscribers).toBe(false)

    const registry = new Registry()
    const first = registerMetrics(cache, { registry })
    const second = registerMetrics([cache, cache], { registry })
    expect(second).toBe(first)
    expect(hasSubscribers('tiercache:redis:command')).toBe(true)
    await cache.get('nope')
    const exposition = parse(await registry.metrics())
    expect(value(exposition, 'tiercache_lookups_total', { namespace: 'twice', tier: 'l1', result: 'miss' })).toBe(1)

    first.unregister()
    expect(await registry.metrics()).toBe('\n')
    expect(hasSubscribers('tiercache:redis:command')).toBe(false)
    expect(factory.hasSubscribers).toBe(false)
    registerMetrics(cache, { registry }).unregister() // registers again after unregister
  })

  it('misuse throws TypeErrors naming the bad value', () => {
    expect(() => registerMetrics({} as never)).toThrow(/Expected a cache made by createCache/)
    expect(() => registerMetrics([], { prefix: 'bad-prefix' })).toThrow(/`prefix`/)
    expect(() => registerMetrics([], { registry: {} as never })).toThrow(/`registry`/)
  })
})
