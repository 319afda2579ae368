/**
 * Several nodes as separate Node processes sharing one real Redis, under a bounded random
 * workload of set/delete/invalidateTags/get. Checks (ARCHITECTURE.md, "The contract", point 3):
 * - after a writer's call resolves, every node returns the new value within the propagation bound;
 * - no node ever returns an older value after it returned a newer one (checked in each worker,
 *   by a reader that runs all along, and on every read the test makes).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisServer } from '../support/redis_server.js'

const WORKERS = 3
const KEYS = 12
const TAGS = 3
const OPS = 400
const TIME_LIMIT_MS = 25_000
/** Generous for a loaded 2-core CI box; the benchmark measures the real delay (p99 target 5 ms). */
const PROPAGATION_BOUND_MS = 500

class Worker {
  readonly child: ChildProcess
  readonly ready: Promise<void>
  #next = 0
  readonly #waiting = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>()

  constructor(url: string) {
    const script = fileURLToPath(new URL('../fixtures/bus_worker.ts', import.meta.url))
    this.child = fork(script, [url, String(KEYS), 'true'], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    })
    this.ready = new Promise((resolve, reject) => {
      this.child.once('exit', (code) => reject(new Error(`worker exited with ${code}`)))
      this.child.on('message', (message: { ready?: boolean; id?: number; result?: unknown; error?: string }) => {
        if (message.ready === true) return resolve()
        const waiting = this.#waiting.get(message.id as number)
        this.#waiting.delete(message.id as number)
        if (message.error !== undefined) waiting?.reject(new Error(message.error))
        else waiting?.resolve(message.result)
      })
    })
  }

  request<T>(op: Record<string, unknown>): Promise<T> {
    const id = ++this.#next
    return new Promise<T>((resolve, reject) => {
      this.#waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      this.child.send({ id, ...op })
    })
  }
}

const tagOf = (key: number): string => `group:${key % TAGS}`

describe('coherence across processes', () => {
  let server: RedisServer
  let workers: Worker[] = []
  beforeAll(async () => {
    server = await RedisServer.start()
    workers = Array.from({ length: WORKERS }, () => new Worker(server.url))
    await Promise.all(workers.map((w) => w.ready))
  }, 30_000)
  afterAll(async () => {
    for (const w of workers) if (w.child.exitCode === null) w.child.kill('SIGKILL')
    await server?.close()
  })

  it('converges on every node within the bound after each write, and never goes back to an older value', async () => {
    const expected = new Map<string, number | undefined>()
    const delays: number[] = []
    let version = 0
    const counts = { set: 0, delete: 0, invalidateTags: 0 }
    const started = Date.now()
    let ops = 0
    let rng = 42
    const random = (n: number): number => {
      rng = (rng * 1_103_515_245 + 12_345) % 2_147_483_648
      return rng % n
    }

    for (; ops < OPS && Date.now() - started < TIME_LIMIT_MS; ops++) {
      const writer = workers[random(WORKERS)] as Worker
      const k = random(KEYS)
      const key = `key:${k}`
      const roll = random(100)
      let affected: string[]
      if (roll < 60) {
        const value = ++version
        await writer.request({ op: 'set', key, value, tags: [tagOf(k)] })
        expected.set(key, value)
        affected = [key]
        counts.set++
      } else if (roll < 85) {
        await writer.request({ op: 'delete', key })
        expected.set(key, undefined)
        affected = [key]
        counts.delete++
      } else {
        const tag = tagOf(k)
        await writer.request({ op: 'invalidateTags', tags: [tag] })
        affected = Array.from({ length: KEYS }, (_, i) => i)
          .filter((i) => tagOf(i) === tag)
          .map((i) => `key:${i}`)
        for (const key of affected) expected.set(key, undefined)
        counts.invalidateTags++
      }
      // Every node must return the new state within the bound.
      const resolvedAt = performance.now()
      const want = affected.map((key) => expected.get(key))
      await Promise.all(
        workers.map(async (worker) => {
          for (;;) {
            const got = await worker.request<Array<number | null>>({ op: 'get', keys: affected })
            const values = got.map((v) => (v === null ? undefined : v))
            const elapsed = performance.now() - resolvedAt
            if (values.every((v, i) => v === want[i])) {
              delays.push(elapsed)
              return
            }
            if (elapsed > PROPAGATION_BOUND_MS)
              throw new Error(
                `op ${ops}: node still returns ${JSON.stringify(values)} for ${affected.join(',')} after ${elapsed.toFixed(1)} ms, want ${JSON.stringify(want)}`,
              )
          }
        }),
      )
    }

    const reports = await Promise.all(
      workers.map((w) => w.request<{ reads: number; violations: string[] }>({ op: 'stop' })),
    )
    delays.sort((x, y) => x - y)
    const p99 = delays[Math.floor(delays.length * 0.99)] ?? 0
    console.log(
      `multi-process: ${ops} ops (${JSON.stringify(counts)}), ${reports.reduce((s, r) => s + r.reads, 0)} reads checked; ` +
        `time for every node to show a write, incl. IPC: p50 ${(delays[Math.floor(delays.length / 2)] ?? 0).toFixed(2)} ms, p99 ${p99.toFixed(2)} ms`,
    )
    expect(ops).toBeGreaterThanOrEqual(100)
    expect(counts.set * counts.delete * counts.invalidateTags).toBeGreaterThan(0)
    for (const report of reports) {
      expect(report.violations).toEqual([])
      expect(report.reads).toBeGreaterThan(ops)
    }
  }, 40_000)
})
