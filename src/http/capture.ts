/**
 * Captures what a handler writes to a node:http `ServerResponse` (Express's response is one): the
 * head and the body are held, not sent, while the response may still be stored, so that the cache
 * can add a validator, answer a conditional request with 304, or send the stored variant. A head that
 * cannot be stored (Set-Cookie, private, event stream…) or a body past `maxBodyBytes` passes through
 * to the client from then on, as it would without the cache.
 *
 * Only `writeHead`, `write`, `end` and `flushHeaders` are replaced, on the instance; headers stay on
 * the response (`setHeader` works as usual, `headersSent` is false while held). A wrapper installed
 * on top of ours later (compression) keeps calling ours, which forwards once the response passes.
 */
import type { OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Served } from './serve.js'

type Callback = (error?: Error | null) => void
type Method = 'writeHead' | 'write' | 'end' | 'flushHeaders'
const METHODS: readonly Method[] = ['writeHead', 'write', 'end', 'flushHeaders']

/** What the cache decides while the handler writes. All calls are synchronous, inside the handler's own call. */
export interface CaptureHooks {
  /** At the response head: undefined to hold the body, or headers to add before it passes through as it comes. */
  head(status: number, headers: OutgoingHttpHeaders): Record<string, string> | undefined
  /** A held body grew past the limit: headers to add before it passes through. */
  overflow(status: number): Record<string, string>
  /** The handler ended a held response: what to send, when it is known (nothing for a synthetic response). */
  complete(status: number, headers: OutgoingHttpHeaders, body: Buffer): Promise<Served> | undefined
  /** The response closed before the handler ended it. */
  closed(): void
}

function toBuffer(chunk: unknown, encoding: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) return chunk
  if (typeof chunk === 'string')
    return Buffer.from(chunk, typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8')
  if (chunk instanceof Uint8Array) return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  throw new TypeError(`The "chunk" argument must be of type string, Buffer or Uint8Array`)
}

export class ResponseCapture {
  readonly #res: ServerResponse
  readonly #max: number
  /** False for a synthetic response (background render): nothing is ever sent. */
  readonly #sink: boolean
  readonly #hooks: CaptureHooks
  readonly #original = new Map<Method, (...args: unknown[]) => unknown>()
  readonly #own = new Map<Method, PropertyDescriptor | undefined>()
  readonly #installed = new Map<Method, (...args: unknown[]) => unknown>()
  /** head: nothing written yet; hold: body held; pass: forward to the originals; done: discard. */
  #state: 'head' | 'hold' | 'pass' | 'done' = 'head'
  #chunks: Buffer[] = []
  #size = 0
  #callbacks: Callback[] = []
  /** The head was announced explicitly (writeHead/flushHeaders): send it as soon as the response passes. */
  #explicitHead = false

  constructor(res: ServerResponse, maxBodyBytes: number, sink: boolean, hooks: CaptureHooks) {
    this.#res = res
    this.#max = maxBodyBytes
    this.#sink = sink
    this.#hooks = hooks
    const target = res as unknown as Record<Method, (...args: unknown[]) => unknown>
    for (const name of METHODS) {
      this.#own.set(name, Object.getOwnPropertyDescriptor(res, name))
      this.#original.set(name, target[name])
    }
    const install = (name: Method, fn: (...args: unknown[]) => unknown): void => {
      this.#installed.set(name, fn)
      target[name] = fn
    }
    install('writeHead', (...args) => this.#writeHead(args))
    install('write', (chunk, encoding, callback) => this.#write(chunk, encoding, callback))
    install('end', (chunk, encoding, callback) => this.#end(chunk, encoding, callback))
    install('flushHeaders', () => this.#flushHeaders())
    res.once('close', () => {
      if (this.#state !== 'head' && this.#state !== 'hold') return
      this.#state = 'done'
      this.#restore()
      this.#hooks.closed()
    })
  }

  #call(name: Method, ...args: unknown[]): unknown {
    return (this.#original.get(name) as (...args: unknown[]) => unknown).apply(this.#res, args)
  }

  /** Puts the original methods back, unless a wrapper was installed on top of ours (it keeps calling ours). */
  #restore(): void {
    const target = this.#res as unknown as Record<Method, unknown>
    for (const name of METHODS) {
      if (target[name] !== this.#installed.get(name)) continue
      const own = this.#own.get(name)
      if (own === undefined) delete target[name]
      else Object.defineProperty(this.#res, name, own)
    }
  }

  #writeHead(args: unknown[]): ServerResponse {
    if (this.#state === 'pass') return this.#call('writeHead', ...args) as ServerResponse
    if (this.#state === 'done') return this.#res
    const res = this.#res
    const [status, second, third] = args
    res.statusCode = Number(status)
    let headers = third
    if (typeof second === 'string') res.statusMessage = second
    else headers = second
    if (Array.isArray(headers)) {
      const pairs: Array<[string, unknown]> = Array.isArray(headers[0])
        ? (headers as Array<[string, unknown]>)
        : Array.from({ length: headers.length >> 1 }, (_, i) => [headers[2 * i] as string, headers[2 * i + 1]])
      for (const [name] of pairs) res.removeHeader(name)
      for (const [name, value] of pairs) res.appendHeader(name, value as string)
    } else if (typeof headers === 'object' && headers !== null) {
      for (const [name, value] of Object.entries(headers)) if (value !== undefined) res.setHeader(name, value as string)
    }
    this.#explicitHead = true
    this.#head()
    return res
  }

  #flushHeaders(): void {
    if (this.#state === 'pass') this.#call('flushHeaders')
    else if (this.#state === 'head') {
      this.#explicitHead = true
      this.#head()
    }
  }

  /** Decides at the head whether the body is held. */
  #head(): void {
    if (this.#state !== 'head') return
    const res = this.#res
    const headers = this.#hooks.head(res.statusCode, res.getHeaders())
    if (headers === undefined) this.#state = 'hold'
    else this.#pass(headers)
  }

  #write(chunk: unknown, encoding: unknown, callback: unknown): boolean {
    if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined]
    if (this.#state === 'head') this.#head()
    if (this.#state === 'pass') return this.#call('write', chunk, encoding, callback) as boolean
    if (this.#state === 'done') {
      if (typeof callback === 'function') process.nextTick(callback as Callback)
      return true
    }
    this.#hold(toBuffer(chunk, encoding))
    if (typeof callback === 'function') this.#callbacks.push(callback as Callback)
    if (this.#size <= this.#max) return true
    return this.#pass(this.#hooks.overflow(this.#res.statusCode))
  }

  #end(chunk: unknown, encoding: unknown, callback: unknown): ServerResponse {
    if (typeof chunk === 'function') [callback, chunk] = [chunk, undefined]
    else if (typeof encoding === 'function') [callback, encoding] = [encoding, undefined]
    const res = this.#res
    if (this.#state === 'head') this.#head()
    if (this.#state === 'pass') return this.#call('end', chunk, encoding, callback) as ServerResponse
    if (this.#state === 'done') {
      if (typeof callback === 'function') process.nextTick(callback as Callback)
      return res
    }
    if (chunk !== undefined && chunk !== null) this.#hold(toBuffer(chunk, encoding))
    if (typeof callback === 'function') this.#callbacks.push(callback as Callback)
    if (this.#size > this.#max) {
      this.#pass(this.#hooks.overflow(res.statusCode))
      this.#call('end', this.#flushCallbacks())
      return res
    }
    const body = this.#chunks.length === 1 ? (this.#chunks[0] as Buffer) : Buffer.concat(this.#chunks)
    this.#chunks = []
    // Late writes from the handler are dropped until the cache sends the response.
    this.#state = 'done'
    this.#restore()
    const served = this.#hooks.complete(res.statusCode, res.getHeaders(), body)
    if (!this.#sink) {
      for (const callback of this.#callbacks) process.nextTick(callback)
      res.emit('finish')
      res.emit('close')
    } else
      served?.then(
        (response) => this.#send(response),
        () => res.destroy(),
      )
    return res
  }

  #hold(chunk: Buffer): void {
    this.#chunks.push(chunk)
    this.#size += chunk.length
  }

  /** From now on the response goes to the client as the handler writes it (a synthetic one goes nowhere). */
  #pass(headers: Record<string, string>): boolean {
    const res = this.#res
    this.#state = this.#sink ? 'pass' : 'done'
    this.#restore()
    if (!this.#sink) {
      this.#chunks = []
      return true
    }
    for (const [name, value] of Object.entries(headers)) res.setHeader(name, value)
    let ok = true
    if (this.#chunks.length === 0) {
      if (this.#explicitHead) this.#call('flushHeaders')
    } else {
      for (const chunk of this.#chunks) ok = this.#call('write', chunk) as boolean
    }
    this.#chunks = []
    if (this.#callbacks.length > 0) ok = this.#call('write', Buffer.alloc(0), this.#flushCallbacks()) as boolean
    return ok
  }

  #flushCallbacks(): Callback | undefined {
    const callbacks = this.#callbacks
    if (callbacks.length === 0) return undefined
    this.#callbacks = []
    return (error) => {
      for (const callback of callbacks) callback(error)
    }
  }

  /** Sends a held response as the cache decided. */
  #send(served: Served): void {
    const res = this.#res
    this.#state = 'pass' // node's own end() calls writeHead: forward it
    for (const name of served.remove) res.removeHeader(name)
    this.#call('writeHead', served.status, served.headers)
    const done = this.#flushCallbacks()
    if (served.body === undefined) this.#call('end', done)
    else this.#call('end', served.body, done)
  }
}
