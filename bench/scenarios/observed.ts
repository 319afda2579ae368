/**
 * Issue 15: the awaited L1-hit get of a cache with Prometheus metrics registered and OpenTelemetry instrumented
 * (spans and metrics), against the same async lru-cache floor as `l1-get`, measured in the same run: what observing
 * costs on the hot path. (A `tiercache:hit` subscriber is another matter: it asks for an event per hit.)
 */
import { BasicTracerProvider } from '@opentelemetry/sdk-trace-base'
import { Registry } from 'prom-client'
import { createCache, type Cache } from '../../src/index.js'
import { instrument } from '../../src/otel/index.js'
import { registerMetrics } from '../../src/prometheus/index.js'
import { expectValue, type Scenario } from '../harness.js'
import { L1_ENTRIES, TTL_MS, type Peers } from '../peers.js'
import { makeValue } from '../values.js'

const BATCH = 1000
const KEYS = 64

export function observedScenario(peers: Peers, redisUrl: string): { scenario: Scenario; close(): Promise<void> } {
  const value = makeValue('100B')
  const keys = Array.from({ length: KEYS }, (_, i) => `observed:${i}`)
  const lru = peers.raw.lru
  const rawGet = async (key: string): Promise<object | undefined> => lru.get(key)
  let cache: Cache | undefined
  const stops: Array<() => void> = []
  const key0 = keys[0] as string
  const scenario: Scenario = {
    id: 'l1-observed/100B',
    title: 'L1-hit get, metrics + tracing attached (100B)',
    async setup() {
      if (cache !== undefined) return
      cache = createCache({ redis: redisUrl, namespace: 'bench-observed', ttl: TTL_MS, l1: { maxEntries: L1_ENTRIES } })
      await cache.ready()
      stops.push(registerMetrics(cache, { registry: new Registry() }).unregister)
      const instrumentation = instrument({ tracerProvider: new BasicTracerProvider(), caches: cache })
      stops.push(() => instrumentation.disable())
      for (const key of keys) {
        await cache.set(key, value)
        lru.set(key, value)
      }
    },
    // Metrics and tracing subscribe to process-wide channels: left attached, they would observe every later
    // scenario's caches (every Redis command timed, every L2 read traced).
    teardown() {
      for (const stop of stops.splice(0)) stop()
    },
    tasks: {
      tiercache: {
        ops: BATCH,
        check: async () => expectValue('l1-observed', 'tiercache', await cache?.get(key0)),
        batch: async () => {
          const c = cache as Cache
          for (let i = 0; i < BATCH; i++) await c.get(keys[i & (KEYS - 1)] as string)
        },
      },
      raw: {
        ops: BATCH,
        check: async () => expectValue('l1-observed', 'raw', await rawGet(key0)),
        batch: async () => {
          for (let i = 0; i < BATCH; i++) await rawGet(keys[i & (KEYS - 1)] as string)
        },
      },
    },
  }
  return {
    scenario,
    async close() {
      for (const stop of stops.splice(0)) stop()
      await cache?.close()
    },
  }
}
