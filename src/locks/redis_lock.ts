/**
 * A short-lived Redis lock: SET NX PX with a random token, released by a Lua compare-and-delete
 * that also PUBLISHes the lock key on the lock channel, so that waiters in every process wake up
 * as soon as the holder has written its value (see lock_waiters.ts). Used by `getOrSet` with
 * `lock: true`; a lock that cannot be taken because Redis fails is reported and skipped.
 * @internal
 */
import { randomBytes } from 'node:crypto'
import { L2TimeoutError } from '../errors.js'
import type { RedisClient } from '../tiers/redis_tier.js'

// Deletes the lock only if we still hold it (it may have expired and been taken by another
// process), then wakes the waiters either way: they re-read the value or try the lock again.
const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
redis.call('PUBLISH', ARGV[2], KEYS[1])
return 1`

interface LockCommands {
  tiercacheUnlock(key: string, token: string, channel: string): Promise<number>
}

/** The lock key of a full Redis key, and the channel its releases are published on. */
export function lockKeyOf(prefix: string, k: string): string {
  // '!' cannot appear in a namespace, so no cache key of this prefix can collide with a lock key.
  return `${prefix}!lock:${k}`
}

export function lockChannelOf(prefix: string): string {
  return `${prefix}!lock`
}

/** A held lock: release it once the value is written (or the factory failed). */
export interface HeldLock {
  readonly key: string
  readonly token: string
}

/** Tries once to take the lock for `ttl` ms. Resolves with the lock, or undefined when another process holds it. */
export async function tryLock(client: RedisClient, key: string, ttl: number, timeout: number): Promise<HeldLock | undefined> {
  const token = randomBytes(16).toString('base64url')
  const reply = await withTimeout(client.set(key, token, 'PX', ttl, 'NX'), timeout, 'SET NX')
  return reply === 'OK' ? { key, token } : undefined
}

/** Releases the lock if still ours, and wakes the waiters on `channel`. */
export async function unlock(client: RedisClient, lock: HeldLock, channel: string, timeout: number): Promise<void> {
  if (typeof (client as Partial<LockCommands>).tiercacheUnlock !== 'function')
    client.defineCommand('tiercacheUnlock', { numberOfKeys: 1, lua: RELEASE_SCRIPT })
  await withTimeout((client as unknown as LockCommands).tiercacheUnlock(lock.key, lock.token, channel), timeout, 'unlock')
}

function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  if (ms <= 0) return promise
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new L2TimeoutError(`Redis ${what} did not answer within ${ms} ms`)), ms)
    promise.then(
      (value) => {
        clearTimeout(timer)
        resolve(value)
      },
      (error: unknown) => {
        clearTimeout(timer)
        reject(error)
      },
    )
  })
}
