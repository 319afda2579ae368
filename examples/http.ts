// Runnable: `npx tsx examples/http.ts` (L1 only), or with REDIS_URL=redis://… to use Redis.
// An Express shop whose product pages are cached by tiercache/http: a miss, hits, a 304, one render
// for 50 concurrent requests, and invalidation by tag after the product changes.
import type { AddressInfo } from 'node:net'
import express from 'express'
import { createCache } from '../src/index.js'
import { patchCacheControl, responseCache } from '../src/http/index.js'

const cache = createCache({
  namespace: 'shop',
  ...(process.env.REDIS_URL && { redis: process.env.REDIS_URL }),
}).namespace('http')

const products = new Map([
  ['42', { name: 'Desk lamp', price: 30 }],
  ['7', { name: 'Armchair', price: 240 }],
])
let renders = 0

const app = express()
app.get(
  '/products/:id',
  responseCache(cache, { ttl: '10m', grace: '1h', tags: (req) => [`product:${req.params.id}`] }),
  async (req, res) => {
    renders++
    await new Promise((resolve) => setTimeout(resolve, 20)) // the database
    const product = products.get(req.params.id)
    if (product === undefined) return void res.status(404).send('not found')
    patchCacheControl(res, { public: true, maxAge: '1m' })
    res.send(`<h1>${product.name}</h1><p>${product.price} EUR</p>`)
  },
)

const server = app.listen(0, '127.0.0.1')
await new Promise((resolve) => server.once('listening', resolve))
const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`

async function get(path: string, headers: Record<string, string> = {}): Promise<Response> {
  const response = await fetch(`${base}${path}`, { headers })
  await response.text()
  return response
}

const show = (label: string, r: Response): void =>
  console.log(`${label.padEnd(34)} ${r.status} X-Cache: ${r.headers.get('x-cache')} | ${r.headers.get('cache-status')}`)

show('first request', await get('/products/42'))
const hit = await get('/products/42')
show('second request', hit)
show('If-None-Match', await get('/products/42', { 'if-none-match': hit.headers.get('etag') ?? '' }))
show('with a session cookie', await get('/products/42', { cookie: 'sid=abc' }))

renders = 0
await Promise.all(Array.from({ length: 50 }, () => get('/products/7')))
console.log(`50 concurrent requests for a cold page → ${renders} render`)

products.set('42', { name: 'Desk lamp', price: 25 })
await cache.invalidateTags(['product:42']) // on every server
show('after invalidateTags(product:42)', await get('/products/42'))

server.close()
await cache.close()
