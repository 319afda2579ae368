import calculateSlot from 'cluster-key-slot'
import { Cluster, Redis, ReplyError } from 'ioredis'
import { L2CommandError, L2TimeoutError, L2UnavailableError, NotACounterError } from '../errors.js'
import { CircuitBreaker, type CircuitState } from './circuit_breaker.js'

/** An ioredis client: a single `Redis` (standalone or Sentinel) or a `Cluster`. */
export type RedisClient = Redis | Cluster

export interface RedisTierOptions {
  /** Per-command timeout in ms; 0 for none. */
  timeout: number
  breakerThreshold: number
  breakerCooldown: number
  onCircuit: (state: CircuitState) => void
}

export interface WriteItem {
  key: string
  bytes: Buffer
  /** Redis TTL in ms; 0 for none. */
  px: number
}

interface PendingRead {
  key: string
  resolve: (value: Buffer | null) => void
  reject: (error: unknown) => void
}

/** MGET is split into chunks of this many keys so that one reply never grows without bound. */
const MAX_KEYS_PER_COMMAND = 500

const INCR_SCRIPT = `
local v = redis.call('INCRBY', KEYS[1], ARGV[1])
if ARGV[2] ~= '0' and redis.call('PTTL', KEYS[1]) == -1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return v`

// Rewrites the logical expiry in the envelope header (bytes 5..12) together with the Redis TTL,
// atomically, so that a concurrent write is never lost.
const EXPIRE_SCRIPT = `
local v = redis.call('GET', KEYS[1])
if not v then return 0 end
if string.len(v) >= 12 and string.sub(v, 1, 2) == 'TC' then
  v = string.sub(v, 1, 4) .. struct.pack('>d', tonumber(ARGV[1])) .. string.sub(v, 13)
  redis.call('SET', KEYS[1], v, 'PX', ARGV[2])
  return 1
end
return redis.call('PEXPIRE', KEYS[1], ARGV[2])`

// One round trip for a dual write and its announcement: every SET (KEYS[i], ARGV[2i-1] bytes,
// ARGV[2i] PX or '0'), then PUBLISH the last two ARGV. A failing SET aborts the script before
// the PUBLISH, so only a write that reached Redis is announced.
const SET_PUBLISH_SCRIPT = `
for i, key in ipairs(KEYS) do
  local px = ARGV[2 * i]
  if px == '0' then redis.call('SET', key, ARGV[2 * i - 1]) else redis.call('SET', key, ARGV[2 * i - 1], 'PX', px) end
end
redis.call('PUBLISH', ARGV[#ARGV - 1], ARGV[#ARGV])
return #KEYS`

// The same for deletes: UNLINK, then PUBLISH; returns how many keys existed.
const UNLINK_PUBLISH_SCRIPT = `
local n = redis.call('UNLINK', unpack(KEYS))
redis.call('PUBLISH', ARGV[1], ARGV[2])
return n`

/** A bus message to send in the same round trip as a write: `PUBLISH channel bytes`. */
export interface Announcement {
  channel: string
  bytes: Buffer
}

interface ScriptCommands {
  tiercacheIncr(key: string, by: string, px: string): Promise<number>
  tiercacheExpire(key: string, expiresAt: string, px: string): Promise<number>
  tiercacheSetPublish(numberOfKeys: number, ...args: Array<string | Buffer>): Promise<number>
  tiercacheUnlinkPublish(numberOfKeys: number, ...args: Array<string | Buffer>): Promise<number>
}

/**
 * L2: Redis through ioredis, with a timeout on every command, a circuit breaker, and reads
 * arriving in the same tick coalesced into one MGET (one per hash slot on a Cluster).
 */
export class RedisTier {
  readonly client: RedisClient
  readonly isCluster: boolean
  readonly #options: RedisTierOptions
  readonly #breaker: CircuitBreaker
  #pending: PendingRead[] = []

  constructor(client: RedisClient, options: RedisTierOptions) {
    this.client = client
    this.isCluster = client instanceof Cluster
    this.#options = options
    this.#breaker = new CircuitBreaker({
      threshold: options.breakerThreshold,
      cooldown: options.breakerCooldown,
      onChange: options.onCircuit,
    })
    if (typeof (client as Partial<ScriptCommands>).tiercacheIncr !== 'function') {
      client.defineCommand('tiercacheIncr', { numberOfKeys: 1, lua: INCR_SCRIPT })
      client.defineCommand('tiercacheExpire', { numberOfKeys: 1, lua: EXPIRE_SCRIPT })
      client.defineCommand('tiercacheSetPublish', { lua: SET_PUBLISH_SCRIPT })
      client.defineCommand('tiercacheUnlinkPublish', { lua: UNLINK_PUBLISH_SCRIPT })
    }
  }

  get circuit(): CircuitState {
    return this.#breaker.state
  }

  /** Reads one key. Reads issued in the same tick go out together as one MGET. */
  get(key: string): Promise<Buffer | null> {
    if (!this.#breaker.allow()) return Promise.reject(this.#unavailable('GET'))
    return new Promise((resolve, reject) => {
      if (this.#pending.push({ key, resolve, reject }) === 1) process.nextTick(this.#flush)
    })
  }

  readonly #flush = (): void => {
    const batch = this.#pending
    this.#pending = []
    if (batch.length === 1) {
      const read = batch[0] as PendingRead
      this.#timed('GET', this.client.getBuffer(read.key)).then(read.resolve, read.reject)
      return
    }
    this.mget(batch.map((read) => read.key)).then(
      (values) => {
        for (let i = 0; i < batch.length; i++) (batch[i] as PendingRead).resolve(values[i] ?? null)
      },
      (error: unknown) => {
        for (const read of batch) read.reject(error)
      },
    )
  }

  /** Reads many keys: one MGET per 500 keys (per hash slot on a Cluster), sent in parallel. */
  async mget(keys: readonly string[]): Promise<Array<Buffer | null>> {
    if (keys.length === 0) return []
    if (!this.#breaker.allow()) throw this.#unavailable('MGET')
    const groups = this.#group(keys)
    const out = new Array<Buffer | null>(keys.length)
    await Promise.all(
      groups.map(async (indexes) => {
        const values = await this.#timed('MGET', this.client.mgetBuffer(...indexes.map((i) => keys[i] as string)))
        for (let j = 0; j < indexes.length; j++) out[indexes[j] as number] = values[j] ?? null
      }),
    )
    return out
  }

  async set(item: WriteItem): Promise<void> {
    if (!this.#breaker.allow()) throw this.#unavailable('SET')
    await this.#timed(
      'SET',
      item.px > 0 ? this.client.set(item.key, item.bytes, 'PX', item.px) : this.client.set(item.key, item.bytes),
    )
  }

  /** Writes many keys in one pipeline (one per hash slot on a Cluster, in parallel). */
  async setMany(items: readonly WriteItem[]): Promise<void> {
    if (items.length === 0) return
    if (!this.#breaker.allow()) throw this.#unavailable('SET')
    const groups = this.#group(items.map((item) => item.key))
    await Promise.all(
      groups.map(async (indexes) => {
        const pipeline = this.client.pipeline()
        for (const i of indexes) {
          const item = items[i] as WriteItem
          if (item.px > 0) pipeline.set(item.key, item.bytes, 'PX', item.px)
          else pipeline.set(item.key, item.bytes)
        }
        const results = await this.#timed('SET', pipeline.exec())
        const failed = results?.find(([error]) => error !== null)
        if (failed !== undefined) throw this.#wrap('SET', failed[0])
      }),
    )
  }

  /**
   * Writes keys and publishes `announce(keysOfTheGroup)` in one round trip per group (one Lua
   * call; one per hash slot on a Cluster, in parallel). The announcement goes out only if the
   * writes succeeded.
   */
  async setAndAnnounce(items: readonly WriteItem[], announce: (keys: string[]) => Announcement): Promise<void> {
    if (items.length === 0) return
    if (!this.#breaker.allow()) throw this.#unavailable('SET')
    const client = this.client as unknown as ScriptCommands
    await Promise.all(
      this.#group(items.map((item) => item.key)).map(async (indexes) => {
        const group = indexes.map((i) => items[i] as WriteItem)
        const message = announce(group.map((item) => item.key))
        const args: Array<string | Buffer> = group.map((item) => item.key)
        for (const item of group) args.push(item.bytes, String(item.px))
        args.push(message.channel, message.bytes)
        await this.#timed('SET', client.tiercacheSetPublish(group.length, ...args))
      }),
    )
  }

  /** UNLINK and publish `announce(keysOfTheGroup)` in one round trip per group; resolves with how many existed. */
  async delAndAnnounce(keys: readonly string[], announce: (keys: string[]) => Announcement): Promise<number> {
    if (keys.length === 0) return 0
    if (!this.#breaker.allow()) throw this.#unavailable('UNLINK')
    const client = this.client as unknown as ScriptCommands
    const counts = await Promise.all(
      this.#group(keys).map((indexes) => {
        const group = indexes.map((i) => keys[i] as string)
        const message = announce(group)
        return this.#timed('UNLINK', client.tiercacheUnlinkPublish(group.length, ...group, message.channel, message.bytes))
      }),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /** Deletes keys (UNLINK); resolves with how many existed. */
  async del(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0
    if (!this.#breaker.allow()) throw this.#unavailable('UNLINK')
    const counts = await Promise.all(
      this.#group(keys).map((indexes) => this.#timed('UNLINK', this.client.unlink(...indexes.map((i) => keys[i] as string)))),
    )
    return counts.reduce((a, b) => a + b, 0)
  }

  /** Atomic INCRBY; sets the TTL (ms) only when the counter is created. */
  async incr(key: string, by: number, px: number): Promise<number> {
    if (!this.#breaker.allow()) throw this.#unavailable('INCRBY')
    try {
      return await this.#timed('INCRBY', (this.client as unknown as ScriptCommands).tiercacheIncr(key, String(by), String(px)))
    } catch (error) {
      if (error instanceof L2CommandError && /not an integer|out of range/i.test(String((error.cause as Error)?.message)))
        throw new NotACounterError(`Key "${key}" does not hold an integer counter`, { cause: error.cause })
      throw error
    }
  }

  /** Sets a new expiry on an existing key (logical expiry in the envelope and Redis TTL). */
  async expire(key: string, expiresAt: number, px: number): Promise<boolean> {
    if (!this.#breaker.allow()) throw this.#unavailable('EXPIRE')
    const client = this.client as unknown as ScriptCommands
    return (await this.#timed('EXPIRE', client.tiercacheExpire(key, String(expiresAt), String(px)))) === 1
  }

  /** Deletes every key matching a SCAN pattern, on every master. No KEYS: SCAN in batches. */
  async deleteMatching(pattern: string): Promise<number> {
    const nodes = this.client instanceof Cluster ? this.client.nodes('master') : [this.client]
    let deleted = 0
    for (const node of nodes) {
      let cursor = '0'
      do {
        if (!this.#breaker.allow()) throw this.#unavailable('SCAN')
        const [next, keys] = await this.#timed('SCAN', node.scan(cursor, 'MATCH', pattern, 'COUNT', 1000))
        cursor = next
        if (keys.length === 0) continue
        if (this.isCluster) {
          // Keys found on one node may sit in different slots: delete each on its own.
          const pipeline = node.pipeline()
          for (const key of keys) pipeline.unlink(key)
          const results = await this.#timed('UNLINK', pipeline.exec())
          for (const [error, count] of results ?? []) if (error === null) deleted += Number(count)
        } else {
          deleted += await this.#timed('UNLINK', node.unlink(...keys))
        }
      } while (cursor !== '0')
    }
    return deleted
  }

  /** Round trip to Redis (PING), resolving with the latency in ms. Ignores the circuit. */
  async ping(): Promise<number> {
    const started = performance.now()
    await this.#timed('PING', this.client.ping())
    return performance.now() - started
  }

  /** Groups key indexes so each group can go in one multi-key command (same slot on a Cluster). */
  #group(keys: readonly string[]): number[][] {
    if (!this.isCluster) {
      if (keys.length <= MAX_KEYS_PER_COMMAND) return [keys.map((_, i) => i)]
      const chunks: number[][] = []
      for (let start = 0; start < keys.length; start += MAX_KEYS_PER_COMMAND)
        chunks.push(Array.from({ length: Math.min(MAX_KEYS_PER_COMMAND, keys.length - start) }, (_, j) => start + j))
      return chunks
    }
    const bySlot = new Map<number, number[]>()
    for (let i = 0; i < keys.length; i++) {
      const slot = calculateSlot(keys[i] as string)
      const group = bySlot.get(slot)
      if (group === undefined) bySlot.set(slot, [i])
      else group.push(i)
    }
    return [...bySlot.values()]
  }

  /** Applies the timeout, maps errors to coded errors and feeds the circuit breaker. */
  #timed<T>(command: string, promise: Promise<T>): Promise<T> {
    const timeout = this.#options.timeout
    return new Promise<T>((resolve, reject) => {
      let done = false
      const timer =
        timeout > 0
          ? setTimeout(() => {
              done = true
              this.#breaker.failure()
              reject(new L2TimeoutError(`Redis ${command} did not answer within ${timeout} ms`))
            }, timeout)
          : undefined
      promise.then(
        (value) => {
          if (done) return
          clearTimeout(timer)
          this.#breaker.success()
          resolve(value)
        },
        (error: unknown) => {
          if (done) return
          clearTimeout(timer)
          // A reply error means Redis is up and answered: not a reason to open the circuit.
          if (error instanceof ReplyError) this.#breaker.success()
          else this.#breaker.failure()
          reject(this.#wrap(command, error))
        },
      )
    })
  }

  #wrap(command: string, error: unknown): L2CommandError {
    if (error instanceof L2CommandError) return error
    const message = error instanceof Error ? error.message : String(error)
    return new L2CommandError(`Redis ${command} failed: ${message}`, { cause: error })
  }

  #unavailable(command: string): L2UnavailableError {
    return new L2UnavailableError(`Redis circuit is open after repeated failures; ${command} was not sent`)
  }
}
