/**
 * The response cache, whatever the framework: looks a request up, serves fresh pages, serves stale
 * ones while a background request renders them again (staleWhileRevalidate) or when a re-render
 * fails (grace), and turns misses into one render per key: `getOrSet` runs the first request's
 * handler (its "factory" resolves when that request's response is complete) and hands the page to
 * the requests waiting on it, in this process and, with `lock`, on every server.
 *
 * Pages keep their own freshness clock (`Page.storedAt`, `fresh`) and live in the cache for
 * `fresh + max(staleWhileRevalidate, grace)`, so a TTL from the response's own `s-maxage`/`max-age`
 * and RFC 5861 directives work as the options do. Everything goes through the public cache API
 * (`get` via `getWithTier`, `getOrSet`, `set`) plus the seam's `tryLock` for background renders.
 */
import { channel } from 'node:diagnostics_channel'
import type { Cache } from '../index.js'
import { getWithTier, redisKeyOf, redisOf, tryLock, unlock, type HeldLock } from '../seam.js'
import { label, ttlOf, type XCache } from './cache_status.js'
import type { HttpErrorInfo, RouteSettings } from './options.js'
import { freshness, isStored, keepFor, type Page, type Stored } from './page.js'
import { planRequest, type Plan, type RequestView } from './request_key.js'
import { servePage, type Served } from './serve.js'
import { Ticket, type Outcome } from './ticket.js'

/** What the adapter does with a request: send a response now, or run the handler for a ticket. */
export type Decision = { kind: 'serve'; served: Served } | { kind: 'render'; ticket: Ticket }

/** A lookup plan: the request may be served from the cache under `key`. */
export type LookupPlan = Extract<Plan, { kind: 'lookup' }>

/**
 * Starts a background render of `ticket`'s request (a synthetic request through the app); `origin` is
 * what the adapter passed to `decide` (its request). It completes or abandons the ticket.
 */
export type BackgroundRender = (ticket: Ticket, origin: unknown) => void

const errors = channel('tiercache:http:error')
/** Another server holds the render lock of a key. */
const LOCKED = { t: 'locked' } as const
const TIMED_OUT = { t: 'timeout' } as const

function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void
  const promise = new Promise<T>((r) => (resolve = r))
  return { promise, resolve }
}

/** A stored value as written (a JSON codec turns the body into `{ type: 'Buffer', data }`), or undefined. */
function asStored(value: unknown): Stored | undefined {
  if (isStored(value)) return value
  const body = (value as { body?: { type?: unknown; data?: unknown } } | null)?.body
  if (body?.type === 'Buffer' && Array.isArray(body.data)) {
    const page = { ...(value as object), body: Buffer.from(body.data as number[]) }
    if (isStored(page)) return page
  }
  return undefined
}

export class ResponseCacheEngine {
  readonly settings: RouteSettings
  readonly #cache: Cache
  readonly #background: BackgroundRender

  constructor(cache: Cache, settings: RouteSettings, background: BackgroundRender) {
    this.#cache = cache
    this.settings = settings
    this.#background = background
  }

  plan(view: RequestView): Plan {
    return planRequest(view, this.settings)
  }

  /** `X-Cache: BYPASS` and its `Cache-Status` for a request the cache does not serve. */
  bypassHeaders(plan: Extract<Plan, { kind: 'bypass' }>): Record<string, string> {
    const labels = label(this.settings.statusHeaders, this.settings.name, 'BYPASS', [
      `fwd=${plan.fwd}`,
      plan.fwd === 'bypass' && `detail=${plan.detail}`,
    ])
    return labels === undefined ? {} : { 'x-cache': labels.xCache, 'cache-status': labels.cacheStatus }
  }

  /** Looks the request up and decides: serve (fresh, stale, or another request's render), or render. */
  async decide(plan: LookupPlan, view: RequestView, origin: unknown): Promise<Decision> {
    let found: { value: unknown; tier: 'l1' | 'l2' } | undefined
    try {
      found = await getWithTier(this.#cache, plan.key)
    } catch (error) {
      this.report(error, 'lookup', view.url)
    }
    const stored = found === undefined ? undefined : asStored(found.value)
    const now = Date.now()
    if (stored?.t === 'page') {
      const state = freshness(stored, now)
      if (state === 'fresh') {
        const xCache: XCache = found?.tier === 'l1' ? 'HIT-L1' : 'HIT-L2'
        return this.#serve(stored, view, xCache, ['hit', `ttl=${ttlOf(stored, now)}`], now)
      }
      if (state === 'swr') {
        this.#revalidate(plan, view, origin).catch((error: unknown) => this.report(error, 'revalidate', view.url))
        return this.#serve(
          stored,
          view,
          'STALE',
          ['hit', `ttl=${ttlOf(stored, now)}`, 'detail=stale-while-revalidate'],
          now,
        )
      }
      if (state === 'grace') return this.#revalidateOrStale(stored, plan, view, origin)
    }
    if (stored?.t === 'pass') return { kind: 'render', ticket: this.#ticket('own', plan, view, 'miss', 'hit-for-miss') }
    return this.#fill(plan, view)
  }

  /** Sends a failure that does not change the response to `onError` and `diagnostics_channel`. */
  report(error: unknown, operation: HttpErrorInfo['operation'], url: string): void {
    const info: HttpErrorInfo = { operation, url }
    if (errors.hasSubscribers) errors.publish({ error, ...info })
    try {
      this.settings.onError?.(error, info)
    } catch (thrown) {
      // A throwing listener must not break the response that reported.
      queueMicrotask(() => {
        throw thrown
      })
    }
  }

  #ticket(role: Ticket['role'], plan: LookupPlan, view: RequestView, fwd: 'miss' | 'stale', detail?: string): Ticket {
    return new Ticket(role, plan.key, view, plan.cookies, this.settings, {
      fwd,
      ...(detail !== undefined && { detail }),
      onTagsError: (error) => this.report(error, 'store', view.url),
      store: (outcome) => this.#store(plan.key, outcome, view.url),
    })
  }

  #serve(page: Page, view: RequestView, xCache: XCache, params: string[], now: number): Decision {
    const labels = label(this.settings.statusHeaders, this.settings.name, xCache, params)
    return { kind: 'serve', served: servePage(page, view.headers, view.method === 'HEAD', labels, now) }
  }

  /**
   * A miss: `getOrSet` makes this request the render leader (its factory runs), or hands it the page
   * another request is rendering. The factory resolves once the leader's response is complete and
   * stored, so with `lock` the lock is released after the write and waiters on other servers read it.
   */
  async #fill(plan: LookupPlan, view: RequestView): Promise<Decision> {
    const { lock, lockTimeout } = this.settings
    const led = deferred<Ticket>()
    const shared = this.#cache.getOrSet<Stored | Outcome>(
      plan.key,
      async () => {
        if (lock) {
          // Taking the lock does not re-read Redis: a page written between our read and the lock is found here.
          const again = asStored((await getWithTier(this.#cache, plan.key))?.value)
          if (again?.t === 'page' && freshness(again, Date.now()) === 'fresh') return again
        }
        const ticket = this.#ticket('leader', plan, view, 'miss')
        led.resolve(ticket)
        const outcome = await ticket.outcome
        await ticket.written
        return outcome
      },
      { lock, lockTimeout, shouldCache: () => false },
    )
    let first: { ticket: Ticket } | { value: Stored | Outcome }
    try {
      first = await Promise.race([shared.then((value) => ({ value })), led.promise.then((ticket) => ({ ticket }))])
    } catch (error) {
      this.report(error, 'lookup', view.url)
      return { kind: 'render', ticket: this.#ticket('own', plan, view, 'miss') }
    }
    if ('ticket' in first) {
      shared.catch((error: unknown) => this.report(error, 'render', view.url))
      return { kind: 'render', ticket: first.ticket }
    }
    const value = first.value
    if (value.t === 'page') {
      const now = Date.now()
      const fresh = freshness(value, now) === 'fresh'
      return this.#serve(
        value,
        view,
        fresh ? 'MISS' : 'STALE',
        ['fwd=miss', 'collapsed', `ttl=${ttlOf(value, now)}`],
        now,
      )
    }
    // The shared render was not stored (uncacheable, failed): this request renders on its own.
    return { kind: 'render', ticket: this.#ticket('own', plan, view, 'miss') }
  }

  /** A page in grace: wait for a re-render (at most `timeout`), or serve the stale page. */
  async #revalidateOrStale(stale: Page, plan: LookupPlan, view: RequestView, origin: unknown): Promise<Decision> {
    const running = this.#revalidate(plan, view, origin)
    let result: Stored | Outcome | typeof LOCKED | typeof TIMED_OUT
    try {
      const timeout = this.settings.timeout
      if (timeout === 0) result = await running
      else {
        let timer: NodeJS.Timeout | undefined
        const timedOut = new Promise<typeof TIMED_OUT>((resolve) => (timer = setTimeout(resolve, timeout, TIMED_OUT)))
        result = await Promise.race([running, timedOut]).finally(() => clearTimeout(timer))
        running.catch((error: unknown) => this.report(error, 'revalidate', view.url))
      }
    } catch (error) {
      this.report(error, 'revalidate', view.url)
      result = { t: 'refused', refusal: { reason: 'error', failed: true }, status: 0 }
    }
    const now = Date.now()
    const ttl = `ttl=${ttlOf(stale, now)}`
    if (result.t === 'page') return this.#serve(result, view, 'MISS', ['fwd=stale', 'fwd-status=200', 'stored'], now)
    if (result.t === 'locked') return this.#serve(stale, view, 'STALE', ['hit', ttl, 'detail=lock-held'], now)
    if (result.t === 'timeout') return this.#serve(stale, view, 'STALE', ['fwd=stale', ttl, 'detail=timeout'], now)
    if (result.t === 'refused' && result.refusal.failed) {
      const status = result.status > 0 && `fwd-status=${result.status}`
      return this.#serve(stale, view, 'STALE', ['fwd=stale', status || '', ttl, `detail=${result.refusal.reason}`], now)
    }
    // The page may no longer be stored (it now says no-store, private…): this request renders on its own.
    return { kind: 'render', ticket: this.#ticket('own', plan, view, 'stale') }
  }

  /**
   * Renders the key again with a background request: once per key in this process (`getOrSet` with
   * `forceFresh` shares runs), and with `lock` once across servers (the others keep serving stale).
   */
  #revalidate(plan: LookupPlan, view: RequestView, origin: unknown): Promise<Stored | Outcome | typeof LOCKED> {
    const { lock, lockTimeout } = this.settings
    return this.#cache.getOrSet<Stored | Outcome | typeof LOCKED>(
      plan.key,
      async () => {
        const connection = lock ? redisOf(this.#cache) : undefined
        let held: HeldLock | undefined
        if (connection !== undefined) {
          try {
            held = await tryLock(connection, `${redisKeyOf(this.#cache, plan.key)}!render`, lockTimeout)
            if (held === undefined) return LOCKED
          } catch (error) {
            this.report(error, 'revalidate', view.url) // Redis down: render without the lock
          }
        }
        try {
          const ticket = this.#ticket('revalidation', plan, view, 'stale')
          const timer = setTimeout(() => ticket.abandon('timeout'), lockTimeout).unref()
          try {
            this.#background(ticket, origin)
          } catch (error) {
            this.report(error, 'revalidate', view.url)
            ticket.abandon('error')
          }
          const outcome = await ticket.outcome.finally(() => clearTimeout(timer))
          await ticket.written
          return outcome
        } finally {
          if (held !== undefined && connection !== undefined)
            unlock(connection, held).catch((error: unknown) => this.report(error, 'revalidate', view.url))
        }
      },
      { forceFresh: true, shouldCache: () => false },
    )
  }

  /** Stores a rendered page, or a hit-for-miss marker for a response that said it must not be stored. */
  async #store(key: string, outcome: Outcome, url: string): Promise<void> {
    try {
      if (outcome.t === 'page') await this.#cache.set(key, outcome, { ttl: keepFor(outcome), tags: outcome.tags })
      else if (!outcome.refusal.failed && this.settings.hitForMiss > 0)
        await this.#cache.set(
          key,
          { t: 'pass', v: 1, reason: outcome.refusal.reason },
          { ttl: this.settings.hitForMiss },
        )
    } catch (error) {
      this.report(error, 'store', url)
    }
  }
}
