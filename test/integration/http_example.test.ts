/** `npx tsx examples/http.ts` runs on L1 alone and against a real Redis (REDIS_URL). */
import { describe, expect, it } from 'vitest'
import { useRedis } from '../support/redis_server.js'
import { runExample } from '../support/run_example.js'

const redis = useRedis()

describe('examples/http.ts', () => {
  it.each([
    ['L1 only', false],
    ['Redis', true],
  ])('runs (%s)', async (_name, withRedis) => {
    const { code, out } = await runExample('examples/http.ts', withRedis ? { REDIS_URL: redis.url } : {})
    expect(out).toMatch(/first request\s+200 X-Cache: MISS/)
    expect(out).toMatch(/second request\s+200 X-Cache: HIT-L1/)
    expect(out).toMatch(/If-None-Match\s+304/)
    expect(out).toMatch(/with a session cookie\s+200 X-Cache: BYPASS/)
    expect(out).toContain('50 concurrent requests for a cold page → 1 render')
    expect(out).toMatch(/after invalidateTags\(product:42\)\s+200 X-Cache: MISS/)
    expect(code).toBe(0)
  })
})
