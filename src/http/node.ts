/**
 * node:http: `withResponseCache(cache, handler, options)` wraps a request listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { TLSSocket } from 'node:tls'
import type { Cache } from '../index.js'
import { describe } from '../seam.js'
import { ResponseCacheEngine } from './engine.js'
import { captureFor, handleNodeRequest } from './node_flow.js'
import { resolveRoute, type ResponseCacheOptions } from './options.js'
import type { RequestView } from './request_key.js'
import { syntheticExchange } from './synthetic.js'

/** Options of `withResponseCache`: a route's, plus which proxy headers to trust. */
export interface NodeResponseCacheOptions extends ResponseCacheOptions<IncomingMessage> {
  /**
   * Take the host and protocol from `X-Forwarded-Host` and `X-Forwarded-Proto` (set it only behind a
   * proxy that overwrites them), instead of `Host` and the socket.
   * @default false
   */
  trustProxy?: boolean
}

/** A node:http request listener; it may return a promise (a rejection answers 500). */
export type RequestListener = (req: IncomingMessage, res: ServerResponse) => unknown

function first(value: string | string[] | undefined): string | undefined {
  const text = Array.isArray(value) ? value[0] : value
  if (text === undefined) return undefined
  const comma = text.indexOf(',')
  return (comma === -1 ? text : text.slice(0, comma)).trim()
}

/**
 * Runs `handler`; a throw or rejection is reported and answered with 500 when nothing was sent yet
 * (and ends the response otherwise), so a failing render never crashes the server.
 */
function run(
  handler: RequestListener,
  req: IncomingMessage,
  res: ServerResponse,
  failed: (error: unknown) => void,
): void {
  const fail = (error: unknown): void => {
    failed(error)
    if (res.headersSent) {
      res.destroy()
      return
    }
    res.statusCode = 500
    res.setHeader('content-type', 'text/plain; charset=utf-8')
    res.end('Internal Server Error')
  }
  try {
    const result = handler(req, res)
    if (result instanceof Promise) result.then(undefined, fail)
  } catch (error) {
    fail(error)
  }
}

/**
 * `handler`, with its responses cached in `cache` (see {@link ResponseCacheOptions}).
 *
 * ```ts
 * createServer(withResponseCache(cache, (req, res) => res.end(render(req.url)), { ttl: '1m' }))
 * ```
 * @throws TypeError when an option is invalid.
 */
export function withResponseCache(
  cache: Cache,
  handler: RequestListener,
  options: NodeResponseCacheOptions = {},
): (req: IncomingMessage, res: ServerResponse) => void {
  if (typeof handler !== 'function')
    throw new TypeError(`Expected \`handler\` to be a function, got ${describe(handler)}`)
  const { trustProxy, ...route } = options
  if (trustProxy !== undefined && typeof trustProxy !== 'boolean')
    throw new TypeError(`Expected \`trustProxy\` to be a boolean, got ${describe(trustProxy)}`)
  const settings = resolveRoute(route)
  const engine = new ResponseCacheEngine(cache, settings, (ticket, origin) => {
    const { req, res } = syntheticExchange(ticket, ticket.view.url, (origin as IncomingMessage).socket.remoteAddress)
    captureFor(ticket, res, false, settings.maxBodyBytes, req)
    run(handler, req, res, (error) => {
      engine.report(error, 'revalidate', ticket.view.url)
      ticket.abandon('error')
    })
  })
  const viewOf = (req: IncomingMessage): RequestView => {
    const headers = req.headers
    const forwardedProto = trustProxy === true ? first(headers['x-forwarded-proto']) : undefined
    return {
      method: req.method ?? 'GET',
      url: req.url ?? '/',
      headers,
      host: (trustProxy === true ? first(headers['x-forwarded-host']) : undefined) ?? headers.host,
      protocol: forwardedProto ?? ((req.socket as TLSSocket).encrypted === true ? 'https' : 'http'),
    }
  }
  return function cachedListener(req, res) {
    const view = viewOf(req)
    handleNodeRequest(
      engine,
      req,
      res,
      view,
      () => run(handler, req, res, (error) => engine.report(error, 'render', view.url)),
      req,
    )
  }
}
