/**
 * The harness's side of one cache node: a child process (chaos/node/node_process.ts) driven over IPC.
 * Every call is timed on the harness's clock, watched for hangs (not settled within its bound plus a
 * slack), and answered with a result or an error code, never a rejection. The node's factories read the
 * source of truth through here (`db` requests), with a delay the node asks for, as a database would.
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { Truth } from './truth.js'

export interface NodeConfig {
  nodeId: number
  redisUrl: string
  workloads: string[]
  /** Module the node imports tiercache from (absolute path); default: the sources (src/index.ts). */
  target?: string
  options: Record<string, unknown>
}

export type CallResult =
  | { ok: true; result: unknown; ms: number; start: number; end: number }
  | { ok: false; code: string; message: string; ms: number; start: number; end: number }

export interface NodeEvent {
  event: string
  [field: string]: unknown
}

interface Pending {
  resolve: (result: CallResult) => void
  start: number
  watchdog: NodeJS.Timeout | undefined
}

const SCRIPT = fileURLToPath(new URL('./node/node_process.ts', import.meta.url))
/** Lines of a node's stderr kept for the report when it crashes. */
const TAIL_LINES = 20

export class NodeHandle {
  readonly id: number
  readonly child: ChildProcess
  readonly ready: Promise<void>
  /** Set when the process exited without being asked to. */
  crashed: string | undefined
  #next = 0
  #closing = false
  readonly #pending = new Map<number, Pending>()
  readonly #listeners = new Set<(event: NodeEvent) => void>()
  readonly #stderr: string[] = []

  constructor(
    config: NodeConfig,
    readonly truth: Truth,
  ) {
    this.id = config.nodeId
    this.child = fork(SCRIPT, [JSON.stringify(config)], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    })
    const keep = (chunk: Buffer): void => {
      this.#stderr.push(...chunk.toString().split('\n').filter(Boolean))
      this.#stderr.splice(0, Math.max(0, this.#stderr.length - TAIL_LINES))
    }
    this.child.stdout?.on('data', keep)
    this.child.stderr?.on('data', keep)
    this.ready = new Promise((resolve, reject) => {
      const onEvent = (event: NodeEvent): void => {
        if (event.event !== 'ready') return
        this.#listeners.delete(onEvent)
        resolve()
      }
      this.#listeners.add(onEvent)
      this.child.once('exit', (code) => reject(new Error(`node ${this.id} exited with ${code}: ${this.stderrTail}`)))
    })
    this.ready.catch(() => undefined)
    this.child.on('message', (message: Record<string, unknown>) => this.#receive(message))
    this.child.on('exit', (code, signal) => {
      if (!this.#closing) this.crashed = `exited with ${code ?? signal}: ${this.stderrTail}`
      for (const [id, pending] of this.#pending)
        this.#settle(id, pending, { ok: false, code: 'E_NODE_GONE', message: 'the node process exited' })
      for (const listener of this.#listeners) listener({ event: 'exit', code, signal })
    })
  }

  get stderrTail(): string {
    return this.#stderr.join('\n')
  }

  get alive(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null && this.crashed === undefined
  }

  on(listener: (event: NodeEvent) => void): () => void {
    this.#listeners.add(listener)
    return () => this.#listeners.delete(listener)
  }

  /**
   * Runs `op` on the node. `onHang` is called once if it has not settled `hangAfterMs` after it was sent;
   * the call goes on and still resolves when (if) the node answers.
   */
  call(op: string, args: unknown, hangAfterMs: number, onHang?: () => void): Promise<CallResult> {
    const start = performance.now()
    if (!this.alive)
      return Promise.resolve({ ok: false, code: 'E_NODE_GONE', message: 'not running', ms: 0, start, end: start })
    const id = ++this.#next
    return new Promise<CallResult>((resolve) => {
      const watchdog = onHang === undefined ? undefined : setTimeout(onHang, hangAfterMs)
      this.#pending.set(id, { resolve, start, watchdog })
      this.child.send({ id, op, args })
    })
  }

  /** Asks the node to close its workloads, then waits for it to exit (bounded; killed after `timeoutMs`). */
  async close(timeoutMs = 5000): Promise<void> {
    this.#closing = true
    if (this.child.exitCode !== null || this.child.signalCode !== null) return
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()))
    if (this.child.connected) this.child.send({ id: 0, op: 'exit', args: null })
    const timer = setTimeout(() => this.child.kill('SIGKILL'), timeoutMs)
    await exited
    clearTimeout(timer)
  }

  #receive(message: Record<string, unknown>): void {
    if (typeof message.db === 'number') {
      const version = this.truth.read(String(message.entity))
      const reply = (): void => {
        if (this.child.connected) this.child.send({ dbReply: message.db, version })
      }
      const delay = Number(message.delayMs ?? 0)
      if (delay > 0) setTimeout(reply, delay)
      else reply()
      return
    }
    if (typeof message.event === 'string') {
      for (const listener of [...this.#listeners]) listener(message as NodeEvent)
      return
    }
    const id = message.id as number
    const pending = this.#pending.get(id)
    if (pending === undefined) return
    const ms = Number(message.ms)
    this.#settle(
      id,
      pending,
      message.ok === true
        ? { ok: true, result: message.result, ms }
        : { ok: false, code: String(message.code), message: String(message.message), ms },
    )
  }

  #settle(
    id: number,
    pending: Pending,
    outcome: DistributiveOmit<CallResult, 'start' | 'end' | 'ms'> & { ms?: number },
  ): void {
    this.#pending.delete(id)
    clearTimeout(pending.watchdog)
    const end = performance.now()
    pending.resolve({ ...outcome, ms: outcome.ms ?? end - pending.start, start: pending.start, end } as CallResult)
  }
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never
