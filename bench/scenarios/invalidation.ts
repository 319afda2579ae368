/**
 * Cross-node invalidation delay (p50/p99): how long after a write resolves on node A node B
 * stops returning the old value. tiercache's measurement lives in bench/invalidation_delay.ts
 * (written with the invalidation bus: A in this process, B in a child process, until B's bus
 * drops the key); when that file is absent this prints a note and skips it. Both tiercache and
 * bentocache are also measured here one same way: two nodes (L1 + L2 + Redis bus) in this
 * process, B's L1 holds the key, A sets a new value, B polls `get` until it sees it.
 */
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { type Fact } from '../harness.js'
import { createCache } from '../../src/index.js'
import { bentoNode, L1_ENTRIES, TTL_MS } from '../peers.js'

interface DelayResult {
  p50: number
  p99: number
  samples: number
}

type Measure = (options: { redisUrl: string; writes: number }) => Promise<DelayResult>

const POLL_LIMIT_MS = 1000

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number
}

interface Node {
  write(key: string, value: number): Promise<unknown>
  read(key: string): Promise<unknown>
  close(): Promise<unknown>
}

/**
 * Two nodes in this process, each with its own connections: B's L1 holds the key, A writes a
 * new value, B polls `get` (yielding to the event loop between reads) until it sees it.
 */
async function delayByPolling(a: Node, b: Node, writes: number): Promise<DelayResult> {
  const delays: number[] = []
  try {
    const key = `invalidation:${Date.now()}`
    await a.write(key, 0)
    for (let i = 1; i <= writes; i++) {
      await b.read(key) // B's L1 holds the current value
      await a.write(key, i)
      const written = performance.now()
      while ((await b.read(key)) !== i) {
        if (performance.now() - written > POLL_LIMIT_MS) throw new Error(`node B still stale after ${POLL_LIMIT_MS} ms`)
        await new Promise((resolve) => setImmediate(resolve))
      }
      delays.push(performance.now() - written)
    }
  } finally {
    await Promise.allSettled([a.close(), b.close()])
  }
  delays.sort((x, y) => x - y)
  return { p50: percentile(delays, 50), p99: percentile(delays, 99), samples: delays.length }
}

function bentoPair(redisUrl: string): [Node, Node] {
  const node = (): Node => {
    const bento = bentoNode(redisUrl)
    return {
      write: (key, value) => bento.set({ key, value }),
      read: (key) => bento.get({ key }),
      close: () => bento.disconnect(),
    }
  }
  return [node(), node()]
}

function tiercachePair(redisUrl: string): [Node, Node] {
  const node = (): Node => {
    const cache = createCache({ redis: redisUrl, namespace: 'bench-poll', ttl: TTL_MS, l1: { maxEntries: L1_ENTRIES } })
    return { write: (key, value) => cache.set(key, value), read: (key) => cache.get(key), close: () => cache.close() }
  }
  return [node(), node()]
}

export async function invalidationDelay(redisUrl: string, writes: number, notes: string[]): Promise<Fact[]> {
  const title = "cross-node invalidation delay, set on A to B's bus drop, B in another process (ms)"
  const facts: Fact[] = []
  const file = new URL('../invalidation_delay.ts', import.meta.url)
  if (existsSync(fileURLToPath(file))) {
    const module = (await import(file.href)) as { measureInvalidationDelay?: Measure }
    if (typeof module.measureInvalidationDelay === 'function') {
      const result = await module.measureInvalidationDelay({ redisUrl, writes })
      facts.push({ id: 'invalidation', title, contender: 'tiercache', values: { ...result } })
    } else
      notes.push(
        'bench/invalidation_delay.ts does not export measureInvalidationDelay: tiercache invalidation delay skipped',
      )
  } else {
    notes.push(
      'bench/invalidation_delay.ts is not there yet (it comes with the invalidation bus): tiercache invalidation delay skipped',
    )
  }
  const pollTitle = 'cross-node invalidation delay, polling B until it returns the new value (ms)'
  const [ta, tb] = tiercachePair(redisUrl)
  facts.push({
    id: 'invalidation',
    title: pollTitle,
    contender: 'tiercache',
    values: { ...(await delayByPolling(ta, tb, writes)) },
  })
  const [ba, bb] = bentoPair(redisUrl)
  facts.push({
    id: 'invalidation',
    title: pollTitle,
    contender: 'bentocache',
    values: { ...(await delayByPolling(ba, bb, writes)) },
  })
  return facts
}
