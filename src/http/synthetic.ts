/**
 * A request and response made up for a background render (staleWhileRevalidate, grace): a real
 * `IncomingMessage` with no body and a `ServerResponse` with no socket, which the capture holds and
 * never sends. Requests the cache made are recognised by `revalidationOf(req)`, and carry the header
 * `x-tiercache-revalidation` so that logging can tell them apart.
 */
import { randomBytes } from 'node:crypto'
import { IncomingMessage, ServerResponse } from 'node:http'
import { Socket } from 'node:net'
import type { Ticket } from './ticket.js'

/** The header every background render carries. Its value is a per-process secret: clients cannot forge one. */
export const REVALIDATION_HEADER = 'x-tiercache-revalidation'
export const REVALIDATION_NONCE = randomBytes(16).toString('base64url')

const tickets = new WeakMap<IncomingMessage, Ticket>()

/** The ticket of a request made by `syntheticExchange`, or undefined for a real one. */
export function revalidationOf(req: IncomingMessage): Ticket | undefined {
  return tickets.get(req)
}

/** A GET of the ticket's URL with its replay headers, from `remoteAddress` (the request that triggered it). */
export function syntheticExchange(
  ticket: Ticket,
  url: string,
  remoteAddress: string | undefined,
): { req: IncomingMessage; res: ServerResponse } {
  const socket = new Socket()
  Object.defineProperty(socket, 'remoteAddress', { value: remoteAddress ?? '127.0.0.1' })
  const req = new IncomingMessage(socket)
  req.method = 'GET'
  req.url = url
  req.httpVersion = '1.1'
  req.httpVersionMajor = 1
  req.httpVersionMinor = 1
  const headers = ticket.replayHeaders({ name: REVALIDATION_HEADER, value: REVALIDATION_NONCE })
  req.headers = headers
  req.rawHeaders = Object.entries(headers).flat()
  req.complete = true
  req.push(null)
  tickets.set(req, ticket)
  return { req, res: new ServerResponse(req) }
}
