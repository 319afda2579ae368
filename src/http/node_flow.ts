/**
 * The request flow shared by node:http (`withResponseCache`) and Express (`responseCache`): plan,
 * look up, then send a stored page or run the handler under a `ResponseCapture` for its ticket.
 * A render sees a GET (HEAD is rendered as GET and stored for both) without conditional headers
 * (so that the full body is stored); the request is put back as it came before anything is sent.
 */
import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import { ResponseCapture } from './capture.js'
import type { ResponseCacheEngine } from './engine.js'
import type { RequestView } from './request_key.js'
import type { Served } from './serve.js'
import { revalidationOf } from './synthetic.js'
import type { Ticket } from './ticket.js'

/** Sends a served response on a node:http response. */
export function sendServed(res: ServerResponse, served: Served): void {
  for (const name of served.remove) res.removeHeader(name)
  res.writeHead(served.status, served.headers)
  if (served.body === undefined) res.end()
  else res.end(served.body)
}

/**
 * Captures the handler's response for `ticket`. `sink`: the response goes to a client (false for a
 * background render). `restore` puts the request back as it came (called before anything is sent).
 */
export function captureFor(
  ticket: Ticket,
  res: ServerResponse,
  sink: boolean,
  maxBodyBytes: number,
  req: unknown,
  restore: () => void = () => undefined,
): void {
  const before: OutgoingHttpHeaders | undefined = sink ? res.getHeaders() : undefined
  new ResponseCapture(res, maxBodyBytes, sink, {
    head(status, headers) {
      const refusal = ticket.refuseAtHead(status, headers)
      if (refusal === undefined) return undefined
      restore()
      return ticket.pass(refusal, status)
    },
    overflow(status) {
      restore()
      return ticket.pass({ reason: 'size', failed: false }, status)
    },
    complete(status, headers, body) {
      restore()
      const served = ticket.complete({ status, headers, body, before }, req)
      return sink ? ticket.written.then(() => served) : undefined
    },
    closed() {
      restore()
      ticket.abandon('incomplete')
    },
  })
}

/** Rewrites the request for a render (GET, no conditionals); returns what puts it back, once. */
function prepareRender(req: IncomingMessage): () => void {
  const { method } = req
  const inm = req.headers['if-none-match']
  const ims = req.headers['if-modified-since']
  if (method === 'HEAD') req.method = 'GET'
  delete req.headers['if-none-match']
  delete req.headers['if-modified-since']
  let restored = false
  return () => {
    if (restored) return
    restored = true
    req.method = method
    if (inm !== undefined) req.headers['if-none-match'] = inm
    if (ims !== undefined) req.headers['if-modified-since'] = ims
  }
}

/**
 * One request through the cache. `next()` runs the handler (or the rest of the middleware chain);
 * `origin` is handed to background renders and `tags` callbacks (the framework's request).
 */
export function handleNodeRequest(
  engine: ResponseCacheEngine,
  req: IncomingMessage,
  res: ServerResponse,
  view: RequestView,
  next: () => void,
  origin: unknown,
): void {
  // A background render the cache started: its capture is installed already.
  if (revalidationOf(req) !== undefined) return next()
  const plan = engine.plan(view)
  if (plan.kind === 'bypass') {
    for (const [name, value] of Object.entries(engine.bypassHeaders(plan))) res.setHeader(name, value)
    return next()
  }
  engine
    .decide(plan, view, origin)
    .then(
      (decision) => {
        if (decision.kind === 'serve') return sendServed(res, decision.served)
        captureFor(decision.ticket, res, true, engine.settings.maxBodyBytes, origin, prepareRender(req))
        next()
      },
      (error: unknown) => {
        engine.report(error, 'lookup', view.url)
        next()
      },
    )
    .catch((error: unknown) => {
      // Sending failed (an invalid stored header?) or the handler threw synchronously out of next().
      engine.report(error, 'render', view.url)
      if (!res.headersSent) {
        res.statusCode = 500
        res.end()
      } else res.destroy()
    })
}
