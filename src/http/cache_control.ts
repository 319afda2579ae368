/**
 * `Cache-Control` and `Vary` on responses, in the spirit of Django's `patch_cache_control`,
 * `never_cache` and `vary_on_headers`: merge directives into what a response already says instead
 * of overwriting it. Works on node:http and Express responses and on Fastify replies.
 */
import { describe, parseDuration, type Duration } from '../seam.js'

/**
 * Cache-Control directives, as `patchCacheControl` takes them. `true` adds a directive, `false`
 * removes it; durations are milliseconds or strings (`'1m'`) and are sent in whole seconds.
 */
export interface CacheControlDirectives {
  public?: boolean
  private?: boolean
  noCache?: boolean
  noStore?: boolean
  noTransform?: boolean
  mustRevalidate?: boolean
  proxyRevalidate?: boolean
  mustUnderstand?: boolean
  immutable?: boolean
  /** `max-age`: how long browsers (and shared caches without `s-maxage`) may reuse the response. */
  maxAge?: Duration | false
  /** `s-maxage`: how long shared caches (CDNs) may reuse the response. */
  sMaxAge?: Duration | false
  staleWhileRevalidate?: Duration | false
  staleIfError?: Duration | false
  /** A raw header value merged as parsed (what a `cacheControl: '…'` route option becomes). @internal */
  raw?: string
}

/** Directives by lowercase name: `true` for a bare directive, the argument otherwise. */
export type DirectiveMap = Map<string, string | true>

const FLAGS: ReadonlyArray<[keyof CacheControlDirectives, string]> = [
  ['public', 'public'],
  ['private', 'private'],
  ['noCache', 'no-cache'],
  ['noStore', 'no-store'],
  ['noTransform', 'no-transform'],
  ['mustRevalidate', 'must-revalidate'],
  ['proxyRevalidate', 'proxy-revalidate'],
  ['mustUnderstand', 'must-understand'],
  ['immutable', 'immutable'],
]
const AGES: ReadonlyArray<[keyof CacheControlDirectives, string]> = [
  ['maxAge', 'max-age'],
  ['sMaxAge', 's-maxage'],
  ['staleWhileRevalidate', 'stale-while-revalidate'],
  ['staleIfError', 'stale-if-error'],
]
const KNOWN = new Set<string>([...FLAGS, ...AGES].map(([option]) => option).concat('raw'))

/** Parses a Cache-Control value (lenient: unknown directives are kept, malformed parts skipped). */
export function parseCacheControl(value: unknown): DirectiveMap {
  const map: DirectiveMap = new Map()
  const text = Array.isArray(value) ? value.join(',') : typeof value === 'string' ? value : ''
  for (const part of text.split(',')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim().toLowerCase()
    if (name === '') continue
    const argument =
      eq === -1
        ? true
        : part
            .slice(eq + 1)
            .trim()
            .replace(/^"(.*)"$/, '$1')
    if (!map.has(name)) map.set(name, argument)
  }
  return map
}

export function formatCacheControl(directives: DirectiveMap | CacheControlDirectives): string {
  const map = directives instanceof Map ? directives : toDirectiveMap(directives)
  return [...map].map(([name, argument]) => (argument === true ? name : `${name}=${argument}`)).join(', ')
}

/** Validates directives given as an object. @throws TypeError naming the bad directive. */
export function checkDirectives(value: unknown, option: string): CacheControlDirectives {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(
      `Expected \`${option}\` to be a Cache-Control string or directives object, got ${describe(value)}`,
    )
  for (const [key, argument] of Object.entries(value)) {
    if (!KNOWN.has(key))
      throw new TypeError(`Expected \`${option}\` to have only Cache-Control directives, got \`${key}\``)
    if (key === 'raw') continue
    const isAge = AGES.some(([option]) => option === key)
    if (isAge && argument !== false) parseDuration(argument, `${option}.${key}`, true)
    else if (typeof argument !== 'boolean')
      throw new TypeError(`Expected \`${option}.${key}\` to be a boolean, got ${describe(argument)}`)
  }
  return value as CacheControlDirectives
}

/** Directives as `name → true | argument`, with `false` entries kept as removals (`undefined` values). */
function patchEntries(directives: CacheControlDirectives): Array<[string, string | true | undefined]> {
  const entries: Array<[string, string | true | undefined]> = []
  if (directives.raw !== undefined) entries.push(...parseCacheControl(directives.raw))
  for (const [option, name] of FLAGS) {
    const flag = directives[option]
    if (flag !== undefined) entries.push([name, flag === true ? true : undefined])
  }
  for (const [option, name] of AGES) {
    const age = directives[option] as Duration | false | undefined
    if (age === undefined) continue
    entries.push([name, age === false ? undefined : String(Math.floor(parseDuration(age, option, true) / 1000))])
  }
  return entries
}

function toDirectiveMap(directives: CacheControlDirectives): DirectiveMap {
  const map: DirectiveMap = new Map()
  for (const [name, argument] of patchEntries(directives)) if (argument !== undefined) map.set(name, argument)
  return map
}

/**
 * Merges `directives` into the Cache-Control value `current`, as Django's `patch_cache_control`:
 * `public` and `private` replace each other, and when both sides have `max-age` the smaller wins.
 */
export function patchCacheControlValue(current: unknown, directives: CacheControlDirectives): string {
  const map = parseCacheControl(current)
  for (const [name, argument] of patchEntries(directives)) {
    if (argument === undefined) {
      map.delete(name)
      continue
    }
    if (name === 'public') map.delete('private')
    if (name === 'private') map.delete('public')
    const existing = map.get(name)
    if (name === 'max-age' && typeof existing === 'string' && argument !== true && Number(existing) < Number(argument))
      continue
    map.set(name, argument)
  }
  return formatCacheControl(map)
}

/** Adds `headers` to a Vary value (case-insensitively, once each; `*` absorbs everything). */
export function patchVaryValue(current: unknown, headers: readonly string[]): string {
  const text = Array.isArray(current) ? current.join(',') : typeof current === 'string' ? current : ''
  const present = text
    .split(',')
    .map((h) => h.trim())
    .filter((h) => h !== '')
  const seen = new Set(present.map((h) => h.toLowerCase()))
  for (const header of headers) {
    if (seen.has(header.toLowerCase())) continue
    seen.add(header.toLowerCase())
    present.push(header)
  }
  return seen.has('*') ? '*' : present.join(', ')
}

/** A node:http or Express response (`setHeader`), or a Fastify reply (`header`). */
export type HeaderTarget =
  | { getHeader(name: string): unknown; setHeader(name: string, value: string): unknown }
  | { getHeader(name: string): unknown; header(name: string, value: string): unknown }

function setOn(target: HeaderTarget, name: string, value: string): void {
  if ('setHeader' in target && typeof target.setHeader === 'function') target.setHeader(name, value)
  else if ('header' in target && typeof target.header === 'function') target.header(name, value)
  else throw new TypeError(`Expected a response with setHeader() or a Fastify reply, got ${describe(target)}`)
}

/**
 * Merges directives into the response's `Cache-Control` (Django's `patch_cache_control`).
 *
 * ```ts
 * patchCacheControl(res, { public: true, maxAge: '1m', sMaxAge: '10m' })
 * ```
 */
export function patchCacheControl(res: HeaderTarget, directives: CacheControlDirectives): void {
  checkDirectives(directives, 'directives')
  setOn(res, 'cache-control', patchCacheControlValue(res.getHeader('cache-control'), directives))
}

/**
 * Marks the response as never to be cached, by any cache (Django's `never_cache`): `Cache-Control:
 * max-age=0, no-cache, no-store, must-revalidate, private` and an `Expires` of now. tiercache does not
 * store it either.
 */
export function neverCache(res: HeaderTarget): void {
  patchCacheControl(res, { maxAge: 0, noCache: true, noStore: true, mustRevalidate: true, private: true })
  if (res.getHeader('expires') === undefined) setOn(res, 'expires', new Date().toUTCString())
}

/**
 * Adds request headers to the response's `Vary` (Django's `patch_vary_headers` / `vary_on_headers`).
 * A cached route must also list them in its `vary` option, or the response is not stored.
 */
export function patchVary(res: HeaderTarget, headers: readonly string[]): void {
  if (!Array.isArray(headers) || !headers.every((h) => typeof h === 'string' && h.length > 0))
    throw new TypeError(`Expected \`headers\` to be an array of header names, got ${describe(headers)}`)
  setOn(res, 'vary', patchVaryValue(res.getHeader('vary'), headers))
}
