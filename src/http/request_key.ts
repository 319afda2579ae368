/**
 * Which requests may be answered from the cache, and under which key: method + protocol + host +
 * path + normalised query + the `vary` headers and named cookies, hashed (SHA-256). Requests that
 * may not are a bypass with the reason (for `Cache-Status`).
 */
import crypto from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import type { RouteSettings } from './options.js'

/** A request as the cache sees it, whatever the framework. */
export interface RequestView {
  method: string
  /** Path and query, as received (Express: `originalUrl`). */
  url: string
  headers: IncomingHttpHeaders
  /** The host the framework trusts (`Host`, or `X-Forwarded-Host` behind a trusted proxy), maybe with a port. */
  host: string | undefined
  protocol: string
}

export type Plan =
  | { kind: 'bypass'; fwd: 'bypass' | 'method'; detail: string }
  | {
      kind: 'lookup'
      key: string
      head: boolean
      /** The named cookies the request carries (`name=value; …`), replayed by background renders. */
      cookies: string | undefined
    }

const METHOD: Plan = { kind: 'bypass', fwd: 'method', detail: 'method' }
const AUTHORIZATION: Plan = { kind: 'bypass', fwd: 'bypass', detail: 'authorization' }
const RANGE: Plan = { kind: 'bypass', fwd: 'bypass', detail: 'range' }
const COOKIE: Plan = { kind: 'bypass', fwd: 'bypass', detail: 'cookie' }
const HOST: Plan = { kind: 'bypass', fwd: 'bypass', detail: 'host' }

/** Decides whether `request` may be served from the cache and computes its key. Cheap on the common path. */
export function planRequest(request: RequestView, settings: RouteSettings): Plan {
  const method = request.method
  if (method !== 'GET' && method !== 'HEAD') return METHOD
  const headers = request.headers
  if (headers.authorization !== undefined) return AUTHORIZATION
  if (headers.range !== undefined) return RANGE
  let cookies: string | undefined
  if (headers.cookie !== undefined) {
    const kept = keptCookies(headers.cookie, settings)
    if (kept === undefined) return COOKIE
    cookies = kept === '' ? undefined : kept
  }
  const host = (request.host ?? '').toLowerCase()
  if (settings.hosts !== undefined && !settings.hosts.has(hostname(host))) return HOST

  const url = request.url
  const q = url.indexOf('?')
  const path = q === -1 ? url : url.slice(0, q)
  const query = q === -1 || settings.query === 'none' ? '' : normaliseQuery(url.slice(q + 1), settings.query)
  let material = `GET\n${request.protocol}\n${host}\n${path}\n${query}`
  for (const name of settings.vary) {
    const value = headers[name]
    material += `\n${Array.isArray(value) ? value.join(', ') : (value ?? '')}`
  }
  if (cookies !== undefined) material += `\n${cookies}`
  const key = `http:${sha256(material)}`
  return { kind: 'lookup', key, head: method === 'HEAD', cookies }
}

/** SHA-256 in base64url: one-shot `crypto.hash` where Node has it (20.12+), three times faster. */
const sha256: (text: string) => string =
  typeof (crypto as { hash?: unknown }).hash === 'function'
    ? (text) =>
        (crypto as unknown as { hash(a: string, d: string, e: string): string }).hash('sha256', text, 'base64url')
    : (text) => crypto.createHash('sha256').update(text).digest('base64url')

function hostname(host: string): string {
  if (host.startsWith('[')) return host.slice(0, host.indexOf(']') + 1)
  const colon = host.indexOf(':')
  return colon === -1 ? host : host.slice(0, colon)
}

/** `a=1&b=2` sorted by name (values of one name keep their order), encoded one way; only `allowed` names when given. */
export function normaliseQuery(query: string, allowed: 'all' | ReadonlySet<string>): string {
  if (query === '') return ''
  const params = new URLSearchParams(query)
  if (allowed !== 'all') for (const name of [...params.keys()]) if (!allowed.has(name)) params.delete(name)
  params.sort()
  return params.toString()
}

/**
 * The request's cookies named in `cookies`, sorted (`a=1; b=2`), or undefined when it carries a cookie
 * that is neither named nor ignored.
 */
function keptCookies(header: string, settings: RouteSettings): string | undefined {
  const kept: string[] = []
  for (const part of header.split(';')) {
    const eq = part.indexOf('=')
    const name = (eq === -1 ? part : part.slice(0, eq)).trim()
    if (name === '') continue
    if (settings.cookies.has(name)) kept.push(`${name}=${eq === -1 ? '' : part.slice(eq + 1).trim()}`)
    else if (!ignored(name, settings.ignoreCookies)) return undefined
  }
  return kept.sort().join('; ')
}

function ignored(name: string, patterns: readonly string[]): boolean {
  for (const pattern of patterns) {
    if (pattern.endsWith('*') ? name.startsWith(pattern.slice(0, -1)) : name === pattern) return true
  }
  return false
}
