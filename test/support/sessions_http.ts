/**
 * HTTP helpers for the session adapter tests: a client with a cookie jar (real HTTP via fetch), and the naive
 * whole-object stores (the common approach: GET/SET one JSON blob per session) that the same tests show failing.
 */
import { EventEmitter } from 'node:events'
import session from 'express-session'
import type { Redis } from 'ioredis'

/** One browser: cookies kept by name, sent back on every request. */
export class Browser {
  readonly cookies = new Map<string, string>()
  /** The Set-Cookie headers of the last response. */
  lastSetCookie: string[] = []

  constructor(readonly base: string) {}

  async request(
    method: string,
    path: string,
    headers: Record<string, string> = {},
  ): Promise<{ status: number; body: unknown }> {
    const cookie = [...this.cookies].map(([name, value]) => `${name}=${value}`).join('; ')
    const response = await fetch(this.base + path, {
      method,
      headers: { ...headers, ...(cookie !== '' && { cookie }) },
    })
    this.lastSetCookie = response.headers.getSetCookie()
    for (const header of this.lastSetCookie) {
      const [pair = '', ...attributes] = header.split(';')
      const eq = pair.indexOf('=')
      const name = pair.slice(0, eq).trim()
      const expired = attributes.some((a) => /^\s*expires=thu, 01 jan 1970/i.test(a) || /^\s*max-age=0\s*$/i.test(a))
      if (expired) this.cookies.delete(name)
      else this.cookies.set(name, pair.slice(eq + 1).trim())
    }
    const text = await response.text()
    let body: unknown = text
    try {
      body = JSON.parse(text)
    } catch {
      // not JSON: keep the text
    }
    return { status: response.status, body }
  }

  get(path: string): Promise<{ status: number; body: unknown }> {
    return this.request('GET', path)
  }

  post(path: string, headers?: Record<string, string>): Promise<{ status: number; body: unknown }> {
    return this.request('POST', path, headers)
  }

  /** A second browser holding the same cookies (another tab, or a copied cookie). */
  clone(base = this.base): Browser {
    const other = new Browser(base)
    for (const [name, value] of this.cookies) other.cookies.set(name, value)
    return other
  }
}

/** The common express-session store: the whole session as one JSON blob, written whole on every save. */
export class NaiveExpressStore extends session.Store {
  constructor(readonly redis: Redis) {
    super()
  }

  get(sid: string, callback: (error: unknown, data?: session.SessionData | null) => void): void {
    this.redis.get(`naive:${sid}`).then(
      (json) => callback(null, json === null ? null : (JSON.parse(json) as session.SessionData)),
      (error: unknown) => callback(error),
    )
  }

  set(sid: string, data: session.SessionData, callback?: (error?: unknown) => void): void {
    this.redis.set(`naive:${sid}`, JSON.stringify(data), 'PX', 3_600_000).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    )
  }

  destroy(sid: string, callback?: (error?: unknown) => void): void {
    this.redis.del(`naive:${sid}`).then(
      () => callback?.(),
      (error: unknown) => callback?.(error),
    )
  }
}

/** The same for @fastify/session. */
export class NaiveFastifyStore extends EventEmitter {
  constructor(readonly redis: Redis) {
    super()
  }

  get<S>(sid: string, callback: (error: unknown, data?: S | null) => void): void {
    this.redis.get(`naive:${sid}`).then(
      (json) => callback(null, json === null ? null : (JSON.parse(json) as S)),
      (error: unknown) => callback(error),
    )
  }

  set(sid: string, data: object, callback: (error?: unknown) => void): void {
    this.redis.set(`naive:${sid}`, JSON.stringify(data), 'PX', 3_600_000).then(
      () => callback(),
      (error: unknown) => callback(error),
    )
  }

  destroy(sid: string, callback: (error?: unknown) => void): void {
    this.redis.del(`naive:${sid}`).then(
      () => callback(),
      (error: unknown) => callback(error),
    )
  }
}
