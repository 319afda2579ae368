// A strict TypeScript ES module using the public API as the README shows it: compiled against the shipped
// declarations (skipLibCheck: false) with moduleResolution node16, nodenext and bundler.
import {
  cached,
  Cache,
  CacheError,
  createCache,
  DEFAULTS,
  errors,
  jsonCodec,
  type AnyCacheError,
  type CacheOptions,
  type CacheStats,
} from 'tiercache'

interface Product {
  id: number
  name: string
}

const options: CacheOptions = { namespace: 'shop', ttl: '10m', l1: { maxEntries: 1000 }, codec: jsonCodec() }
const cache: Cache = createCache(options)
const product: Product | undefined = await cache.get<Product>('product:1')
const loaded: Product = await cache.getOrSet('product:1', async () => ({ id: 1, name: 'Lamp' }), { ttl: '1h' })
const getProduct = cached(cache, async (id: number): Promise<Product> => ({ id, name: 'Lamp' }), { ttl: '5m' })
const viaWrapper: Product = await getProduct(1)
const stats: CacheStats = cache.stats()
cache.on('l2:error', ({ operation, error }) => console.warn(operation, error.code))

// @ts-expect-error a Cache is made by createCache(); its constructor is not part of the API
new Cache()

function describeError(error: AnyCacheError): string {
  switch (error.code) {
    case 'E_VALUE_TOO_LARGE':
      return `${error.key}: ${error.bytes} > ${error.limit}`
    case 'E_NOT_READY':
    case 'E_FACTORY_HARD_TIMEOUT':
    case 'E_BUS':
      return error.message
    default:
      return error.code
  }
}

const caught: unknown = undefined
if (caught instanceof CacheError && caught instanceof errors.L2TimeoutError) console.log(caught.code)
console.log(product, loaded, viaWrapper, stats.l1?.hits, DEFAULTS.ttl, describeError)
await cache.close()
