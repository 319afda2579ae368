/**
 * A short-lived Redis lock (a lease): SET NX PX with a random token, renewed and released by Lua
 * compare-and-set scripts, so that a holder whose lease expired (and was taken by another process)
 * never extends or deletes the new holder's. Release can PUBLISH the lock key on a channel so that
 * waiters in every process wake up at once (see lock_waiters.ts). Every command goes through the
 * connection (timeout, circuit breaker, coded errors). `getOrSet` releases its leases with `unlock`;
 * the warming runner takes one lease per job run with `tryLock` and keeps it with `renewLock`.
 * @internal
 */
import { randomBytes } from 'node:crypto'
import { Script, type RedisConnection } from '../redis/connection.js'

// Deletes the lock only if we still hold it (it may have expired and been taken by another
// process), then, when a channel is given, wakes the waiters either way: they re-read the value
// or try the lock again.
const RELEASE = new Script(
  'unlock',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) end
if ARGV[2] ~= '' then redis.call('PUBLISH', ARGV[2], KEYS[1]) end
return 1`,
)

// Extends the lease only while we hold it. Returns 1 when extended, 0 when the lock is no longer ours.
const RENEW = new Script(
  'lock renew',
  `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
)

/** A held lock: release it once the work is done. */
export interface HeldLock {
  readonly key: string
  readonly token: string
}

/** Tries once to take the lock for `ttl` ms. Resolves with the lock, or undefined when another process holds it. */
export async function tryLock(connection: RedisConnection, key: string, ttl: number): Promise<HeldLock | undefined> {
  const token = randomBytes(16).toString('base64url')
  const reply = await connection.run('lock', (client) => client.set(key, token, 'PX', ttl, 'NX'))
  return reply === 'OK' ? { key, token } : undefined
}

/** Extends a held lock to `ttl` ms from now. Resolves false when it is no longer ours (it expired and was taken). */
export async function renewLock(connection: RedisConnection, lock: HeldLock, ttl: number): Promise<boolean> {
  return (await connection.eval<number>(RENEW, [lock.key], [lock.token, String(ttl)])) === 1
}

/** Releases the lock if still ours; with `channel`, also wakes the waiters listening there. */
export async function unlock(connection: RedisConnection, lock: HeldLock, channel = ''): Promise<void> {
  await connection.eval(RELEASE, [lock.key], [lock.token, channel])
}
