/**
 * One run per job (and shard) at a time across every server: a Redis lease taken with the seam's `tryLock`
 * (SET NX PX with a random token), renewed by a heartbeat every third of its TTL with `renewLock`
 * (compare-and-set, so an expired lease taken over by another run is never extended), and released with
 * `unlock` when the run ends. A holder that crashes stops renewing, and its lease expires after its TTL.
 */
import { renewLock, tryLock, unlock, type HeldLock, type RedisConnection } from '../seam.js'
import { WarmLeaseHeldError } from './errors.js'
import { sleep } from './retry.js'

export interface LeaseRequest {
  connection: RedisConnection
  key: string
  job: string
  shard: string
  /** Lease TTL (ms): how long a crashed holder blocks the next run. */
  ttl: number
  /** How long to wait for a lease another run holds (ms); 0 to give up at once. */
  wait: number
  signal: AbortSignal
  /** Called once when this run starts waiting for the lease. */
  onWait?: () => void
  /** Called once if the lease is lost (not renewed within its TTL, or taken by another run). */
  onLost: (reason: string) => void
}

/** A held lease, renewed until `release()`. */
export class Lease {
  readonly #request: LeaseRequest
  readonly #lock: HeldLock
  readonly #timer: NodeJS.Timeout
  #confirmedAt: number
  #lost: string | undefined
  #renewing = false

  private constructor(request: LeaseRequest, lock: HeldLock) {
    this.#request = request
    this.#lock = lock
    this.#confirmedAt = Date.now()
    this.#timer = setInterval(() => this.#heartbeat(), Math.max(1, Math.floor(request.ttl / 3)))
    this.#timer.unref()
  }

  /**
   * Takes the lease, waiting up to `wait` ms while another run holds it (polling, since a holder may also
   * vanish by expiry). Resolves undefined when `signal` aborts first.
   * @throws WarmLeaseHeldError when still held after `wait`; the connection's L2 errors when Redis fails.
   */
  static async acquire(request: LeaseRequest): Promise<Lease | undefined> {
    const { connection, key, ttl, wait, signal } = request
    const started = Date.now()
    const poll = Math.min(1000, Math.max(50, Math.floor(ttl / 5)))
    for (let first = true; ; first = false) {
      if (signal.aborted) return undefined
      const lock = await tryLock(connection, key, ttl)
      if (lock !== undefined) return new Lease(request, lock)
      const waited = Date.now() - started
      if (waited >= wait) {
        const left = await connection.run('PTTL', (client) => client.pttl(key)).catch(() => undefined)
        throw new WarmLeaseHeldError(request.job, request.shard, left, wait > 0 ? waited : 0)
      }
      if (first) request.onWait?.()
      await sleep(Math.min(poll, wait - waited), signal)
    }
  }

  /** The lease TTL (ms). */
  get ttl(): number {
    return this.#request.ttl
  }

  /** Why the lease was lost, or undefined while it holds. */
  get lost(): string | undefined {
    return this.#lost
  }

  /** Stops renewing and deletes the lease if it is still ours. Rejects with the L2 error when Redis fails (the lease then expires by itself). */
  async release(): Promise<void> {
    clearInterval(this.#timer)
    if (this.#lost === undefined) await unlock(this.#request.connection, this.#lock)
  }

  #heartbeat(): void {
    if (this.#renewing || this.#lost !== undefined) return
    this.#renewing = true
    const { connection, ttl } = this.#request
    renewLock(connection, this.#lock, ttl).then(
      (renewed) => {
        this.#renewing = false
        if (renewed) this.#confirmedAt = Date.now()
        else this.#lose('its lease expired and another run took it')
      },
      (error: unknown) => {
        this.#renewing = false
        // Redis did not answer: the lease may still be ours, until its TTL has passed since the last renewal.
        if (Date.now() - this.#confirmedAt >= ttl)
          this.#lose(
            `its lease could not be renewed within ${ttl} ms (${error instanceof Error ? error.message : String(error)})`,
          )
      },
    )
  }

  #lose(reason: string): void {
    if (this.#lost !== undefined) return
    this.#lost = reason
    clearInterval(this.#timer)
    this.#request.onLost(reason)
  }
}
