// A strict TypeScript CommonJS module: `import` compiles to require(), which loads tiercache's ES modules on
// Node 20.19+ and 22.12+ (TypeScript allows it with module nodenext).
import { createCache, type Cache } from 'tiercache'

const cache: Cache = createCache({ ttl: '1m' })
export async function read(key: string): Promise<number | undefined> {
  return cache.get<number>(key)
}
