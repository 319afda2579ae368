/** The node:http handlers (they work as Express routes as they are). */
import type { IncomingMessage, ServerResponse } from 'node:http'
import { readinessCheck, type CacheOrCaches, type HealthCheckOptions } from './check.js'
import { livenessCheck, type LivenessOptions } from './liveness.js'

/** A node:http request handler; as an Express route, `next` is never called. */
export type HealthRequestHandler = (req: IncomingMessage, res: ServerResponse) => void

/**
 * Readiness for load balancers: 200 with the caches' health as JSON when ok or degraded, 503 when a cache is down
 * (or closed), when `requireL2` is set and Redis or the bus is down, or after `beginShutdown()`. Answers within
 * `timeout`. HEAD gets the status without a body.
 *
 * ```ts
 * http.createServer((req, res) => (req.url === '/health' ? ready(req, res) : app(req, res)))
 * app.get('/health', healthHandler(cache)) // Express
 * ```
 * @throws TypeError naming the bad value, when it is created.
 */
export function healthHandler(cacheOrCaches: CacheOrCaches, options?: HealthCheckOptions): HealthRequestHandler {
  const check = readinessCheck(cacheOrCaches, options)
  return (req, res) => {
    check().then(
      (report) => send(req, res, report.httpStatus, report.body),
      (error: unknown) => send(req, res, 503, { status: 'down', error: (error as Error).message }),
    )
  }
}

/**
 * Liveness: 200 while this process's event loop answers in time, 503 when it was blocked longer than
 * `maxEventLoopDelay` within the last second. Never checks Redis (nor draining).
 * @throws TypeError naming the bad value, when it is created.
 */
export function livenessHandler(options?: LivenessOptions): HealthRequestHandler {
  const check = livenessCheck(options)
  return (req, res) => {
    const report = check()
    send(req, res, report.httpStatus, report.body)
  }
}

function send(req: IncomingMessage, res: ServerResponse, status: number, body: object): void {
  if (res.headersSent || res.writableEnded) return
  const json = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'content-length': Buffer.byteLength(json),
  })
  res.end(req.method === 'HEAD' ? undefined : json)
}
