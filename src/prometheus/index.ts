/**
 * `tiercache/prometheus`: a cache's metrics in a prom-client registry (prom-client is an optional peer
 * dependency). Counters and gauges are read at scrape time; the two histograms (Redis command latency, factory
 * duration) are fed from diagnostics channels, which the core leaves empty while nothing is registered.
 * See README, "Prometheus metrics", for the table of metrics.
 */
import { Counter, Gauge, Histogram, register as defaultRegistry, type Registry } from 'prom-client'
import { Cache } from '../index.js'
import { feedHistograms, lookupFor, METRICS, type Labels } from '../observability/metrics.js'
import { describe, observe, redisOf } from '../seam.js'

/** Options of `registerMetrics`. */
export interface PrometheusOptions {
  /** The registry to add the metrics to. @default prom-client's global `register` */
  registry?: Registry
  /** Starts every metric name. @default 'tiercache_' */
  prefix?: string
}

/** What `registerMetrics` returns. */
export interface MetricsRegistration {
  /** Removes the metrics from the registry and stops feeding the histograms. */
  unregister(): void
}

interface State {
  readonly caches: Set<Cache>
  readonly handle: MetricsRegistration
}

const registered = new WeakMap<Registry, Map<string, State>>()

/**
 * Adds the metrics of `cacheOrCaches` (label `namespace`: each cache's name) to a prom-client registry. Idempotent:
 * a second call with the same registry and prefix adds its caches (once each) to the first registration and
 * returns it. Pass each cache once, not its namespaces: they share its counters.
 * @throws TypeError naming the bad value.
 */
export function registerMetrics(
  cacheOrCaches: Cache | readonly Cache[],
  options: PrometheusOptions = {},
): MetricsRegistration {
  const caches = Array.isArray(cacheOrCaches) ? (cacheOrCaches as readonly unknown[]) : [cacheOrCaches]
  for (const cache of caches)
    if (!(cache instanceof Cache))
      throw new TypeError(`Expected a cache made by createCache() (or an array of them), got ${describe(cache)}`)
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const registry = options.registry ?? defaultRegistry
  if (typeof registry !== 'object' || registry === null || typeof registry.registerMetric !== 'function')
    throw new TypeError(`Expected \`registry\` to be a prom-client Registry, got ${describe(registry)}`)
  const prefix = options.prefix ?? 'tiercache_'
  if (typeof prefix !== 'string' || !/^([a-zA-Z_:][a-zA-Z0-9_:]*)?$/.test(prefix))
    throw new TypeError(`Expected \`prefix\` to be a Prometheus metric name prefix, got ${describe(prefix)}`)

  let byPrefix = registered.get(registry)
  if (byPrefix === undefined) registered.set(registry, (byPrefix = new Map()))
  const existing = byPrefix.get(prefix)
  if (existing !== undefined) {
    for (const cache of caches) existing.caches.add(cache as Cache)
    return existing.handle
  }
  const state = create(new Set(caches as Cache[]), registry, prefix, () => byPrefix.delete(prefix))
  byPrefix.set(prefix, state)
  return state.handle
}

function create(caches: Set<Cache>, registry: Registry, prefix: string, forget: () => void): State {
  const names: string[] = []
  const histograms = new Map<string, Histogram>()
  for (const metric of METRICS) {
    const name = prefix + metric.name + (metric.kind === 'counter' ? '_total' : '')
    const labelNames = ['namespace', ...metric.labels]
    const read = metric.read
    const samples = (): Array<[Labels, number]> =>
      read === undefined
        ? []
        : [...caches].flatMap((cache) =>
            read(observe(cache)).map(([labels, value]): [Labels, number] => [
              { namespace: cache.name, ...labels },
              value,
            ]),
          )
    names.push(name)
    const common = { name, help: metric.help, labelNames, registers: [registry] }
    if (metric.kind === 'counter')
      new Counter({
        ...common,
        collect(this: Counter) {
          this.reset()
          for (const [labels, value] of samples()) this.inc(labels, value)
        },
      })
    else if (metric.kind === 'gauge')
      new Gauge({
        ...common,
        collect(this: Gauge) {
          this.reset()
          for (const [labels, value] of samples()) this.set(labels, value)
        },
      })
    else histograms.set(metric.name, new Histogram({ ...common, buckets: [...(metric.buckets ?? [])] }))
  }
  const stop = feedHistograms(lookupFor(caches, redisOf), (name, namespace, labels, seconds) =>
    histograms.get(name)?.observe({ namespace, ...labels }, seconds),
  )
  let done = false
  return {
    caches,
    handle: {
      unregister() {
        if (done) return
        done = true
        stop()
        for (const name of names) registry.removeSingleMetric(name)
        forget()
      },
    },
  }
}
