/**
 * The shipped declarations, as a strict TypeScript user compiles against them: the packed tarball in fresh projects
 * (test/package/global_setup.ts), `skipLibCheck: false` (TypeScript's default), for moduleResolution node16, nodenext
 * and bundler. The consumer sources are in test/package/consumer/: api.mts uses the API (and checks that `new Cache()`
 * does not compile), api.cts is a CommonJS module, program.mts passes ioredis' own `Redis` and `Cluster`, and
 * entry_points.mts/.cts (generated) import every entry point of the exports map, so subpaths added later are checked
 * without touching this file. With nodenext the program is also emitted and run against a real Redis and a real
 * cluster, with ioredis 6 and with ioredis 5.
 */
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { exec } from '../support/exec.js'
import { RedisCluster } from '../support/redis_cluster.js'
import { RedisServer } from '../support/redis_server.js'
import { REPO, USER_ENV } from './fresh_project.js'

const fixture = inject('package')
const tsc = join(REPO, 'node_modules/typescript/bin/tsc')

let server: RedisServer
let cluster: RedisCluster
beforeAll(async () => {
  ;[server, cluster] = await Promise.all([RedisServer.start(), RedisCluster.start()])
})
afterAll(async () => {
  await Promise.all([server?.close(), cluster?.close()])
})

/** `tsc -b` over several configs: one process, so the libraries' declarations are parsed once for all of them. */
async function compile(project: string, configs: readonly string[]): Promise<void> {
  const ran = await exec(process.execPath, [tsc, '-b', ...configs], { cwd: project, env: USER_ENV, timeout: 120_000 })
  expect(ran.stdout + ran.stderr, `tsc -b ${configs.join(' ')}`).toBe('')
  expect(ran.code).toBe(0)
}

interface ProgramResult {
  resp: string
  standalone: { written: number[]; cleared: number; ok: boolean; errors: string[] }
  cluster: { written: number[]; cleared: number; ok: boolean; errors: string[] }
}

async function runProgram(project: string): Promise<ProgramResult> {
  const [node] = cluster.nodes
  const ran = await exec(
    process.execPath,
    [join(project, 'out/program.mjs'), server.url, node!.host, String(node!.port)],
    { cwd: project, env: USER_ENV },
  )
  expect(ran.stderr).toBe('')
  expect(ran.code).toBe(0)
  return JSON.parse(ran.stdout) as ProgramResult
}

const written = Array.from({ length: 12 }, (_, i) => i)

describe.concurrent('the shipped declarations, strict, skipLibCheck: false', () => {
  it('compile for node16, nodenext (ES modules and CommonJS) and bundler with ioredis 6; the program runs on RESP3, its Cluster recognised', async () => {
    await compile(fixture.ioredis6, ['tsconfig.node16.json', 'tsconfig.bundler.json', 'tsconfig.nodenext.json'])
    const result = await runProgram(fixture.ioredis6)
    expect(result.resp).toBe('3')
    for (const run of [result.standalone, result.cluster])
      expect(run).toEqual({ written, cleared: 0, ok: true, errors: [] })
  })

  it('compile for nodenext with ioredis 5; the program runs on RESP2, its Cluster recognised', async () => {
    await compile(fixture.ioredis5, ['tsconfig.nodenext.json'])
    const result = await runProgram(fixture.ioredis5)
    expect(result.resp).toBe('2')
    for (const run of [result.standalone, result.cluster])
      expect(run).toEqual({ written, cleared: 0, ok: true, errors: [] })
  })
})
