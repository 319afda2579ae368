/**
 * Fastify: a plugin; routes opt in with `config: { cache: options }` (or `cache: true` for the
 * plugin's `defaults`). Lookups run in a route-level `onRequest` hook, so routes without a cache pay
 * nothing there; responses are captured in a global `onSend` hook, which runs before the `onSend`
 * hooks of plugins registered after this one: register it before @fastify/compress and the cache
 * stores bodies uncompressed while clients still get them compressed. Background renders go through
 * `fastify.inject`, marked with a per-process secret header.
 *
 * The types are structural (no import of fastify), so `tiercache/http` loads without it.
 */
import type {} from 'fastify'
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { pipeline, Transform } from 'node:stream'
import type { Cache } from '../index.js'
import { describe } from '../seam.js'
import { ResponseCacheEngine } from './engine.js'
import { resolveRoute, type ResponseCacheOptions } from './options.js'
import type { RequestView } from './request_key.js'
import { asBuffer, type Served } from './serve.js'
import { REVALIDATION_HEADER, REVALIDATION_NONCE } from './synthetic.js'
import type { Ticket } from './ticket.js'

/** What route options and `tags` callbacks see of a Fastify request. */
export interface FastifyRequestLike {
  raw: IncomingMessage
  method: string
  url: string
  headers: IncomingHttpHeaders
  host: string
  protocol: string
  /** The route's parameters (strings, as Fastify parses them). */
  params: Record<string, string>
  query: unknown
}

interface FastifyReplyLike {
  raw: ServerResponse
  statusCode: number
  code(status: number): FastifyReplyLike
  header(name: string, value: unknown): FastifyReplyLike
  headers(values: Record<string, unknown>): FastifyReplyLike
  getHeaders(): OutgoingHttpHeaders
  removeHeader(name: string): FastifyReplyLike
  send(payload?: unknown): FastifyReplyLike
}

interface RouteOptionsLike {
  config?: { cache?: unknown }
  onRequest?: unknown
}

interface FastifyLike {
  addHook(name: string, hook: unknown): unknown
  decorateRequest(name: string | symbol, value: unknown): unknown
  inject(options: { method: string; url: string; headers: Record<string, string> }): Promise<unknown>
}

/** Options of the Fastify plugin. */
export interface FastifyResponseCacheOptions {
  /** The cache pages are stored in (use a namespace of your own: `cache.namespace('http')`). */
  cache: Cache
  /** Options of every cached route, under those of its `config.cache`. @default {} */
  defaults?: ResponseCacheOptions<FastifyRequestLike>
}

/** A route's `config.cache`: its options, or `true` for the plugin's defaults. */
export type FastifyRouteCacheConfig = ResponseCacheOptions<FastifyRequestLike> | boolean

// Routes say `config: { cache }` (type-only: nothing of fastify loads at run time).
declare module 'fastify' {
  interface FastifyContextConfig {
    /** Cache this route's responses (tiercache/http): its options, or `true` for the plugin's defaults. */
    cache?: FastifyRouteCacheConfig
  }
}

/** The Fastify plugin (`fastify.register(fastifyResponseCache, { cache })`). */
export type FastifyResponseCachePlugin = (
  instance: unknown,
  options: FastifyResponseCacheOptions,
  done: (error?: Error) => void,
) => void

const kRender = Symbol('tiercache.http.render')

interface RenderState {
  ticket: Ticket
  engine: ResponseCacheEngine
  before: OutgoingHttpHeaders
  restore: () => void
}

type RequestWithState = FastifyRequestLike & { [kRender]: RenderState | null }

function viewOf(request: FastifyRequestLike): RequestView {
  // HEAD is looked up and rendered as GET: Fastify's HEAD route strips the body and sets Content-Length.
  return {
    method: request.method === 'HEAD' ? 'GET' : request.method,
    url: request.url,
    headers: request.headers,
    host: request.host,
    protocol: request.protocol,
  }
}

function apply(reply: FastifyReplyLike, served: Served): void {
  for (const name of served.remove) reply.removeHeader(name)
  reply.code(served.status)
  const list = served.headers
  for (let i = 0; i < list.length; i += 2) reply.header(list[i] as string, list[i + 1])
}

/** Removes the conditional headers before the handler runs; returns what puts them back. */
function stripConditionals(raw: IncomingMessage): () => void {
  const { 'if-none-match': inm, 'if-modified-since': ims } = raw.headers
  delete raw.headers['if-none-match']
  delete raw.headers['if-modified-since']
  return () => {
    if (inm !== undefined) raw.headers['if-none-match'] = inm
    if (ims !== undefined) raw.headers['if-modified-since'] = ims
  }
}

function checkCache(cache: unknown): Cache {
  if (typeof cache !== 'object' || cache === null || typeof (cache as Cache).getOrSet !== 'function')
    throw new TypeError(`Expected \`cache\` to be a cache made by createCache(), got ${describe(cache)}`)
  return cache as Cache
}

/**
 * The Fastify plugin. Register it before your routes (and before @fastify/compress), then opt routes in:
 *
 * ```ts
 * await app.register(fastifyResponseCache, { cache, defaults: { ttl: '1m' } })
 * app.get('/products/:id', { config: { cache: { tags: (req) => ['products'] } } }, handler)
 * ```
 */
export const fastifyResponseCache: FastifyResponseCachePlugin = Object.assign(
  function tiercacheResponseCache(instance: unknown, options: FastifyResponseCacheOptions, done: (e?: Error) => void) {
    const fastify = instance as FastifyLike
    let cache: Cache
    let defaults: ResponseCacheOptions<FastifyRequestLike>
    try {
      cache = checkCache(options?.cache)
      defaults = options.defaults ?? {}
      resolveRoute(defaults)
    } catch (error) {
      done(error as Error)
      return
    }
    /** Background renders in flight, by the value of their revalidation header. */
    const pending = new Map<string, Ticket>()
    let next = 0
    const background = (ticket: Ticket): void => {
      const marker = `${REVALIDATION_NONCE}.${++next}`
      pending.set(marker, ticket)
      const headers = ticket.replayHeaders({ name: REVALIDATION_HEADER, value: marker })
      fastify.inject({ method: 'GET', url: ticket.view.url, headers }).then(
        () => {
          pending.delete(marker)
          ticket.abandon('not-handled') // no-op once the onSend hook completed it
        },
        () => {
          pending.delete(marker)
          ticket.abandon('error')
        },
      )
    }

    const lookup = (engine: ResponseCacheEngine) =>
      async function tiercacheLookup(request: FastifyRequestLike, reply: FastifyReplyLike): Promise<unknown> {
        const state = request as RequestWithState
        const view = viewOf(request)
        const marker = request.headers[REVALIDATION_HEADER]
        const revalidation = typeof marker === 'string' ? pending.get(marker) : undefined
        if (revalidation !== undefined) {
          pending.delete(marker as string)
          state[kRender] = { ticket: revalidation, engine, before: {}, restore: () => undefined }
          return undefined
        }
        const plan = engine.plan(view)
        if (plan.kind === 'bypass') {
          reply.headers(engine.bypassHeaders(plan))
          return undefined
        }
        let decision
        try {
          decision = await engine.decide(plan, view, request)
        } catch (error) {
          engine.report(error, 'lookup', view.url)
          return undefined
        }
        if (decision.kind === 'serve') {
          apply(reply, decision.served)
          return reply.send(decision.served.body === undefined ? undefined : asBuffer(decision.served.body))
        }
        const ticket = decision.ticket
        state[kRender] = { ticket, engine, before: { ...reply.getHeaders() }, restore: stripConditionals(request.raw) }
        reply.raw.once('close', () => ticket.abandon('incomplete'))
        return undefined
      }

    const engines = new WeakMap<object, ResponseCacheEngine>()
    let defaultEngine: ResponseCacheEngine | undefined
    const engineFor = (config: unknown): ResponseCacheEngine | undefined => {
      if (config === undefined || config === false) return undefined
      const make = (route: ResponseCacheOptions<FastifyRequestLike>): ResponseCacheEngine =>
        new ResponseCacheEngine(cache, resolveRoute({ ...defaults, ...route }), background)
      if (config === true) return (defaultEngine ??= make({}))
      if (typeof config !== 'object' || config === null)
        throw new TypeError(`Expected \`config.cache\` to be true or route cache options, got ${describe(config)}`)
      let engine = engines.get(config)
      if (engine === undefined) engines.set(config, (engine = make(config)))
      return engine
    }

    fastify.decorateRequest(kRender, null)
    fastify.addHook('onRoute', (route: RouteOptionsLike) => {
      const engine = engineFor(route.config?.cache)
      if (engine === undefined) return
      const existing = route.onRequest
      const hook = lookup(engine)
      route.onRequest =
        existing === undefined ? [hook] : Array.isArray(existing) ? [...existing, hook] : [existing, hook]
    })
    // Callback style: routes without a render pay no promise here.
    fastify.addHook(
      'onSend',
      function tiercacheCapture(
        request: FastifyRequestLike,
        reply: FastifyReplyLike,
        payload: unknown,
        next: (error: Error | null, payload?: unknown) => void,
      ) {
        const state = (request as RequestWithState)[kRender]
        if (state === null || state === undefined) return next(null, payload)
        ;(request as RequestWithState)[kRender] = null
        state.restore()
        let result: unknown
        try {
          result = capture(state, request, reply, payload)
        } catch (error) {
          return next(error as Error)
        }
        // A client gets its MISS once the page is in Redis, so that its next request finds it on any
        // server (a stream is stored once it has gone through). `written` never rejects.
        if (result instanceof Transform) return next(null, result)
        void state.ticket.written.then(() => next(null, result))
      },
    )
    done()
  },
  { [Symbol.for('skip-override')]: true, [Symbol.for('fastify.display-name')]: 'tiercache-http' },
)

/** Hands the route's response to its ticket and returns the payload the client gets. */
function capture(state: RenderState, request: FastifyRequestLike, reply: FastifyReplyLike, payload: unknown): unknown {
  const { ticket, before } = state
  const status = reply.statusCode
  const headers = reply.getHeaders()
  if (payload !== null && typeof payload === 'object' && !Buffer.isBuffer(payload)) {
    const refusal = ticket.refuseAtHead(status, headers)
    if (refusal !== undefined || typeof (payload as { pipe?: unknown }).pipe !== 'function') {
      reply.headers(ticket.pass(refusal ?? { reason: 'stream', failed: false }, status))
      return payload
    }
    reply.headers(ticket.missLabels())
    return tee(state, request, status, headers, payload as NodeJS.ReadableStream)
  }
  const body =
    payload === undefined || payload === null
      ? Buffer.alloc(0)
      : Buffer.isBuffer(payload)
        ? payload
        : Buffer.from(String(payload))
  const served = ticket.complete({ status, headers, body, before }, request)
  apply(reply, served)
  // Fastify's HEAD route hook strips the body and sets Content-Length from it (and cannot take null).
  if (served.body === undefined) return request.method === 'HEAD' ? '' : null
  return asBuffer(served.body)
}

/** A streamed payload: sent as it comes, kept on the side up to the limit, stored once it ends. */
function tee(
  state: RenderState,
  request: FastifyRequestLike,
  status: number,
  headers: OutgoingHttpHeaders,
  payload: NodeJS.ReadableStream,
): Transform {
  const { ticket, engine, before } = state
  const max = engine.settings.maxBodyBytes
  let chunks: Buffer[] | undefined = []
  let size = 0
  const through = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (chunks !== undefined) {
        chunks.push(chunk)
        size += chunk.length
        if (size > max) {
          chunks = undefined
          ticket.pass({ reason: 'size', failed: false }, status)
        }
      }
      callback(null, chunk)
    },
    // Before the end reaches the client (whose response closing would abandon the ticket).
    flush(callback) {
      if (chunks !== undefined) ticket.complete({ status, headers, body: Buffer.concat(chunks), before }, request)
      callback()
    },
  })
  pipeline(payload, through, (error) => {
    if (error !== undefined && error !== null) ticket.abandon('incomplete')
  })
  return through
}
