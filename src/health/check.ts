/**
 * The readiness check behind every handler of `tiercache/health`: the health of one or several caches, the HTTP
 * status a load balancer should see, and the draining state of the process.
 */
import { Cache, type CacheHealth } from '../index.js'
import { describe, parseDuration, type Duration } from '../seam.js'

/** Options of the readiness check (`healthHandler`, `fastifyHealth`, `checkHealth`). */
export interface HealthCheckOptions {
  /**
   * Answer 503 when Redis or the invalidation bus is down. Off by default: a cache whose Redis is down still serves
   * (L1 and factories), and a Redis outage must not make every server fail its check at once and take the whole
   * site out of the load balancer. Turn it on only where a server without Redis is worse than no server.
   * @default false
   */
  requireL2?: boolean
  /** How long the check may take: Redis is given this long to answer a PING, then counts as down. @default '1s' */
  timeout?: Duration
}

/** The overall answer: a cache's status, or `draining` after `beginShutdown()`. */
export type ReadinessStatus = 'ok' | 'degraded' | 'down' | 'draining'

/** What a readiness check found. */
export interface HealthReport {
  /** The worst status of the caches checked, or `draining`. */
  status: ReadinessStatus
  /** 200 when ready (ok, or degraded without `requireL2`), 503 otherwise. */
  httpStatus: 200 | 503
  /** The JSON body the handlers send: one cache's health, or `{ status, caches: [...] }` for several. */
  body: Record<string, unknown>
}

/** A cache, or several (their worst status wins). */
export type CacheOrCaches = Cache | readonly Cache[]

let shuttingDown = false

/** From now on, readiness answers 503 (`draining`) so that load balancers stop sending traffic before `close()`. */
export function beginShutdown(): void {
  shuttingDown = true
}

/** Readiness answers from the caches' health again (a shutdown that was called off, and tests). */
export function cancelShutdown(): void {
  shuttingDown = false
}

/** True after `beginShutdown()` (or a signal `drainOnSignal` listens to) until `cancelShutdown()`. */
export function isShuttingDown(): boolean {
  return shuttingDown
}

const RANK: Record<CacheHealth['status'], number> = { ok: 0, degraded: 1, down: 2 }

/** Validated settings of a readiness check. @internal */
export interface ReadinessCheck {
  (): Promise<HealthReport>
}

/**
 * A readiness check for `cacheOrCaches`: concurrent calls share one check in flight (a burst of probes costs one
 * PING per cache). @throws TypeError naming the bad value.
 */
export function readinessCheck(cacheOrCaches: CacheOrCaches, options: HealthCheckOptions = {}): ReadinessCheck {
  const caches = checkCaches(cacheOrCaches)
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(options)}`)
  const requireL2 = options.requireL2 ?? false
  if (typeof requireL2 !== 'boolean')
    throw new TypeError(`Expected \`requireL2\` to be a boolean, got ${describe(requireL2)}`)
  const timeout = parseDuration(options.timeout ?? '1s', 'timeout')
  let inflight: Promise<HealthReport> | undefined
  return () => {
    inflight ??= run(caches, Array.isArray(cacheOrCaches), requireL2, timeout).finally(() => (inflight = undefined))
    return inflight
  }
}

/** The readiness of `cacheOrCaches` once, for frameworks without a handler here. Never rejects. */
export function checkHealth(cacheOrCaches: CacheOrCaches, options?: HealthCheckOptions): Promise<HealthReport> {
  return readinessCheck(cacheOrCaches, options)()
}

async function run(
  caches: readonly Cache[],
  several: boolean,
  requireL2: boolean,
  timeout: number,
): Promise<HealthReport> {
  const healths = await Promise.all(caches.map((cache) => cache.health(timeout)))
  let worst: CacheHealth['status'] = 'ok'
  let ready = true
  for (const health of healths) {
    if (RANK[health.status] > RANK[worst]) worst = health.status
    if (health.status === 'down') ready = false
    if (requireL2 && (health.l2?.ok === false || health.bus?.up === false)) ready = false
  }
  const status: ReadinessStatus = shuttingDown ? 'draining' : worst
  if (shuttingDown) ready = false
  const body: Record<string, unknown> = several
    ? { status, caches: healths.map((health, i) => ({ namespace: caches[i]?.name, ...health })) }
    : { ...healths[0], status }
  return { status, httpStatus: ready ? 200 : 503, body }
}

function checkCaches(input: CacheOrCaches): readonly Cache[] {
  const caches = Array.isArray(input) ? (input as readonly unknown[]) : [input]
  if (caches.length === 0) throw new TypeError('Expected at least one cache, got an empty array')
  for (const cache of caches)
    if (!(cache instanceof Cache))
      throw new TypeError(`Expected a cache made by createCache() (or an array of them), got ${describe(cache)}`)
  return caches as readonly Cache[]
}
