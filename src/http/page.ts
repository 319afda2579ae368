/**
 * What the cache stores for a URL: a `Page` (status, representation headers, body, validators and
 * its own freshness clock) or a hit-for-miss `Marker`. Pages live in the cache for `fresh +
 * max(staleWhileRevalidate, grace)`; whether a page is fresh or stale is decided here, from
 * `storedAt`, not by the cache's TTL. `buildPage` decides whether a captured response may be stored.
 */
import { createHash } from 'node:crypto'
import type { OutgoingHttpHeaders } from 'node:http'
import CachePolicy from 'http-cache-semantics'
import { parseCacheControl, patchCacheControlValue, patchVaryValue } from './cache_control.js'
import type { RouteSettings } from './options.js'

/** A stored response. Field names are short: it is encoded into every cache entry. */
export interface Page {
  t: 'page'
  v: 1
  status: number
  /** Representation headers (lowercase names): no hop-by-hop, Date, Content-Length, Set-Cookie or status headers. */
  headers: Record<string, string | string[]>
  body: Uint8Array
  /** Strong `"…"` from a body hash unless the handler sent its own. */
  etag: string
  /** `Last-Modified` in ms since the epoch; 0 without one. */
  lastModified: number
  /** `Content-Encoding` of `body` (`''` for identity). */
  encoding: string
  storedAt: number
  /** How long after `storedAt` the page is fresh (ms). */
  fresh: number
  /** Stale-while-revalidate window after `fresh` (ms). */
  swr: number
  /** Grace window after `fresh` (ms): served stale when a re-render fails. */
  grace: number
  /** The tags it was stored with (for the CDN tag header). */
  tags: readonly string[]
}

/** Hit-for-miss: the last response for this key said it must not be stored. */
export interface Marker {
  t: 'pass'
  v: 1
  reason: string
}

export type Stored = Page | Marker

/** A response as a handler produced it, captured by an adapter. */
export interface Captured {
  status: number
  headers: OutgoingHttpHeaders
  body: Buffer
  /** Headers the response carried before the handler ran (set by earlier middleware for this request only). */
  before: OutgoingHttpHeaders | undefined
}

/** Why a response was not stored; `failed` responses (5xx, incomplete) may be replaced by a stale page. */
export interface Refusal {
  reason: string
  failed: boolean
}

const ENCODINGS = new Set(['', 'identity', 'gzip', 'x-gzip', 'deflate', 'br'])
const EXCLUDED = new Set([
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'date',
  'content-length',
  'age',
  'set-cookie',
  'x-cache',
  'cache-status',
])

/** True for a value this module wrote (garbage or a foreign value under our key is a miss). */
export function isStored(value: unknown): value is Stored {
  if (typeof value !== 'object' || value === null) return false
  const v = value as Partial<Page> & Partial<Marker>
  if (v.v !== 1) return false
  if (v.t === 'pass') return typeof v.reason === 'string'
  return v.t === 'page' && v.body instanceof Uint8Array && typeof v.headers === 'object' && v.headers !== null
}

/** A page's state at `now`. */
export function freshness(page: Page, now: number): 'fresh' | 'swr' | 'grace' | 'expired' {
  const age = now - page.storedAt
  if (age < page.fresh) return 'fresh'
  if (age < page.fresh + page.swr) return 'swr'
  return age < page.fresh + page.grace ? 'grace' : 'expired'
}

/** How long the cache keeps `page`. */
export function keepFor(page: Page): number {
  return page.fresh + Math.max(page.swr, page.grace)
}

function text(value: OutgoingHttpHeaders[string]): string {
  return Array.isArray(value) ? value.join(', ') : value === undefined ? '' : String(value)
}

/**
 * Why a response with this status and these headers cannot be stored, or undefined when it may be
 * (the body is checked by `buildPage`). Adapters call it at head time to stop holding the body early.
 */
export function refusalAtHead(
  status: number,
  headers: OutgoingHttpHeaders,
  settings: RouteSettings,
): Refusal | undefined {
  if (!settings.statuses.has(status)) return { reason: status >= 500 ? 'error' : 'status', failed: status >= 500 }
  if (headers['set-cookie'] !== undefined) return { reason: 'set-cookie', failed: false }
  const cc = headers['cache-control']
  if (cc !== undefined) {
    const directives = parseCacheControl(text(cc))
    for (const name of ['no-store', 'private', 'no-cache'])
      if (directives.has(name)) return { reason: name, failed: false }
  } else if (/no-cache/i.test(text(headers.pragma))) return { reason: 'no-cache', failed: false }
  const vary = headers.vary
  if (vary !== undefined) {
    for (const part of text(vary).split(',')) {
      const name = part.trim().toLowerCase()
      if (name === '' || name === 'accept-encoding' || settings.vary.includes(name)) continue
      return { reason: name === '*' ? 'vary-star' : `vary-${name}`, failed: false }
    }
  }
  if (/^\s*text\/event-stream/i.test(text(headers['content-type']))) return { reason: 'event-stream', failed: false }
  if (headers['content-range'] !== undefined) return { reason: 'partial', failed: false }
  const length = Number(text(headers['content-length']) || 0)
  if (length > settings.maxBodyBytes) return { reason: 'size', failed: false }
  if (!ENCODINGS.has(text(headers['content-encoding']).trim().toLowerCase()))
    return { reason: 'encoding', failed: false }
  return undefined
}

function sameHeader(a: OutgoingHttpHeaders[string], b: OutgoingHttpHeaders[string]): boolean {
  return a !== undefined && b !== undefined && text(a) === text(b)
}

/** `"<sha1 of body, base64url>"`. */
export function strongEtag(body: Uint8Array): string {
  return `"${createHash('sha1').update(body).digest('base64url')}"`
}

/** The page to store for `captured`, or why it is not stored. */
export function buildPage(
  captured: Captured,
  settings: RouteSettings,
  tags: readonly string[],
  now: number,
): { page: Page } | { refusal: Refusal } {
  const { status, headers, body } = captured
  const refusal = refusalAtHead(status, headers, settings)
  if (refusal !== undefined) return { refusal }
  if (body.length > settings.maxBodyBytes) return { refusal: { reason: 'size', failed: false } }
  const declared = headers['content-length']
  if (declared !== undefined && Number(text(declared)) !== body.length)
    return { refusal: { reason: 'incomplete', failed: true } }

  const directives = parseCacheControl(text(headers['cache-control']))
  let fresh = settings.ttl
  if (fresh === undefined) {
    const stringHeaders: Record<string, string> = {}
    for (const [name, value] of Object.entries(headers)) if (value !== undefined) stringHeaders[name] = text(value)
    const policy = new CachePolicy(
      { method: 'GET', headers: {} },
      { status, headers: stringHeaders },
      { shared: true, cacheHeuristic: 0, immutableMinTimeToLive: 0 },
    )
    fresh = policy.storable() ? Math.round((policy.maxAge() - policy.age()) * 1000) : 0
  }
  if (fresh <= 0) return { refusal: { reason: 'ttl', failed: false } }
  const seconds = (name: string): number => {
    const value = Number(directives.get(name))
    return Number.isFinite(value) && value > 0 ? value * 1000 : 0
  }

  const kept: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || EXCLUDED.has(name) || sameHeader(value, captured.before?.[name])) continue
    kept[name] = Array.isArray(value) ? value.map(String) : String(value)
  }
  if (settings.cacheControl !== undefined)
    kept['cache-control'] = patchCacheControlValue(kept['cache-control'], settings.cacheControl)
  if (settings.varyNames.length > 0) kept.vary = patchVaryValue(kept.vary, settings.varyNames)
  const tagHeader = settings.tagHeader
  if (tagHeader !== undefined && tags.length > 0) {
    const value = cdnTags(tags, tagHeader.separator, tagHeader.maxBytes)
    if (value !== '') kept[tagHeader.name] = value
  }
  const etag = typeof kept.etag === 'string' ? kept.etag : strongEtag(body)
  kept.etag = etag
  const lastModified = typeof kept['last-modified'] === 'string' ? Date.parse(kept['last-modified']) : NaN
  const encoding = text(headers['content-encoding']).trim().toLowerCase()
  return {
    page: {
      t: 'page',
      v: 1,
      status,
      headers: kept,
      body,
      etag,
      lastModified: Number.isFinite(lastModified) ? lastModified : 0,
      encoding: encoding === 'identity' ? '' : encoding === 'x-gzip' ? 'gzip' : encoding,
      storedAt: now,
      fresh,
      swr: settings.staleWhileRevalidate ?? seconds('stale-while-revalidate'),
      grace: settings.grace ?? seconds('stale-if-error'),
      tags,
    },
  }
}

/** Tags that fit in a header value of at most `maxBytes` (tags with spaces, commas or controls are left out). */
function cdnTags(tags: readonly string[], separator: string, maxBytes: number): string {
  let value = ''
  for (const tag of tags) {
    if (!/^[\x21-\x2b\x2d-\x7e]+$/.test(tag)) continue
    const next = value === '' ? tag : `${value}${separator}${tag}`
    if (next.length > maxBytes) break
    value = next
  }
  return value
}
