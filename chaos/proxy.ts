/**
 * A TCP proxy in front of Redis that a chaos run turns bad on purpose: latency, a blackhole (bytes held, as a
 * partition that heals before TCP gives up), and connection resets (RST). Each direction of each connection
 * is a FIFO: a chunk is released no earlier than the one before it, so however the delays are drawn, the
 * bytes of a direction arrive in the order they were sent (Redis's protocol depends on it).
 */
import { createServer, connect, type Server, type Socket } from 'node:net'

/** Most bytes one direction may hold (latency or blackhole) before its connection is reset instead. */
const MAX_HELD_BYTES = 32 * 1024 * 1024

interface Held {
  releaseAt: number
  chunk: Buffer
}

/** One direction of one proxied connection. */
class Pipe {
  readonly #queue: Held[] = []
  #bytes = 0
  #timer: NodeJS.Timeout | undefined
  #lastRelease = 0
  /** When set, the next chunk waits this long (a stall), then it is cleared. */
  stallNextMs = 0
  /** When set, the next chunk passes and the one after it waits this long (see `ChaosProxy.stallSecondRequest`). */
  stallSecondMs = 0
  /** Called after a chunk was written on (the stall fault arms the other direction from here). */
  onDelivered: () => void = () => undefined

  constructor(
    readonly proxy: ChaosProxy,
    readonly to: Socket,
    readonly overflow: () => void,
  ) {}

  push(chunk: Buffer): void {
    if (this.stallSecondMs > 0) {
      this.stallNextMs = this.stallSecondMs
      this.stallSecondMs = 0
      return this.#enqueue(chunk, this.proxy.drawLatency())
    }
    const latency = this.proxy.drawLatency() + this.stallNextMs
    this.stallNextMs = 0
    this.#enqueue(chunk, latency)
  }

  #enqueue(chunk: Buffer, latency: number): void {
    if (latency === 0 && this.#queue.length === 0 && !this.proxy.blackholed) {
      this.to.write(chunk)
      this.onDelivered()
      return
    }
    const releaseAt = Math.max(performance.now() + latency, this.#lastRelease)
    this.#lastRelease = releaseAt
    this.#queue.push({ releaseAt, chunk })
    this.#bytes += chunk.length
    if (this.#bytes > MAX_HELD_BYTES) return this.overflow()
    this.pump()
  }

  /** Releases what is due, in order, and schedules the next release. */
  pump(): void {
    clearTimeout(this.#timer)
    this.#timer = undefined
    if (this.proxy.blackholed || this.to.destroyed) return
    const now = performance.now()
    while (this.#queue.length > 0 && (this.#queue[0] as Held).releaseAt <= now) {
      const { chunk } = this.#queue.shift() as Held
      this.#bytes -= chunk.length
      this.to.write(chunk)
      this.onDelivered()
    }
    const head = this.#queue[0]
    if (head !== undefined) this.#timer = setTimeout(() => this.pump(), Math.max(0, head.releaseAt - now))
  }

  stop(): void {
    clearTimeout(this.#timer)
    this.#queue.length = 0
  }
}

interface Connection {
  client: Socket
  upstream: Socket
  pipes: [Pipe, Pipe]
}

export class ChaosProxy {
  readonly port: number
  readonly #server: Server
  readonly #connections = new Set<Connection>()
  #latency: { min: number; max: number } = { min: 0, max: 0 }
  #stall: { probability: number; ms: number } = { probability: 0, ms: 0 }
  #blackholed = false
  #resetTimer: NodeJS.Timeout | undefined
  #random: () => number = Math.random
  /** Connections accepted and reset so far. */
  accepted = 0
  resets = 0

  private constructor(server: Server, port: number) {
    this.#server = server
    this.port = port
  }

  /** Listens on a free loopback port and forwards every connection to `targetPort` on loopback. */
  static async start(targetPort: number, random: () => number = Math.random): Promise<ChaosProxy> {
    const server = createServer()
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () => resolve())
    })
    const address = server.address()
    if (address === null || typeof address === 'string') throw new Error('the proxy has no port')
    const proxy = new ChaosProxy(server, address.port)
    proxy.#random = random
    server.on('connection', (client) => proxy.accept(client, targetPort))
    return proxy
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get blackholed(): boolean {
    return this.#blackholed
  }

  /** Delay of the next chunk, drawn in [min, max] ms. */
  drawLatency(): number {
    const { min, max } = this.#latency
    return max === 0 ? 0 : min + this.#random() * (max - min)
  }

  /** Every chunk waits between `min` and `max` ms (each direction still in order). `0, 0` turns it off. */
  setLatency(min: number, max: number): void {
    if (!(min >= 0 && max >= min)) throw new RangeError(`bad latency range ${min}..${max}`)
    this.#latency = { min, max }
  }

  /**
   * Stalls: after a reply reaches the client, the client's next bytes to Redis wait `ms`, with `probability`.
   * This splits what a client sends in two steps (a write, then its announcement) by a stall, as a Redis or a
   * network that hiccups between two commands would. `0, 0` turns it off.
   */
  setStalls(probability: number, ms: number): void {
    this.#stall = { probability, ms }
  }

  /**
   * On every open connection, the client's next request to Redis passes and the one after it waits `ms`: what a
   * client sends as two steps (a write, then its announcement) is split by a stall, deterministically.
   */
  stallSecondRequest(ms: number): void {
    for (const connection of this.#connections) connection.pipes[0].stallSecondMs = ms
  }

  /** While on, nothing gets through in either direction; the held bytes are delivered, in order, when it ends. */
  setBlackhole(on: boolean): void {
    this.#blackholed = on
    if (!on) for (const connection of this.#connections) for (const pipe of connection.pipes) pipe.pump()
  }

  /** Resets (RST) every open connection now. */
  resetAll(): void {
    for (const connection of [...this.#connections]) this.#reset(connection)
  }

  /** Resets every open connection every `ms` (0 stops). */
  resetEvery(ms: number): void {
    clearInterval(this.#resetTimer)
    this.#resetTimer = ms > 0 ? setInterval(() => this.resetAll(), ms) : undefined
  }

  /** Back to a plain pass-through proxy (held bytes are delivered). */
  heal(): void {
    this.resetEvery(0)
    this.setLatency(0, 0)
    this.setStalls(0, 0)
    this.setBlackhole(false)
  }

  get connections(): number {
    return this.#connections.size
  }

  async close(): Promise<void> {
    this.resetEvery(0)
    for (const connection of [...this.#connections]) this.#drop(connection)
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }

  accept(client: Socket, targetPort: number): void {
    this.accepted++
    client.setNoDelay(true)
    const upstream = connect(targetPort, '127.0.0.1')
    upstream.setNoDelay(true)
    const connection: Connection = { client, upstream, pipes: undefined as unknown as [Pipe, Pipe] }
    const overflow = (): void => this.#reset(connection)
    connection.pipes = [new Pipe(this, upstream, overflow), new Pipe(this, client, overflow)]
    this.#connections.add(connection)
    const [toUpstream, toClient] = connection.pipes
    toClient.onDelivered = () => {
      if (this.#stall.probability > 0 && this.#random() < this.#stall.probability)
        toUpstream.stallNextMs = this.#stall.ms
    }
    client.on('data', (chunk: Buffer) => toUpstream.push(chunk))
    upstream.on('data', (chunk: Buffer) => toClient.push(chunk))
    // Either side going away takes the other with it (a killed Redis closes its clients' connections).
    const drop = (): void => this.#drop(connection)
    client.on('close', drop)
    upstream.on('close', drop)
    client.on('error', drop)
    upstream.on('error', drop)
  }

  #reset(connection: Connection): void {
    this.resets++
    if (!connection.client.destroyed) connection.client.resetAndDestroy()
    this.#drop(connection)
  }

  #drop(connection: Connection): void {
    if (!this.#connections.delete(connection)) return
    for (const pipe of connection.pipes) pipe.stop()
    connection.client.destroy()
    connection.upstream.destroy()
  }
}
