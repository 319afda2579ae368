// An ES module consumer: imports every entry point of the exports map, then uses the cache (L1 only).
/* global console */
import { createRequire } from 'node:module'

const require = createRequire(import.meta.url)
const { exports } = require('tiercache/package.json')
const loaded = {}
for (const key of Object.keys(exports)) {
  if (key === './package.json') continue
  const specifier = key === '.' ? 'tiercache' : `tiercache/${key.slice(2)}`
  loaded[specifier] = Object.keys(await import(specifier)).sort()
}

const { createCache } = await import('tiercache')
const { isNativeAccelerationEnabled } = await import('msgpackr')
const cache = createCache()
await cache.set('k', new Map([[1, 2n]]))
const back = await cache.get('k')
await cache.close()
console.log(
  JSON.stringify({ loaded, roundTrip: back instanceof Map && back.get(1) === 2n, native: isNativeAccelerationEnabled }),
)
