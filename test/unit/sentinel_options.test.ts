/** The clients tiercache creates from ioredis Sentinel options follow a failover as soon as a sentinel names it. */
import type { Redis } from 'ioredis'
import { describe, expect, it } from 'vitest'
import { resolveClient } from '../../src/redis/connection.js'

const sentinels = [{ host: '127.0.0.1', port: 1 }]

function optionsOf(value: unknown): Record<string, unknown> {
  const { client } = resolveClient(value)
  ;(client as Redis).disconnect()
  return (client as Redis).options as unknown as Record<string, unknown>
}

describe('redis: Sentinel options', () => {
  it('turns on failoverDetector for options with sentinels', () => {
    expect(optionsOf({ sentinels, name: 'mymaster', lazyConnect: true }).failoverDetector).toBe(true)
  })

  it('leaves an explicit failoverDetector: false alone', () => {
    expect(
      optionsOf({ sentinels, name: 'mymaster', lazyConnect: true, failoverDetector: false }).failoverDetector,
    ).toBe(false)
  })

  it('adds nothing to options without sentinels', () => {
    expect(optionsOf({ port: 1, lazyConnect: true }).failoverDetector).toBeFalsy()
  })
})
