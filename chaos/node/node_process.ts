/**
 * One cache node of a chaos run: a process of its own, driven by the harness over IPC (chaos/node_handle.ts).
 * It starts the workloads it is given (their node sides) and runs the operations the harness sends, answering
 * `{ id, ok, result | code, ms }`. Unhandled rejections are reported and counted (the run fails on any); an
 * uncaught exception is reported and ends the process (a crash).
 *
 * Run: node --import tsx chaos/node/node_process.ts '<NodeConfig as JSON>'
 */
import { resolve } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import type { NodeConfig } from '../node_handle.js'
import type { NodeEnv, NodeWorkload, TiercacheApi } from '../workload.js'
import { NODE_WORKLOADS } from './workloads.js'

const config = JSON.parse(process.argv[2] ?? '{}') as NodeConfig
const send = (message: Record<string, unknown>): void => {
  if (process.connected) process.send?.(message)
}

process.on('unhandledRejection', (reason) => send({ event: 'unhandled', message: describeError(reason) }))
process.on('uncaughtException', (error) => {
  send({ event: 'crash', message: describeError(error) })
  process.exitCode = 70
  setTimeout(() => process.exit(70), 50)
})

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}\n${error.stack ?? ''}` : String(error)
}

const dbWaiting = new Map<number, (version: number) => void>()
let dbNext = 0

async function main(): Promise<void> {
  const target = config.target ?? resolve(fileURLToPath(new URL('../../src/index.ts', import.meta.url)))
  const api = (await import(pathToFileURL(target).href)) as TiercacheApi
  const env: NodeEnv = {
    api,
    nodeId: config.nodeId,
    redisUrl: config.redisUrl,
    options: config.options,
    db: {
      read(entity, delayMs = 0) {
        const id = ++dbNext
        return new Promise<number>((done) => {
          dbWaiting.set(id, done)
          send({ db: id, entity, delayMs })
        })
      },
    },
    report: send,
  }
  const workloads = new Map<string, NodeWorkload>()
  for (const name of config.workloads) {
    const start = NODE_WORKLOADS[name]
    if (start === undefined) throw new TypeError(`Unknown workload ${JSON.stringify(name)}`)
    workloads.set(name, start(env))
  }

  process.on('message', (message: { id?: number; op?: string; args?: unknown; dbReply?: number; version?: number }) => {
    if (message.dbReply !== undefined) {
      const done = dbWaiting.get(message.dbReply)
      dbWaiting.delete(message.dbReply)
      done?.(message.version as number)
      return
    }
    const { id, op = '' } = message
    if (op === 'exit') {
      void closeAll(workloads)
      return
    }
    const [workload = '', name = ''] = op.split('.')
    const operation = workloads.get(workload)?.ops[name] as ((args: unknown) => Promise<unknown>) | undefined
    const started = performance.now()
    if (operation === undefined) {
      send({ id, ok: false, code: 'E_NO_SUCH_OP', message: `no operation ${op}`, ms: 0 })
      return
    }
    operation(message.args).then(
      (result) => send({ id, ok: true, result: result ?? null, ms: performance.now() - started }),
      (error: unknown) =>
        send({
          id,
          ok: false,
          code: (error as { code?: unknown }).code ?? (error as Error).name ?? 'unknown',
          message: String((error as Error).message ?? error),
          ms: performance.now() - started,
        }),
    )
  })
  send({ event: 'ready' })
}

async function closeAll(workloads: Map<string, NodeWorkload>): Promise<void> {
  const timer = setTimeout(() => process.exit(0), 3000)
  await Promise.allSettled([...workloads.values()].map((w) => w.close()))
  clearTimeout(timer)
  process.exit(0)
}

main().catch((error: unknown) => {
  send({ event: 'crash', message: describeError(error) })
  process.exit(71)
})
