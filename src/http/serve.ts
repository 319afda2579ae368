/**
 * A stored page as one client gets it: the encoding it accepts (a compressed page is decoded once
 * per page and process for clients that do not accept its encoding), a 304 when its conditional
 * headers match (weak comparison for `If-None-Match`, then `If-Modified-Since`), no body for HEAD,
 * and `Age`, `X-Cache` and `Cache-Status`.
 */
import type { IncomingHttpHeaders } from 'node:http'
import { brotliDecompressSync, gunzipSync, inflateSync } from 'node:zlib'
import { patchVaryValue } from './cache_control.js'
import type { Page } from './page.js'

/** Header names and values, flat (`[name, value, name, value…]`), as node's `writeHead` takes them. */
export type HeaderList = Array<string | string[]>

/** What to send: status, headers to set (over those already on the response), headers to remove, and the body. */
export interface Served {
  status: number
  headers: HeaderList
  remove: readonly string[]
  /** Undefined: no body (304, HEAD). */
  body: Uint8Array | undefined
}

/** `X-Cache` and `Cache-Status` values, or undefined when the route sends neither. */
export interface Labels {
  xCache: string
  cacheStatus: string
}

interface Variant {
  body: Uint8Array
  headers: Record<string, string | string[]>
  /** `headers` flat, built once: a hit copies it and adds three headers. */
  list: HeaderList
  etag: string
  remove: readonly string[]
}

function flat(headers: Record<string, string | string[]>): HeaderList {
  const list: HeaderList = []
  for (const name in headers) list.push(name, headers[name] as string | string[])
  return list
}

const NOT_MODIFIED_HEADERS = ['cache-control', 'content-location', 'etag', 'expires', 'vary']
/** Headers a handler may have set that a 304 does not carry. */
export const NOT_MODIFIED_REMOVE: readonly string[] = ['content-type', 'content-length', 'content-encoding']
const NONE: readonly string[] = []
const ENCODED = ['content-encoding']
const MAX_DECODED_BYTES = 64 * 1024 * 1024

/** Per page object (L1 keeps one per key): its variants, built once. */
const variants = new WeakMap<Page, { raw: Variant; decoded?: Variant }>()

function rawVariant(page: Page): { raw: Variant; decoded?: Variant } {
  let found = variants.get(page)
  if (found === undefined) {
    const headers = { ...page.headers, 'content-length': String(page.body.length) }
    found = { raw: { body: page.body, headers, list: flat(headers), etag: page.etag, remove: NONE } }
    variants.set(page, found)
  }
  return found
}

function decodedVariant(page: Page, entry: { raw: Variant; decoded?: Variant }): Variant {
  if (entry.decoded !== undefined) return entry.decoded
  const options = { maxOutputLength: MAX_DECODED_BYTES }
  const body =
    page.encoding === 'br'
      ? brotliDecompressSync(page.body, options)
      : page.encoding === 'deflate'
        ? inflateSync(page.body, options)
        : gunzipSync(page.body, options)
  const headers: Record<string, string | string[]> = { ...page.headers, 'content-length': String(body.length) }
  delete headers['content-encoding']
  const etag = page.etag.startsWith('W/') ? page.etag : `W/${page.etag}`
  headers.etag = etag
  headers.vary = patchVaryValue(headers.vary, ['Accept-Encoding'])
  entry.decoded = { body, headers, list: flat(headers), etag, remove: ENCODED }
  return entry.decoded
}

/** A Buffer over the same bytes (no copy). */
export function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
}

/** Whether an `Accept-Encoding` value accepts `encoding` (q=0 refuses; `*` accepts). */
export function accepts(header: string | string[] | undefined, encoding: string): boolean {
  if (header === undefined) return false
  const value = Array.isArray(header) ? header.join(',') : header
  let wildcard = false
  for (const part of value.split(',')) {
    const [token = '', ...params] = part.split(';')
    const name = token.trim().toLowerCase()
    if (name !== encoding && name !== '*') continue
    const q = params.map((p) => p.trim()).find((p) => p.startsWith('q='))
    const ok = q === undefined || Number(q.slice(2)) > 0
    if (name === encoding) return ok
    wildcard = ok
  }
  return wildcard
}

/** Whether the request's validators match (`If-None-Match` first, weakly; else `If-Modified-Since`). */
export function notModified(headers: IncomingHttpHeaders, etag: string | undefined, lastModified: number): boolean {
  const inm = headers['if-none-match']
  if (inm !== undefined) {
    if (etag === undefined) return false
    const opaque = etag.startsWith('W/') ? etag.slice(2) : etag
    for (const part of inm.split(',')) {
      const tag = part.trim()
      if (tag === '*' || (tag.startsWith('W/') ? tag.slice(2) : tag) === opaque) return true
    }
    return false
  }
  const ims = headers['if-modified-since']
  if (ims === undefined || lastModified === 0) return false
  const since = Date.parse(ims)
  return Number.isFinite(since) && Math.floor(lastModified / 1000) * 1000 <= since
}

/** The response `page` makes for a request with `headers` (the client's own), at `now`. */
export function servePage(
  page: Page,
  headers: IncomingHttpHeaders,
  head: boolean,
  labels: Labels | undefined,
  now: number,
): Served {
  const entry = rawVariant(page)
  const variant =
    page.encoding === '' || accepts(headers['accept-encoding'], page.encoding) ? entry.raw : decodedVariant(page, entry)
  const age = String(Math.max(0, Math.floor((now - page.storedAt) / 1000)))
  if (page.status < 300 && notModified(headers, variant.etag, page.lastModified)) {
    const kept: HeaderList = ['age', age]
    for (const name of NOT_MODIFIED_HEADERS) {
      const value = variant.headers[name]
      if (value !== undefined) kept.push(name, value)
    }
    if (labels !== undefined) kept.push('x-cache', labels.xCache, 'cache-status', labels.cacheStatus)
    return { status: 304, headers: kept, remove: NOT_MODIFIED_REMOVE, body: undefined }
  }
  const out = variant.list.slice()
  out.push('age', age)
  if (labels !== undefined) out.push('x-cache', labels.xCache, 'cache-status', labels.cacheStatus)
  return { status: page.status, headers: out, remove: variant.remove, body: head ? undefined : variant.body }
}
