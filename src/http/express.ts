/**
 * Express (4 and 5) and Connect: `responseCache(cache, options)`, a middleware for one route or a
 * whole app. Background renders replay the request through the root app (`app.handle`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Cache } from '../index.js'
import { ResponseCacheEngine } from './engine.js'
import { captureFor, handleNodeRequest } from './node_flow.js'
import { resolveRoute, type ResponseCacheOptions } from './options.js'
import { syntheticExchange } from './synthetic.js'

/** The Express request a `tags` callback receives, once the route has run (`req.params` is the route's). */
export interface ExpressRequest extends IncomingMessage {
  originalUrl: string
  path: string
  params: Record<string, string>
  query: unknown
  hostname: string
  protocol: string
}

/**
 * An Express (or Connect) middleware. It reads only the parts below, so it leaves the route's own
 * parameter types alone (`app.get('/p/:id', responseCache(…), (req) => req.params.id)`).
 */
export type ExpressMiddleware = (
  req: IncomingMessage & { originalUrl?: string; hostname?: string; protocol?: string },
  res: ServerResponse,
  next: (error?: unknown) => void,
) => void

interface ExpressApp {
  handle(req: IncomingMessage, res: ServerResponse, done: (error?: unknown) => void): void
  parent?: ExpressApp
}

/** The app at the root of the mounted apps, which background renders go through. */
function rootApp(req: IncomingMessage): ExpressApp | undefined {
  let app = (req as { app?: ExpressApp }).app
  while (app?.parent !== undefined) app = app.parent
  return typeof app?.handle === 'function' ? app : undefined
}

/**
 * An Express middleware caching the responses of the routes it runs before.
 *
 * ```ts
 * app.get('/products/:id', responseCache(cache, { ttl: '1m', tags: (req) => [`product:${req.params.id}`] }), handler)
 * ```
 * @throws TypeError when an option is invalid.
 */
export function responseCache(cache: Cache, options: ResponseCacheOptions<ExpressRequest> = {}): ExpressMiddleware {
  const settings = resolveRoute(options)
  const engine = new ResponseCacheEngine(cache, settings, (ticket, origin) => {
    const trigger = origin as IncomingMessage
    const app = rootApp(trigger)
    if (app === undefined) {
      ticket.abandon('no-app')
      return
    }
    const { req, res } = syntheticExchange(ticket, ticket.view.url, trigger.socket.remoteAddress)
    captureFor(ticket, res, false, settings.maxBodyBytes, req)
    app.handle(req, res, (error) => {
      if (error !== undefined) engine.report(error, 'revalidate', ticket.view.url)
      ticket.abandon(error === undefined ? 'not-handled' : 'error')
    })
  })
  return function tiercacheResponseCache(req, res, next) {
    const view = {
      method: req.method ?? 'GET',
      url: req.originalUrl ?? req.url ?? '/',
      headers: req.headers,
      host: req.hostname ?? req.headers.host,
      protocol: req.protocol ?? 'http',
    }
    handleNodeRequest(engine, req, res, view, next, req)
  }
}
