/**
 * The one metric catalogue, shared by the Prometheus (`tiercache/prometheus`) and OpenTelemetry (`tiercache/otel`)
 * exporters. Counters and gauges are read from a cache's live view at scrape time (`read`); histograms are fed
 * from diagnostics channels (`feedHistograms`), so nothing runs on a cache's hot path unless an exporter is attached.
 * Labels are bounded: namespace, tier, result, operation, state, reason. Never a key.
 * @internal
 */
import { subscribe, tracingChannel, unsubscribe } from 'node:diagnostics_channel'
import type { CacheObservation } from '../cache/introspection.js'
import type { RedisCommandMessage, TraceMessage } from './tracing.js'

export type MetricKind = 'counter' | 'gauge' | 'histogram'

/** Label values of one sample, besides `namespace`. */
export type Labels = Record<string, string>

export interface MetricDefinition {
  /** The name after the prefix, without `_total` (exporters add it to counters). */
  readonly name: string
  readonly kind: MetricKind
  readonly help: string
  /** Label names besides `namespace`. */
  readonly labels: readonly string[]
  /** Counters and gauges: the samples of one cache, read at scrape time. */
  readonly read?: (view: CacheObservation) => Array<[Labels, number]>
  /** Histograms: bucket upper bounds (seconds). */
  readonly buckets?: readonly number[]
}

const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1]
const FACTORY_BUCKETS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

const one = (value: number | undefined): Array<[Labels, number]> => (value === undefined ? [] : [[{}, value]])
const byLabel = (label: string, map: ReadonlyMap<string, number>): Array<[Labels, number]> =>
  [...map].map(([name, value]) => [{ [label]: name }, value])

export const METRICS: readonly MetricDefinition[] = [
  {
    name: 'lookups',
    kind: 'counter',
    help: 'Cache lookups by tier (l1, l2) and result (hit, miss).',
    labels: ['tier', 'result'],
    read: ({ counters: c, l1, circuit }) => [
      ...(l1 === null
        ? []
        : ([
            [{ tier: 'l1', result: 'hit' }, c.l1Hits],
            [{ tier: 'l1', result: 'miss' }, c.l1Misses],
          ] as Array<[Labels, number]>)),
      ...(circuit === null
        ? []
        : ([
            [{ tier: 'l2', result: 'hit' }, c.l2Hits],
            [{ tier: 'l2', result: 'miss' }, c.l2Misses],
          ] as Array<[Labels, number]>)),
    ],
  },
  {
    name: 'l1_entries',
    kind: 'gauge',
    help: 'Entries in L1 (every namespace).',
    labels: [],
    read: (v) => one(v.l1?.entries),
  },
  { name: 'l1_bytes', kind: 'gauge', help: 'Counted bytes in L1.', labels: [], read: (v) => one(v.l1?.bytes) },
  {
    name: 'l1_max_entries',
    kind: 'gauge',
    help: 'The L1 bound in entries.',
    labels: [],
    read: (v) => one(v.l1?.maxEntries),
  },
  { name: 'l1_max_bytes', kind: 'gauge', help: 'The L1 bound in bytes.', labels: [], read: (v) => one(v.l1?.maxBytes) },
  {
    name: 'l1_evictions',
    kind: 'counter',
    help: 'L1 entries pushed out by its bound.',
    labels: [],
    read: (v) => one(v.l1?.evictions),
  },
  {
    name: 'l2_errors',
    kind: 'counter',
    help: 'Failed Redis commands by operation (timeouts included).',
    labels: ['operation'],
    read: (v) => byLabel('operation', v.counters.l2ErrorsByOperation),
  },
  {
    name: 'l2_timeouts',
    kind: 'counter',
    help: 'Redis commands that timed out, by operation.',
    labels: ['operation'],
    read: (v) => byLabel('operation', v.counters.l2TimeoutsByOperation),
  },
  {
    name: 'l2_circuit_state',
    kind: 'gauge',
    help: 'The circuit breaker in front of Redis: 1 for its current state.',
    labels: ['state'],
    read: ({ circuit }) =>
      circuit === null
        ? []
        : (['closed', 'open', 'half-open'] as const).map((state) => [{ state }, state === circuit ? 1 : 0]),
  },
  {
    name: 'redis_command_duration_seconds',
    kind: 'histogram',
    help: 'Redis command latency by operation (command or script name).',
    labels: ['operation'],
    buckets: LATENCY_BUCKETS,
  },
  {
    name: 'bus_up',
    kind: 'gauge',
    help: '1 while this node hears every invalidation (bus subscription confirmed).',
    labels: [],
    read: ({ bus }) => one(bus === null ? undefined : bus.up ? 1 : 0),
  },
  {
    name: 'bus_messages_published',
    kind: 'counter',
    help: 'Invalidation messages sent.',
    labels: [],
    read: (v) => one(v.bus?.published),
  },
  {
    name: 'bus_messages_received',
    kind: 'counter',
    help: "Invalidation messages from other nodes applied to this node's L1.",
    labels: [],
    read: (v) => one(v.bus?.received),
  },
  {
    name: 'bus_messages_dropped',
    kind: 'counter',
    help: 'Bus messages ignored (malformed) or given up (closed before they were sent).',
    labels: ['reason'],
    read: ({ bus }) => (bus === null ? [] : byLabel('reason', bus.dropped)),
  },
  {
    name: 'bus_reconnects',
    kind: 'counter',
    help: 'Times the bus subscription was lost.',
    labels: [],
    read: (v) => one(v.bus?.reconnects),
  },
  {
    name: 'bus_pending_messages',
    kind: 'gauge',
    help: 'Invalidations waiting to be published again.',
    labels: [],
    read: (v) => one(v.bus?.pending),
  },
  {
    name: 'bus_heartbeat_seconds',
    kind: 'gauge',
    help: 'Round trip of the last heartbeat on the bus connection: the least delay of an invalidation.',
    labels: [],
    read: ({ bus }) => one(bus?.heartbeatMs == null ? undefined : bus.heartbeatMs / 1000),
  },
  {
    name: 'bus_last_message_age_seconds',
    kind: 'gauge',
    help: 'Time since the bus connection last heard anything (a message or a heartbeat reply).',
    labels: [],
    read: ({ bus }) => one(bus?.lastMessageAgeMs == null ? undefined : bus.lastMessageAgeMs / 1000),
  },
  {
    name: 'stale_served',
    kind: 'counter',
    help: 'Stale values getOrSet served within grace, by reason.',
    labels: ['reason'],
    read: (v) => byLabel('reason', v.counters.staleServed),
  },
  {
    name: 'factory_calls',
    kind: 'counter',
    help: 'Factory runs.',
    labels: [],
    read: (v) => one(v.counters.factoryCalls),
  },
  {
    name: 'factory_errors',
    kind: 'counter',
    help: 'Factory runs that threw.',
    labels: [],
    read: (v) => one(v.counters.factoryErrors),
  },
  {
    name: 'factory_duration_seconds',
    kind: 'histogram',
    help: 'Factory run time, by result (ok, error).',
    labels: ['result'],
    buckets: FACTORY_BUCKETS,
  },
  {
    name: 'lock_waits',
    kind: 'counter',
    help: "getOrSet calls with lock: true that waited for another process's factory.",
    labels: [],
    read: (v) => one(v.counters.lockWaits),
  },
  {
    name: 'lock_timeouts',
    kind: 'counter',
    help: 'Lock waits that timed out (the caller ran the factory itself).',
    labels: [],
    read: (v) => one(v.counters.lockTimeouts),
  },
  {
    name: 'decode_errors',
    kind: 'counter',
    help: 'Values in Redis that could not be decoded.',
    labels: [],
    read: (v) => one(v.counters.decodeErrors),
  },
  { name: 'writes', kind: 'counter', help: 'Entries written.', labels: [], read: (v) => one(v.counters.writes) },
  { name: 'deletes', kind: 'counter', help: 'Keys deleted.', labels: [], read: (v) => one(v.counters.deletes) },
]

/** Where histogram observations go: which metric, the namespace, the other labels, the value in seconds. */
export type HistogramSink = (name: string, namespace: string, labels: Labels, seconds: number) => void

/** Which registered cache a namespace or a connection belongs to (its root namespace), if any. */
export interface CacheLookup {
  namespaceOf(connection: object): string | undefined
  rootOf(namespace: string): string | undefined
}

/** The lookup over `caches` (read when asked: caches added later count), `connectionOf` giving each one's Redis. */
export function lookupFor<C extends { readonly name: string }>(
  caches: Iterable<C>,
  connectionOf: (cache: C) => object | undefined,
): CacheLookup {
  return {
    namespaceOf(connection) {
      for (const cache of caches) if (connectionOf(cache) === connection) return cache.name
      return undefined
    },
    rootOf(namespace) {
      for (const cache of caches)
        if (namespace === cache.name || namespace.startsWith(`${cache.name}:`)) return cache.name
      return undefined
    },
  }
}

const noop = (): void => undefined
const factoryChannel = tracingChannel<unknown, TraceMessage>('tiercache:factory')

/**
 * Feeds the histograms of {@link METRICS} from the core's channels until the returned function is called:
 * `tiercache:redis:command` (command latency) and `tiercache:factory` (factory duration).
 */
export function feedHistograms(lookup: CacheLookup, sink: HistogramSink): () => void {
  const onCommand = (message: unknown): void => {
    const { connection, command, durationMs } = message as RedisCommandMessage
    const namespace = lookup.namespaceOf(connection)
    if (namespace !== undefined)
      sink('redis_command_duration_seconds', namespace, { operation: command }, durationMs / 1000)
  }
  const started = new WeakMap<object, number>()
  const handlers = {
    end: noop,
    asyncStart: noop,
    error: noop,
    start: (message: TraceMessage) => {
      if (lookup.rootOf(message.namespace) !== undefined) started.set(message, performance.now())
    },
    asyncEnd: (message: TraceMessage) => {
      const at = started.get(message)
      const namespace = lookup.rootOf(message.namespace)
      if (at === undefined || namespace === undefined) return
      const result = message.error === undefined ? 'ok' : 'error'
      sink('factory_duration_seconds', namespace, { result }, (performance.now() - at) / 1000)
    },
  }
  subscribe('tiercache:redis:command', onCommand)
  factoryChannel.subscribe(handlers)
  return () => {
    unsubscribe('tiercache:redis:command', onCommand)
    factoryChannel.unsubscribe(handlers)
  }
}
