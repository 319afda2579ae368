/**
 * `node --expose-gc --import tsx bench/l1_heap.ts`
 *
 * How far L1's byte count (each value's encoded size: what `l1.maxBytes` bounds) is from the heap the entries
 * really take, for several kinds of values. For each kind: an L1-only cache with bounds it will not reach,
 * N entries set (each value created for the cache alone), then the heap growth after a full GC, per entry,
 * next to the counted bytes per entry. The ratio heap ÷ counted is what README's "Memory" section quotes.
 */
import { createCache } from '../src/index.js'

const gc = (globalThis as { gc?: () => void }).gc
if (gc === undefined) {
  process.stderr.write('run with: node --expose-gc --import tsx bench/l1_heap.ts\n')
  process.exit(2)
}

interface Kind {
  name: string
  count: number
  make(i: number): unknown
}

const record = (bytes: number) => (i: number) => ({
  id: i,
  name: `product-${i}`,
  price: 19.99,
  inStock: true,
  tags: ['shop', 'sale'],
  body: `${i}`.padEnd(bytes, 'x'),
})

const kinds: Kind[] = [
  { name: '100 B record', count: 200_000, make: record(40) },
  { name: '10 KB record', count: 10_000, make: record(10_000) },
  { name: '1 MB record', count: 60, make: record(1_000_000) },
  { name: 'number', count: 200_000, make: (i) => i },
  { name: 'Date', count: 200_000, make: (i) => new Date(1_700_000_000_000 + i) },
  {
    name: 'Map of 20 Dates',
    count: 20_000,
    make: (i) => new Map(Array.from({ length: 20 }, (_, j) => [`d${j}`, new Date(1_700_000_000_000 + i + j)])),
  },
  {
    name: 'array of 20 small objects',
    count: 20_000,
    make: (i) => Array.from({ length: 20 }, (_, j) => ({ id: i * 20 + j, at: new Date(0), ok: j % 2 === 0 })),
  },
]

function heap(): number {
  for (let i = 0; i < 3; i++) gc?.()
  return process.memoryUsage().heapUsed
}

process.stdout.write(`| value | entries | counted bytes per entry | heap bytes per entry | heap ÷ counted |\n`)
process.stdout.write(`| --- | ---: | ---: | ---: | ---: |\n`)
for (const kind of kinds) {
  // maxEntries as the count: lru-cache preallocates per entry slot (and a huge sparse array would distort the heap).
  const cache = createCache({ l1: { maxEntries: kind.count, maxBytes: 2 ** 40 } })
  const before = heap()
  for (let i = 0; i < kind.count; i++) await cache.set(`key:${i}`, kind.make(i))
  const after = heap()
  const counted = cache.stats().l1?.bytes ?? 0
  const perHeap = (after - before) / kind.count
  const perCounted = counted / kind.count
  process.stdout.write(
    `| ${kind.name} | ${kind.count.toLocaleString('en')} | ${perCounted.toFixed(0)} | ${perHeap.toFixed(0)} | ${(perHeap / perCounted).toFixed(2)} |\n`,
  )
  await cache.close()
}
