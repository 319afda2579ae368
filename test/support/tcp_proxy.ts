/**
 * Test harness: a TCP proxy on a free loopback port in front of a server, whose server-to-client direction the
 * test can hold (bytes are kept, in order) and release. A replica that replicates THROUGH it (`--replicaof` the
 * proxy's port) lags deterministically while held: the primary acknowledges writes, the replica does not see them.
 */
import { createServer, connect, type Server, type Socket } from 'node:net'
import { freePort } from './redis_server.js'

export class TcpProxy {
  readonly port: number
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  /** Server-to-client chunks kept while held, per client socket. */
  readonly #held = new Map<Socket, Buffer[]>()
  #holding = false

  private constructor(port: number, server: Server) {
    this.port = port
    this.#server = server
  }

  /** Listens on a free loopback port and forwards every connection to `targetPort`. */
  static async start(targetPort: number): Promise<TcpProxy> {
    const port = await freePort()
    const server = createServer()
    const proxy = new TcpProxy(port, server)
    server.on('connection', (client) => proxy.#pipe(client, targetPort))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    return proxy
  }

  #pipe(client: Socket, targetPort: number): void {
    const upstream = connect(targetPort, '127.0.0.1')
    this.#sockets.add(client).add(upstream)
    client.on('data', (chunk) => upstream.write(chunk))
    upstream.on('data', (chunk) => {
      if (!this.#holding) return void client.write(chunk)
      const kept = this.#held.get(client)
      if (kept === undefined) this.#held.set(client, [chunk])
      else kept.push(chunk)
    })
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      this.#held.delete(client)
    }
    client.on('close', end).on('error', end)
    upstream.on('close', end).on('error', end)
  }

  /** From now on, what the server sends is kept instead of forwarded. */
  hold(): void {
    this.#holding = true
  }

  /** Forwards everything kept (in order) and stops holding. */
  release(): void {
    this.#holding = false
    for (const [client, chunks] of this.#held) for (const chunk of chunks) client.write(chunk)
    this.#held.clear()
  }

  async close(): Promise<void> {
    for (const socket of this.#sockets) socket.destroy()
    await new Promise<void>((resolve) => this.#server.close(() => resolve()))
  }
}
