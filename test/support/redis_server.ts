/**
 * Test harness: a real `redis-server` started on a free loopback port, owned by the test that
 * started it, so that it can be stopped, killed, paused and restarted without touching any
 * other run. Every process it starts is killed when the test process exits.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer, connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, afterEach, beforeAll } from 'vitest'

const live = new Set<ChildProcess>()
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL')
})

/** Asks the kernel for a free loopback port. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      if (address === null || typeof address === 'string') return reject(new Error('no port'))
      server.close(() => resolve(address.port))
    })
  })
}

/** Resolves once something accepts TCP connections on the port (bounded by `timeoutMs`). */
export async function waitForPort(port: number, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1')
      socket.once('connect', () => {
        socket.destroy()
        resolve(true)
      })
      socket.once('error', () => resolve(false))
    })
    if (ok) return
    if (Date.now() > deadline) throw new Error(`nothing listens on port ${port} after ${timeoutMs} ms`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

export interface RedisServerOptions {
  /** Extra `redis-server` arguments, e.g. `['--cluster-enabled', 'yes']`. */
  args?: string[]
  port?: number
}

export class RedisServer {
  readonly port: number
  readonly #args: string[]
  readonly #dir: string
  #child: ChildProcess | undefined
  #exited: Promise<void> = Promise.resolve()

  private constructor(port: number, args: string[]) {
    this.port = port
    this.#args = args
    this.#dir = mkdtempSync(join(tmpdir(), 'tiercache-redis-'))
  }

  /** Starts a fresh server on a free port (retrying if another process grabs the port first). */
  static async start(options: RedisServerOptions = {}): Promise<RedisServer> {
    let lastError: unknown
    for (let attempt = 0; attempt < 5; attempt++) {
      const server = new RedisServer(options.port ?? (await freePort()), options.args ?? [])
      try {
        await server.#spawn()
        return server
      } catch (error) {
        lastError = error
        await server.stop()
        if (options.port !== undefined) break
      }
    }
    throw lastError
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`
  }

  get pid(): number | undefined {
    return this.#child?.pid
  }

  get running(): boolean {
    return this.#child !== undefined
  }

  async #spawn(): Promise<void> {
    const child = spawn(
      'redis-server',
      [
        '--port',
        String(this.port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--appendonly',
        'no',
        '--dir',
        this.#dir,
        '--protected-mode',
        'no',
        '--enable-debug-command',
        'local',
        ...this.#args,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    )
    this.#child = child
    live.add(child)
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      if (output.length < 20_000) output += chunk.toString()
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      if (output.length < 20_000) output += chunk.toString()
    })
    this.#exited = new Promise((resolve) => {
      child.once('exit', () => {
        live.delete(child)
        if (this.#child === child) this.#child = undefined
        resolve()
      })
    })
    const exitedEarly = this.#exited.then(() => {
      throw new Error(`redis-server on port ${this.port} exited during start:\n${output}`)
    })
    await Promise.race([waitForPort(this.port), exitedEarly])
    exitedEarly.catch(() => undefined)
  }

  /** Sends a command with redis-cli (no client library involved). */
  async cli(...args: string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args])
      let out = ''
      child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.stderr.on('data', (chunk: Buffer) => (out += chunk.toString()))
      child.once('error', reject)
      child.once('exit', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(out))))
    })
  }

  /** Graceful stop (SIGTERM), waiting for the process to exit. */
  async stop(): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    child.kill('SIGTERM')
    await this.#exited
  }

  /** Crash: SIGKILL, waiting for the process to be gone. */
  async kill(): Promise<void> {
    const child = this.#child
    if (child === undefined) return
    child.kill('SIGKILL')
    await this.#exited
  }

  /** Freezes the server process (SIGSTOP): connections stay open, nothing is answered. */
  freeze(): void {
    this.#child?.kill('SIGSTOP')
  }

  /** Resumes a frozen server (SIGCONT). */
  thaw(): void {
    this.#child?.kill('SIGCONT')
  }

  /** Starts the server again on the same port, empty (nothing is persisted). */
  async restart(): Promise<void> {
    await this.kill()
    await this.#spawn()
  }

  /** Stops the server and removes its directory. */
  async close(): Promise<void> {
    this.thaw()
    await this.kill()
    rmSync(this.#dir, { recursive: true, force: true })
  }
}

export interface RedisFixture {
  readonly server: RedisServer
  /** `redis://127.0.0.1:<port>` */
  readonly url: string
  /** A raw ioredis client, for looking behind the cache's back. */
  readonly raw: import('ioredis').Redis
}

/**
 * The one Redis fixture: a fresh redis-server on a free port for the calling file (or describe
 * block), started before its tests and closed after them, flushed after each test unless
 * `flush: false`, with a raw ioredis client.
 */
export function useRedis(options: RedisServerOptions & { flush?: boolean } = {}): RedisFixture {
  let server: RedisServer | undefined
  let raw: import('ioredis').Redis | undefined
  beforeAll(async () => {
    server = await RedisServer.start(options)
    const { Redis } = await import('ioredis')
    raw = new Redis(server.url)
    // Tests stop, freeze and restart the server: this client's connection errors then are expected (ioredis would
    // log each as an "Unhandled error event"); a command it sends still rejects with its error.
    raw.on('error', () => undefined)
  })
  afterEach(async () => {
    if (options.flush !== false && server?.running === true) await server.cli('flushall')
  })
  afterAll(async () => {
    raw?.disconnect()
    await server?.close()
  })
  return {
    get server() {
      if (server === undefined) throw new Error('useRedis: the server starts in beforeAll')
      return server
    },
    get url() {
      if (server === undefined) throw new Error('useRedis: the server starts in beforeAll')
      return server.url
    },
    get raw() {
      if (raw === undefined) throw new Error('useRedis: the client connects in beforeAll')
      return raw
    },
  }
}
