/**
 * A warm config: fills the `shop` namespace with a catalogue of 100,000 products before traffic arrives.
 *
 *   npx warm-cache --config examples/warm.config.ts --redis redis://127.0.0.1:6379
 *   npx warm-cache --config examples/warm.config.ts --only-missing --shard 0/4      # one of four workers
 *
 * The database is simulated: product ids come from a paged cursor, and each query takes 2 ms plus 10 µs per
 * row, so the run shows what batching and concurrency buy. CATALOGUE_SIZE changes the size.
 */
import { setTimeout as sleep } from 'node:timers/promises'
import { defineWarmConfig, defineWarmJob } from 'tiercache/warming'

interface Product {
  id: number
  sku: string
  name: string
  priceCents: number
  stock: number
  updatedAt: Date
}

const CATALOGUE_SIZE = Number(process.env.CATALOGUE_SIZE ?? 100_000)

/** The stand-in for your database. */
const db = {
  /** Every product id, read page by page (a cursor): never the whole catalogue in memory. */
  async *productIds(): AsyncGenerator<number> {
    for (let from = 1; from <= CATALOGUE_SIZE; from += 1000) {
      await sleep(2)
      for (let id = from; id < from + 1000 && id <= CATALOGUE_SIZE; id++) yield id
    }
  },
  /** `SELECT … WHERE id = ANY($1)`: 2 ms plus 10 µs per row. */
  async products(ids: readonly number[]): Promise<Map<number, Product>> {
    await sleep(2 + ids.length / 100)
    return new Map(ids.map((id) => [id, product(id)]))
  },
  /** The 1,000 best sellers' review summaries: one 5 ms query each. */
  async reviewSummary(id: number): Promise<{ id: number; stars: number; count: number }> {
    await sleep(5)
    return { id, stars: 3 + (id % 3), count: (id * 7) % 500 }
  },
}

function product(id: number): Product {
  return {
    id,
    sku: `SKU-${String(id).padStart(6, '0')}`,
    name: `Product ${id}`,
    priceCents: 100 + ((id * 37) % 10_000),
    stock: (id * 13) % 250,
    updatedAt: new Date(Date.UTC(2025, 0, 1) + id * 60_000),
  }
}

export default defineWarmConfig({
  // The namespace and TTL the app reads with; `warm-cache` adds `redis` (--redis or REDIS_URL) and `l1: false`.
  cache: { namespace: 'shop', ttl: '1h' },
  jobs: [
    defineWarmJob({
      name: 'products',
      keys: () => db.productIds(),
      key: (id) => `product:${id}`,
      loadMany: (ids) => db.products(ids),
      batchSize: 500,
      concurrency: 8,
      ttl: '6h',
      jitter: 0.1, // expiries spread over the last 36 minutes, not all at once
      tags: ['products'],
    }),
    defineWarmJob({
      name: 'reviews',
      keys: Array.from({ length: Math.min(1000, CATALOGUE_SIZE) }, (_, i) => i + 1),
      key: (id) => `reviews:${id}`,
      load: (id) => db.reviewSummary(id),
      concurrency: 32,
      timeout: '2s',
      ttl: '1h',
    }),
  ],
})
