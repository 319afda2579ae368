/**
 * `runWarmJob(cache, job, options)`: one run of a warming job.
 *
 * 1. Take the job's lease (one run per job and shard across all servers), or wait for it, or give up.
 * 2. Stream keys from the source, keep this shard's, stop at `limit`; group them in batches.
 * 3. Per batch, with `onlyMissing` / `ifTtlBelow`, one Redis round trip says which keys to skip.
 * 4. Dispatch the rest, `concurrency` loads (or `loadMany` batches) at a time (p-limit), paced by `rate`;
 *    the producer waits while the queue is full, so only a bounded number of keys is ever in memory.
 * 5. Write through the cache (`setMany`), retry, count; report progress; on a stop (signal, lost lease,
 *    failing source) take no new key, let what is in flight finish, then record the run and release the lease.
 */
import { setMaxListeners } from 'node:events'
import pLimit, { type LimitFunction } from 'p-limit'
import type { Cache } from '../index.js'
import { redisKeyOf } from '../seam.js'
import { defineWarmJob, type WarmJob, type WarmJobDefinition } from './job.js'
import { Lease } from './lease.js'
import { Loading, type Slot, type Taken } from './loading.js'
import { resolveRun, type RunSettings, type RunWarmJobOptions } from './options.js'
import { lastSuccessOf, warmKeysOf, writeFinished, writeRunning, type WarmOutcome } from './record.js'
import { ttlsOf } from './redis_checks.js'
import { backoff, sleep } from './retry.js'
import { shardLabel, shardOf } from './shard.js'
import { openKeys, type KeyIterator } from './source.js'
import { Tally, type WarmPhase, type WarmProgress, type WarmReport } from './tally.js'
import { WarmWriter } from './writer.js'

/**
 * Runs a warming job against `cache` (writes go through `cache.setMany`, so the bus, tags and TTL rules
 * apply) and resolves with its report. Items that fail are counted and reported, never thrown.
 * @throws TypeError for a bad job or option; `WarmLeaseHeldError` when another run holds the job's lease
 *   (and `lease.wait` ran out); the cache's L2 errors when Redis fails while taking the lease.
 */
export async function runWarmJob<T, V>(
  cache: Cache,
  job: WarmJob<T, V> | WarmJobDefinition<T, V>,
  options: RunWarmJobOptions = {},
): Promise<WarmReport> {
  const resolved = defineWarmJob(job)
  const settings = resolveRun(cache, resolved as WarmJob<never, unknown>, options)
  return new WarmRun(cache, resolved, settings).execute()
}

class WarmRun<T, V> {
  readonly #cache: Cache
  readonly #job: WarmJob<T, V>
  readonly #s: RunSettings
  readonly #shard: string
  readonly #tally: Tally
  readonly #halt = new AbortController()
  readonly #limit: LimitFunction
  readonly #tasks = new Set<Promise<void>>()
  readonly #writer: WarmWriter
  readonly #loading: Loading<T, V>
  #outcome: WarmOutcome = 'completed'
  #error: string | undefined
  #phase: WarmPhase = 'waiting'
  #total: number | undefined
  #startedAt = Date.now()
  #runningSince = 0
  #nextLoadAt = 0
  #wake: (() => void) | undefined
  /** Most tasks queued or running at once (see #full). */
  readonly #most: number

  constructor(cache: Cache, job: WarmJob<T, V>, settings: RunSettings) {
    this.#cache = cache
    this.#job = job
    this.#s = settings
    this.#shard = shardLabel(settings.shard)
    this.#tally = new Tally(job.name, this.#shard)
    // Every key waiting to retry (or for the rate) listens to it: hundreds at once is normal, not a leak.
    setMaxListeners(Infinity, this.#halt.signal)
    this.#limit = pLimit(settings.concurrency)
    this.#most = job.loadMany !== undefined ? 2 * settings.concurrency : settings.concurrency + 4 * settings.batchSize
    this.#writer = new WarmWriter(cache, settings.batchSize)
    this.#loading = new Loading({
      job,
      tally: this.#tally,
      writer: this.#writer,
      halted: this.#halt.signal,
      emit: settings.onItem === undefined ? undefined : (event) => this.#callback(settings.onItem, event),
    })
  }

  async execute(): Promise<WarmReport> {
    const { signal, connection, lease: leasing, dryRun } = this.#s
    const keys = warmKeysOf(this.#cache, this.#job.name, this.#shard)
    const onAbort = (): void => this.#stop('cancelled')
    if (signal?.aborted === true) onAbort()
    signal?.addEventListener('abort', onAbort)
    let lease: Lease | undefined
    let timer: NodeJS.Timeout | undefined
    let heartbeat: NodeJS.Timeout | undefined
    try {
      if (leasing !== undefined && connection !== undefined && !dryRun && !this.#halt.signal.aborted) {
        lease = await Lease.acquire({
          connection,
          key: keys.lease,
          job: this.#job.name,
          shard: this.#shard,
          ttl: leasing.ttl,
          wait: leasing.wait,
          signal: this.#halt.signal,
          onWait: () => this.#progress(),
          onLost: (reason) => this.#stop('lease-lost', `stopped: ${reason}`),
        })
      }
      // Cancelled before the run could take its lease: nothing ran, nothing to record.
      const ran = lease !== undefined || leasing === undefined || connection === undefined || dryRun
      const recording = ran && this.#s.record && connection !== undefined && !dryRun && !this.#halt.signal.aborted
      const lastSuccessAt = recording ? await lastSuccessOf(connection, keys.runs, this.#shard).catch(() => null) : null
      this.#runningSince = Date.now()
      this.#phase = this.#halt.signal.aborted ? 'stopping' : 'running' // announced once the source is open
      timer = setInterval(() => this.#progress(), this.#s.progressInterval).unref()
      if (recording && lease !== undefined) {
        // The running record is advisory (a crashed run's goes stale by itself): a failed write is not retried.
        const held = lease
        const beat = (): void => {
          if (held.lost === undefined)
            void writeRunning(connection, keys.runs, this.#tally, this.#runningSince, held.ttl).catch(noop)
        }
        beat()
        heartbeat = setInterval(beat, Math.max(1, Math.floor(held.ttl / 3))).unref()
      }
      if (ran && !this.#halt.signal.aborted) await this.#produce()
      while (this.#tasks.size > 0) await Promise.all(this.#tasks)
      clearInterval(heartbeat)
      const report = this.#report()
      if (recording && (lease === undefined || lease.lost === undefined))
        await writeFinished(connection, keys.runs, report, this.#runningSince, lastSuccessAt).catch(noop) // only missing
      this.#setPhase('done')
      return report
    } finally {
      clearInterval(timer)
      clearInterval(heartbeat)
      signal?.removeEventListener('abort', onAbort)
      this.#writer.close()
      // Without this the lease would block the next run for its TTL; if Redis fails here it expires by itself.
      await lease?.release().catch(noop)
    }
  }

  /** Pulls keys from the source and dispatches them in batches, until the end, `limit` or a stop. */
  async #produce(): Promise<void> {
    const { shard, limit, batchSize } = this.#s
    let keys: KeyIterator<T>
    try {
      keys = await openKeys(this.#job.keys)
    } catch (error) {
      return this.#stop('failed', `the key source failed: ${messageOf(error)}`)
    }
    if (keys.size !== undefined && shard.count === 1) this.#total = Math.min(keys.size, limit)
    this.#progress()
    let batch: Array<Taken<T>> = []
    try {
      while (!this.#halt.signal.aborted && this.#tally.taken < limit) {
        let next: IteratorResult<T>
        let key: string
        try {
          const pulled = keys.next()
          next = pulled instanceof Promise ? await pulled : (pulled as IteratorResult<T>)
          if (next.done === true) break
          key = this.#keyOf(next.value)
        } catch (error) {
          return this.#stop('failed', `the key source failed: ${messageOf(error)}`)
        }
        if (shard.count > 1 && shardOf(key, shard.count) !== shard.index) continue
        this.#tally.taken++
        batch.push({ item: next.value, key })
        if (batch.length >= batchSize) {
          await this.#dispatch(batch)
          batch = []
        }
      }
      if (batch.length > 0 && !this.#halt.signal.aborted) await this.#dispatch(batch)
    } finally {
      await keys.close().catch(noop)
    }
  }

  #keyOf(item: T): string {
    const key = this.#job.key === undefined ? item : this.#job.key(item)
    if (typeof key !== 'string' || key.length === 0)
      throw new TypeError(
        `Expected each key of job "${this.#job.name}" to be a non-empty string (give \`key\` to map items to keys), got ${typeof key}`,
      )
    return key
  }

  /** Skips what the Redis checks say to skip, then schedules the loads. */
  async #dispatch(batch: Array<Taken<T>>): Promise<void> {
    if (this.#full()) await this.#room()
    if (this.#halt.signal.aborted) return
    const todo = this.#s.onlyMissing || this.#s.ifTtlBelow !== undefined ? await this.#unwarmed(batch) : batch
    if (this.#halt.signal.aborted || todo.length === 0) return
    if (this.#s.dryRun) {
      for (const { key } of todo) {
        this.#tally.planned++
        this.#callback(this.#s.onItem, { key, status: 'planned' })
      }
      return
    }
    if (this.#job.loadMany !== undefined) return this.#schedule(todo.length, (slot) => this.#loading.many(todo, slot))
    for (const taken of todo) {
      if (this.#full()) await this.#room()
      if (this.#halt.signal.aborted) return
      this.#schedule(1, (slot) => this.#loading.one(taken, slot))
    }
  }

  /**
   * The keys of `batch` to warm: one round trip reads their TTLs (an L1-only cache: one `getMany`), retried
   * like a load when Redis fails.
   */
  async #unwarmed(batch: Array<Taken<T>>): Promise<Array<Taken<T>>> {
    const { ifTtlBelow } = this.#s
    const below = ifTtlBelow ?? 0
    let ttls: number[]
    for (let attempt = 1; ; attempt++) {
      try {
        ttls = await this.#ttls(batch)
        break
      } catch (error) {
        if (attempt <= this.#job.retries && (await sleep(backoff(attempt, this.#job.retryDelay), this.#halt.signal)))
          continue
        for (const { key } of batch) this.#loading.failed(key, error)
        return []
      }
    }
    const out: Array<Taken<T>> = []
    for (let i = 0; i < batch.length; i++) {
      const ttl = ttls[i] as number
      const taken = batch[i] as Taken<T>
      if (ttl === -2 || (ttl >= 0 && ttl < below)) out.push(taken)
      else this.#loading.skipped(taken.key, ifTtlBelow === undefined ? 'present' : 'fresh')
    }
    return out
  }

  async #ttls(batch: Array<Taken<T>>): Promise<number[]> {
    const connection = this.#s.connection
    if (connection !== undefined)
      return ttlsOf(
        connection,
        batch.map((t) => redisKeyOf(this.#cache, t.key)),
      )
    const values = await this.#cache.getMany(batch.map((t) => t.key))
    return Array.from(values, (value) => (value === undefined ? -2 : -1)) // getMany's array may have holes
  }

  /**
   * Starts `task` (for `items` keys); its load runs in a slot (p-limit) once the rate allows. A load that
   * would start after a stop does not run.
   */
  #schedule(items: number, task: (slot: Slot) => Promise<void>): void {
    const slot: Slot = (load) =>
      this.#limit(async () => {
        if (this.#halt.signal.aborted || !(await this.#paced(items))) return { ran: false as const }
        return { ran: true as const, value: await load() }
      })
    const promise: Promise<void> = task(slot)
      .catch((error: unknown) => this.#stop('failed', messageOf(error)))
      .finally(() => {
        this.#tasks.delete(promise)
        this.#wake?.()
      })
    this.#tasks.add(promise)
  }

  /**
   * Whether the queue is full, so the producer stays a bounded distance ahead: twice `concurrency` batches for
   * `loadMany`; for `load`, `concurrency` loads plus a few batches of values on their way to Redis.
   */
  #full(): boolean {
    return this.#tasks.size >= this.#most
  }

  /** Waits until the queue is no longer full (or the run stops). */
  async #room(): Promise<void> {
    while (this.#full() && !this.#halt.signal.aborted) await new Promise<void>((resolve) => (this.#wake = resolve))
    this.#wake = undefined
  }

  /** Waits for `items` loads' worth of the rate limit. Resolves false when the run stops meanwhile. */
  async #paced(items: number): Promise<boolean> {
    const rate = this.#s.rate
    if (rate === undefined) return true
    const now = performance.now()
    const at = Math.max(this.#nextLoadAt, now)
    this.#nextLoadAt = at + (items * 1000) / rate
    return at - now < 1 || (await sleep(at - now, this.#halt.signal))
  }

  #stop(outcome: WarmOutcome, error?: string): void {
    if (this.#halt.signal.aborted) return
    this.#outcome = outcome
    this.#error = error
    this.#halt.abort()
    this.#wake?.()
    if (this.#phase === 'running') this.#setPhase('stopping')
  }

  #setPhase(phase: WarmPhase): void {
    this.#phase = phase
    this.#progress()
  }

  #progress(): void {
    if (this.#s.onProgress !== undefined) this.#callback(this.#s.onProgress, this.#snapshot())
  }

  /** Calls a user callback; one that throws stops the run (its error is the run's). */
  #callback<A>(fn: ((arg: A) => void) | undefined, arg: A): void {
    try {
      fn?.(arg)
    } catch (error) {
      this.#stop('failed', `a callback threw: ${messageOf(error)}`)
    }
  }

  #elapsed(): number {
    return this.#runningSince === 0 ? 0 : Date.now() - this.#runningSince
  }

  #snapshot(): WarmProgress {
    return this.#tally.progress(this.#phase, this.#total, this.#elapsed())
  }

  #report(): WarmReport {
    const { dryRun } = this.#s
    const [startedAt, durationMs, waitedMs] = [this.#startedAt, this.#elapsed(), this.#runningSince - this.#startedAt]
    return this.#tally.report({ outcome: this.#outcome, error: this.#error, dryRun, startedAt, durationMs, waitedMs })
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

function noop(): void {}
