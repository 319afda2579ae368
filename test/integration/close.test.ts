/** `close()` closes at once what tiercache opened, even when Redis cannot be reached (issue 13). */
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { freePort } from '../support/redis_server.js'
import { Worker } from '../support/worker.js'

describe('close()', () => {
  it('with Redis unreachable, the process ends right after close() (no connection left retrying)', async () => {
    const script = fileURLToPath(new URL('../fixtures/close_unreachable.ts', import.meta.url))
    const worker = new Worker(script, [`redis://127.0.0.1:${await freePort()}`])
    const exited = new Promise<void>((resolve) => worker.child.once('exit', () => resolve()))
    await worker.next('closed')
    const closedAt = performance.now()
    await exited
    // ioredis's own connect timer alone would keep it 2 s longer; tsx's teardown takes a few ms.
    expect(performance.now() - closedAt).toBeLessThan(1000)
  })
})
