/**
 * The options of a cached route (the same for Express, Fastify and node:http), with their TSDoc,
 * and their resolution: validated once, when the middleware, plugin route or wrapper is created.
 */
import { describe, parseDuration, type Duration } from '../seam.js'
import { checkDirectives, type CacheControlDirectives } from './cache_control.js'

/** Statuses a response may have to be stored: the default ones, and those a route may add with `statuses`. */
export const DEFAULT_STATUSES: readonly number[] = [200, 203, 301, 308]
const OPTIONAL_STATUSES: readonly number[] = [204, 300, 404, 405, 410, 414, 501]

/** CDN tag header: the tags of a page, sent to the CDN in front so that it can purge by tag too. */
export interface TagHeaderOptions {
  /** Header name, e.g. `'Surrogate-Key'` (Fastly), `'Cache-Tag'` (Cloudflare). */
  name: string
  /**
   * Between two tags.
   * @default ' ' for Surrogate-Key, ',' otherwise
   */
  separator?: ' ' | ','
  /**
   * Most bytes of the header value; tags past it are left out of the header (never out of the cache).
   * Proxies refuse large response heads (nginx's default `proxy_buffer_size` is 4 KiB for all of them).
   * @default 2048
   */
  maxBytes?: number
}

/**
 * How a route's responses are cached. `Req` is the framework's request (`tags` receives it).
 *
 * Requests are looked up only for GET and HEAD (HEAD is served from the GET entry), and only when
 * they carry no `Authorization`, no `Range`, and no `Cookie` beyond those named in `cookies` and
 * `ignoreCookies`. Responses are stored only when their status is 200, 203, 301 or 308 (plus
 * `statuses`), they carry no `Set-Cookie`, no `Cache-Control: no-store | private | no-cache`, no
 * `Vary: *` (or a `Vary` on a request header missing from `vary`), are not `text/event-stream`, and
 * their body is complete and at most `maxBodyBytes`.
 */
export interface ResponseCacheOptions<Req = unknown> {
  /**
   * How long a stored page is fresh. Without it, the response's own `s-maxage`, then `max-age` (or
   * `Expires`) decides; a response with none of them, or with 0 or less, is not stored.
   * @default from the response
   */
  ttl?: Duration
  /**
   * Tags of each stored page, for `cache.invalidateTags([...])` (which drops it on every server):
   * fixed, or computed from the request once the response is complete (so it may read what the
   * handler put on the request).
   * @default none
   */
  tags?: readonly string[] | ((req: Req) => readonly string[])
  /**
   * Request headers whose values are part of the key (`Accept-Language`, `X-Tenant`). They are added
   * to the response's `Vary`. A response that varies on a request header missing from this list is
   * not stored (`Accept-Encoding` excepted: encodings are negotiated from one stored copy).
   * @default []
   */
  vary?: readonly string[]
  /**
   * Which query parameters are part of the key: `'all'` (sorted, so `?b=1&a=2` and `?a=2&b=1` share
   * a page), `'none'` (one page whatever the query: the handler must not read it), or a list of names
   * (the others are ignored: the handler must not read them).
   * @default 'all'
   */
  query?: 'all' | 'none' | readonly string[]
  /**
   * Cookies a cacheable request may carry; their values are part of the key (`['locale']`). A request
   * with any other cookie (not in `ignoreCookies`) is not cached (`BYPASS`).
   * @default [] (any cookie bypasses the cache)
   */
  cookies?: readonly string[]
  /**
   * Cookies that neither bypass the cache nor enter the key, such as analytics cookies set by the
   * browser (`['_ga', '_ga_*']`; a trailing `*` matches a prefix). The handler must not depend on them.
   * @default []
   */
  ignoreCookies?: readonly string[]
  /**
   * How long past its freshness a page is kept to be served stale when a re-render fails (throws,
   * answers 5xx or an incomplete body), takes longer than `timeout`, or runs on another server
   * (`lock`). Requests in that window wait for a re-render first.
   * @default the response's `stale-if-error`, else 0
   */
  grace?: Duration
  /**
   * How long past its freshness a page is served stale at once while one background request renders
   * it again (RFC 5861). The background render replays the request (method, URL, host, the `vary`
   * headers and cookies, `Accept-Encoding: gzip`) through the app, without the caller's credentials.
   * @default the response's `stale-while-revalidate`, else 0
   */
  staleWhileRevalidate?: Duration
  /**
   * With a stale page in `grace`, how long a request waits for the re-render before it gets the stale
   * page (the render finishes in the background and is stored).
   * @default none: wait for the re-render
   */
  timeout?: Duration
  /**
   * Largest body stored, in bytes (as sent: compressed bodies count compressed). A larger response is
   * streamed to its client as usual, just not kept. Keep it under the cache's `maxValueBytes`.
   * @default 1_048_576 (1 MiB)
   */
  maxBodyBytes?: number
  /**
   * One render per key across all servers: on a miss, the server that takes a Redis lock renders and
   * the others wait for its page (`getOrSet`'s `lock: true`); with a stale page they serve it instead.
   * Needs Redis.
   * @default false
   */
  lock?: boolean
  /**
   * How long the render lock is held at most, and how long waiters wait for its holder before they
   * render themselves; also bounds a background re-render.
   * @default '5s'
   */
  lockTimeout?: Duration
  /**
   * Statuses stored besides 200, 203, 301 and 308: any of 204, 300, 404, 405, 410, 414, 501.
   * @default []
   */
  statuses?: readonly number[]
  /**
   * `Cache-Control` sent to clients and CDNs (on misses and hits), merged into the handler's as
   * `patchCacheControl` does. Whether the page is stored is decided on the handler's own header.
   * @default the handler's header, unchanged
   */
  cacheControl?: string | CacheControlDirectives
  /**
   * Send the page's tags to the CDN in front: `'Surrogate-Key'` (space separated), `'Cache-Tag'`
   * (comma separated) or your own header, with a size guard.
   * @default false
   */
  tagHeader?: false | 'Surrogate-Key' | 'Cache-Tag' | TagHeaderOptions
  /**
   * Host names (without port) whose requests are cached; requests for other hosts bypass the cache,
   * so forged `Host` headers cannot fill it.
   * @default any host
   */
  hosts?: readonly string[]
  /**
   * After a response that says it must not be stored (`Set-Cookie`, `private`, a status not stored,
   * too large…), requests for its key skip the wait on a shared render for this long (Varnish's
   * hit-for-miss): each renders on its own, and the first storable response is stored. `0` turns it off.
   * @default '30s'
   */
  hitForMiss?: Duration
  /**
   * Send `X-Cache` (`HIT-L1 | HIT-L2 | MISS | STALE | BYPASS`) and an RFC 9211 `Cache-Status`.
   * @default true
   */
  statusHeaders?: boolean
  /**
   * The cache's name in `Cache-Status`.
   * @default 'tiercache'
   */
  name?: string
  /**
   * Called with failures that do not change the response: a page that could not be stored (Redis down,
   * too large), a background re-render that failed. Also published on `diagnostics_channel`
   * `tiercache:http:error`.
   * @default none
   */
  onError?: (error: unknown, info: HttpErrorInfo) => void
}

/** What a failure reported to `onError` was about. */
export interface HttpErrorInfo {
  operation: 'lookup' | 'store' | 'revalidate' | 'render'
  /** The request's URL (path and query). */
  url: string
}

/** A route's options, validated and resolved once (not exported by tiercache/http). */
export interface RouteSettings {
  ttl: number | undefined
  tags: readonly string[] | ((req: never) => readonly string[]) | undefined
  /** Lowercase, for lookups. */
  vary: readonly string[]
  /** As given, for the Vary header. */
  varyNames: readonly string[]
  query: 'all' | 'none' | ReadonlySet<string>
  cookies: ReadonlySet<string>
  ignoreCookies: readonly string[]
  grace: number | undefined
  staleWhileRevalidate: number | undefined
  timeout: number
  maxBodyBytes: number
  lock: boolean
  lockTimeout: number
  statuses: ReadonlySet<number>
  cacheControl: CacheControlDirectives | undefined
  tagHeader: { name: string; separator: string; maxBytes: number } | undefined
  hosts: ReadonlySet<string> | undefined
  hitForMiss: number
  statusHeaders: boolean
  name: string
  onError: ((error: unknown, info: HttpErrorInfo) => void) | undefined
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

function names(value: unknown, option: string, lower: boolean): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0 && TOKEN.test(v)))
    throw new TypeError(`Expected \`${option}\` to be an array of header or parameter names, got ${describe(value)}`)
  return (value as string[]).map((v) => (lower ? v.toLowerCase() : v))
}

function strings(value: unknown, option: string): string[] {
  if (!Array.isArray(value) || !value.every((v) => typeof v === 'string' && v.length > 0))
    throw new TypeError(`Expected \`${option}\` to be an array of non-empty strings, got ${describe(value)}`)
  return value as string[]
}

function boolean(value: unknown, option: string, fallback: boolean): boolean {
  if (value === undefined) return fallback
  if (typeof value !== 'boolean') throw new TypeError(`Expected \`${option}\` to be a boolean, got ${describe(value)}`)
  return value
}

function tagHeader(value: unknown): RouteSettings['tagHeader'] {
  if (value === undefined || value === false) return undefined
  const options: TagHeaderOptions =
    typeof value === 'string'
      ? { name: value }
      : typeof value === 'object' && value !== null
        ? (value as TagHeaderOptions)
        : { name: '' }
  if (typeof options.name !== 'string' || !TOKEN.test(options.name))
    throw new TypeError(
      `Expected \`tagHeader\` to be 'Surrogate-Key', 'Cache-Tag' or { name, separator?, maxBytes? }, got ${describe(value)}`,
    )
  const surrogate = options.name.toLowerCase() === 'surrogate-key'
  const separator = options.separator ?? (surrogate ? ' ' : ',')
  if (separator !== ' ' && separator !== ',')
    throw new TypeError(`Expected \`tagHeader.separator\` to be ' ' or ',', got ${describe(separator)}`)
  const maxBytes = options.maxBytes ?? 2048
  if (!Number.isSafeInteger(maxBytes) || maxBytes < 1)
    throw new TypeError(`Expected \`tagHeader.maxBytes\` to be a whole number from 1 and up, got ${describe(maxBytes)}`)
  return { name: options.name.toLowerCase(), separator, maxBytes }
}

/**
 * Validates `options` and resolves them once.
 * @throws TypeError naming the option when a value is invalid.
 */
export function resolveRoute(input: ResponseCacheOptions<never> | undefined): RouteSettings {
  if (input !== undefined && (typeof input !== 'object' || input === null || Array.isArray(input)))
    throw new TypeError(`Expected \`options\` to be an object, got ${describe(input)}`)
  const o = input ?? {}
  const tags = o.tags
  if (tags !== undefined && typeof tags !== 'function') strings(tags, 'tags')
  const query = o.query ?? 'all'
  if (query !== 'all' && query !== 'none' && !Array.isArray(query))
    throw new TypeError(`Expected \`query\` to be 'all', 'none' or an array of parameter names, got ${describe(query)}`)
  const maxBodyBytes = o.maxBodyBytes ?? 1_048_576
  if (!Number.isSafeInteger(maxBodyBytes) || maxBodyBytes < 1)
    throw new TypeError(`Expected \`maxBodyBytes\` to be a whole number from 1 and up, got ${describe(maxBodyBytes)}`)
  const statuses = o.statuses ?? []
  if (!Array.isArray(statuses) || !statuses.every((s) => OPTIONAL_STATUSES.includes(s as number)))
    throw new TypeError(
      `Expected \`statuses\` to be an array of ${OPTIONAL_STATUSES.join(', ')}, got ${describe(statuses)}`,
    )
  const cacheControl =
    typeof o.cacheControl === 'string'
      ? { raw: o.cacheControl }
      : o.cacheControl === undefined
        ? undefined
        : checkDirectives(o.cacheControl, 'cacheControl')
  const name = o.name ?? 'tiercache'
  if (typeof name !== 'string' || !TOKEN.test(name))
    throw new TypeError(`Expected \`name\` to be a token (letters, digits, '-', '.', …), got ${describe(name)}`)
  if (o.onError !== undefined && typeof o.onError !== 'function')
    throw new TypeError(`Expected \`onError\` to be a function, got ${describe(o.onError)}`)
  return {
    ttl: o.ttl === undefined ? undefined : parseDuration(o.ttl, 'ttl'),
    tags: tags as RouteSettings['tags'],
    vary: o.vary === undefined ? [] : [...new Set(names(o.vary, 'vary', true))],
    varyNames: o.vary === undefined ? [] : names(o.vary, 'vary', false),
    query: query === 'all' || query === 'none' ? query : new Set(names(query, 'query', false)),
    cookies: new Set(o.cookies === undefined ? [] : names(o.cookies, 'cookies', false)),
    ignoreCookies: o.ignoreCookies === undefined ? [] : strings(o.ignoreCookies, 'ignoreCookies'),
    grace: o.grace === undefined ? undefined : parseDuration(o.grace, 'grace', true),
    staleWhileRevalidate:
      o.staleWhileRevalidate === undefined
        ? undefined
        : parseDuration(o.staleWhileRevalidate, 'staleWhileRevalidate', true),
    timeout: o.timeout === undefined ? 0 : parseDuration(o.timeout, 'timeout'),
    maxBodyBytes,
    lock: boolean(o.lock, 'lock', false),
    lockTimeout: parseDuration(o.lockTimeout ?? '5s', 'lockTimeout'),
    statuses: new Set([...DEFAULT_STATUSES, ...(statuses as number[])]),
    cacheControl,
    tagHeader: tagHeader(o.tagHeader),
    hosts: o.hosts === undefined ? undefined : new Set(strings(o.hosts, 'hosts').map((h) => h.toLowerCase())),
    hitForMiss: parseDuration(o.hitForMiss ?? '30s', 'hitForMiss', true),
    statusHeaders: boolean(o.statusHeaders, 'statusHeaders', true),
    name,
    onError: o.onError as RouteSettings['onError'],
  }
}
