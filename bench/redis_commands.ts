/** Counts the commands a Redis server executed, from INFO commandstats (INFO itself excluded). */
import type { Redis } from 'ioredis'

export async function commandCount(redis: Redis): Promise<number> {
  const info = await redis.info('commandstats')
  let total = 0
  for (const match of info.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) {
    if (match[1] !== 'info') total += Number(match[2])
  }
  return total
}

/** How many commands the server executed while `action` ran (nothing else may use it meanwhile). */
export async function commandsDuring(redis: Redis, action: () => Promise<unknown>): Promise<number> {
  const before = await commandCount(redis)
  await action()
  return (await commandCount(redis)) - before
}
