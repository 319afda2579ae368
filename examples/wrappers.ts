// Runnable: `npx tsx examples/wrappers.ts` (L1 only), or with REDIS_URL=redis://… to use Redis.
import { cached, cachedMethod, createCache } from '../src/index.js'

const cache = createCache({
  namespace: 'example',
  ttl: '10m',
  ...(process.env.REDIS_URL && { redis: process.env.REDIS_URL }),
})

interface User {
  id: number
  name: string
}
let loads = 0
async function loadUser(id: number): Promise<User> {
  loads++
  return { id, name: `user ${id}` }
}

const getUser = cached(cache, loadUser, { ttl: '5m', key: (id) => `user:${id}` })
await Promise.all([getUser(42), getUser(42), getUser(42)])
console.log('loads after 3 concurrent calls:', loads) // 1
console.log('peek:', await getUser.peek(42))
await getUser.invalidate(42)
console.log('after invalidate:', await getUser.peek(42)) // undefined

class Prices {
  calls = 0
  @cachedMethod(cache, { ttl: '1m', grace: '1h', softTimeout: '200ms' })
  async of(sku: string): Promise<number> {
    this.calls++
    return sku.length * 100
  }
}
const prices = new Prices()
console.log('price:', await prices.of('tea'), await prices.of('tea'), 'calls:', prices.calls) // 300 300 calls: 1

const report = await cache.getOrSet('report:daily', async () => ({ total: 3 }), { ttl: '1h', lock: true })
console.log('report:', report)
await cache.close()
