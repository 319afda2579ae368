/**
 * A render the cache waits for: the request's own handler run (a miss leader, or a request that
 * renders on its own), or a background re-render. The adapter runs the handler, captures its
 * response and hands it to `complete()`, which decides whether it is stored and says what the
 * client gets; `outcome` tells the engine (and, through `getOrSet`, the requests waiting on it).
 */
import type { IncomingHttpHeaders, OutgoingHttpHeaders } from 'node:http'
import { describe } from '../seam.js'
import { label } from './cache_status.js'
import type { RouteSettings } from './options.js'
import { buildPage, refusalAtHead, type Captured, type Page, type Refusal } from './page.js'
import type { RequestView } from './request_key.js'
import { NOT_MODIFIED_REMOVE, notModified, servePage, type Served } from './serve.js'

/** What a render produced: a page to store, or why not (with the status the handler answered). */
export type Outcome = Page | { t: 'refused'; refusal: Refusal; status: number }

export type TicketRole = 'leader' | 'own' | 'revalidation'

/** The client's headers the cache answers with, kept before the adapter rewrites the request for the handler. */
interface ClientHeaders {
  'accept-encoding'?: string
  'if-none-match'?: string
  'if-modified-since'?: string
}

export class Ticket {
  readonly role: TicketRole
  readonly key: string
  readonly view: RequestView
  /** The client asked with HEAD: it gets no body (the handler renders a GET). */
  readonly head: boolean
  /** The named cookies of the request, replayed by a background render. */
  readonly cookies: string | undefined
  readonly outcome: Promise<Outcome>
  /** Resolves once the outcome is stored (or was not to be); never rejects. Clients get a MISS after it. */
  readonly written: Promise<void>
  readonly #settings: RouteSettings
  readonly #client: ClientHeaders
  /** `fwd=miss` or `fwd=stale`, and the extra `Cache-Status` detail (hit-for-miss). */
  readonly #fwd: string
  readonly #detail: string | undefined
  readonly #onTagsError: (error: unknown) => void
  #resolve!: (outcome: Outcome) => void
  #settled = false

  constructor(
    role: TicketRole,
    key: string,
    view: RequestView,
    cookies: string | undefined,
    settings: RouteSettings,
    context: {
      fwd: 'miss' | 'stale'
      detail?: string
      onTagsError: (error: unknown) => void
      /** Stores a page (or a hit-for-miss marker); reports its own failures. */
      store: (outcome: Outcome) => Promise<void>
    },
  ) {
    this.role = role
    this.key = key
    this.view = view
    this.head = view.method === 'HEAD'
    this.cookies = cookies
    this.#settings = settings
    const h = view.headers
    this.#client = {
      ...(h['accept-encoding'] !== undefined && { 'accept-encoding': h['accept-encoding'] }),
      ...(h['if-none-match'] !== undefined && { 'if-none-match': h['if-none-match'] }),
      ...(h['if-modified-since'] !== undefined && { 'if-modified-since': h['if-modified-since'] }),
    }
    this.#fwd = `fwd=${context.fwd}`
    this.#detail = context.detail
    this.#onTagsError = context.onTagsError
    this.outcome = new Promise((resolve) => (this.#resolve = resolve))
    this.written = this.outcome.then(context.store)
  }

  /** Why a response with this head cannot be stored (send it as it comes), or undefined (hold its body). */
  refuseAtHead(status: number, headers: OutgoingHttpHeaders): Refusal | undefined {
    return refusalAtHead(status, headers, this.#settings)
  }

  /**
   * The handler's complete response. Decides whether it is stored (`outcome`) and returns what the
   * client gets: the stored page as `servePage` makes it, or the response as it is, plus status headers.
   * `req` is the framework's request, for a `tags` callback.
   */
  complete(captured: Captured, req: unknown): Served {
    const now = Date.now()
    const tags = this.#tags(req)
    // A page whose tags cannot be computed is not stored: it could not be invalidated.
    const built =
      tags === undefined
        ? { refusal: { reason: 'tags', failed: true } }
        : buildPage(captured, this.#settings, tags, now)
    const { statusHeaders, name } = this.#settings
    if ('page' in built) {
      this.#settle(built.page)
      const labels = label(statusHeaders, name, 'MISS', [
        this.#fwd,
        `fwd-status=${captured.status}`,
        'stored',
        this.#detail,
      ])
      return servePage(built.page, this.#client as IncomingHttpHeaders, this.head, labels, now)
    }
    this.#settle({ t: 'refused', refusal: built.refusal, status: captured.status })
    const headers = Object.entries(this.refusedLabels(built.refusal, captured.status)).flat()
    const etag = captured.headers.etag
    const modified = Date.parse(String(captured.headers['last-modified'] ?? ''))
    if (
      captured.status === 200 &&
      notModified(
        this.#client as IncomingHttpHeaders,
        typeof etag === 'string' ? etag : undefined,
        Number.isFinite(modified) ? modified : 0,
      )
    )
      return { status: 304, headers, remove: NOT_MODIFIED_REMOVE, body: undefined }
    return { status: captured.status, headers, remove: [], body: this.head ? undefined : captured.body }
  }

  /** The response went to the client as it came (refused at its head, or over `maxBodyBytes`): nothing is stored. */
  pass(refusal: Refusal, status: number): Record<string, string> {
    this.#settle({ t: 'refused', refusal, status })
    return this.refusedLabels(refusal, status)
  }

  /** The render did not complete (client gone, handler failed before answering, background render timed out). */
  abandon(reason: string): void {
    this.#settle({ t: 'refused', refusal: { reason, failed: true }, status: 0 })
  }

  /** `X-Cache: MISS` and a `Cache-Status` saying why the response was not stored. */
  refusedLabels(refusal: Refusal, status: number): Record<string, string> {
    const labels = label(this.#settings.statusHeaders, this.#settings.name, 'MISS', [
      this.#fwd,
      status > 0 && `fwd-status=${status}`,
      `detail=${this.#detail ?? refusal.reason}`,
    ])
    return labels === undefined ? {} : { 'x-cache': labels.xCache, 'cache-status': labels.cacheStatus }
  }

  /** `X-Cache: MISS` and a `Cache-Status` for a response sent before it is known whether it is stored (a stream). */
  missLabels(): Record<string, string> {
    const labels = label(this.#settings.statusHeaders, this.#settings.name, 'MISS', [this.#fwd, this.#detail])
    return labels === undefined ? {} : { 'x-cache': labels.xCache, 'cache-status': labels.cacheStatus }
  }

  /** Headers a background render replays: what the key is made of, `Accept-Encoding: gzip`, no credentials. */
  replayHeaders(marker: { name: string; value: string }): Record<string, string> {
    const source = this.view.headers
    const headers: Record<string, string> = { 'accept-encoding': 'gzip', [marker.name]: marker.value }
    for (const name of ['host', 'x-forwarded-host', 'x-forwarded-proto', ...this.#settings.vary]) {
      const value = source[name]
      if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(', ') : value
    }
    if (this.cookies !== undefined) headers.cookie = this.cookies
    return headers
  }

  #settle(outcome: Outcome): void {
    if (this.#settled) return
    this.#settled = true
    this.#resolve(outcome)
  }

  #tags(req: unknown): readonly string[] | undefined {
    const tags = this.#settings.tags
    if (tags === undefined) return []
    if (typeof tags !== 'function') return tags
    try {
      const computed = (tags as (req: unknown) => readonly string[])(req)
      if (Array.isArray(computed) && computed.every((t) => typeof t === 'string' && t.length > 0)) return computed
      throw new TypeError(`Expected \`tags\` to return an array of non-empty strings, got ${describe(computed)}`)
    } catch (error) {
      this.#onTagsError(error)
      return undefined
    }
  }
}
