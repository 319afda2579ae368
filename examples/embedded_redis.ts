/**
 * The demo's embedded Redis: ioredis-mock, in process, nothing to install. Not for production, and not how tiercache
 * is tested (test/integration runs a real redis-server).
 *
 * ioredis clients have a `status` ('ready' once connected) that tiercache's bus reads to know its subscriber is
 * listening; ioredis-mock has none, so without this shim the bus never comes up on it and one server never hears
 * another's invalidations. With it, the demo gives the same answers here as on a real Redis (a test compares them).
 */
import type { Redis } from 'ioredis'

export async function embeddedRedis(): Promise<Redis> {
  // A devDependency, loaded only when the demo runs without REDIS_URL.
  const { default: RedisMock } = await import('ioredis-mock')
  if (!('status' in RedisMock.prototype))
    Object.defineProperty(RedisMock.prototype, 'status', {
      configurable: true,
      get(this: { connected?: boolean }) {
        return this.connected === true ? 'ready' : 'end'
      },
    })
  return new RedisMock() as unknown as Redis
}
