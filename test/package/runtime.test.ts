/**
 * What a user's program sees at run time after `npm install tiercache ioredis` (the packed tarball in a fresh project,
 * test/package/global_setup.ts), on the Node running the tests: every entry point of the exports map loads with
 * `import` and with `require` (require(esm), Node 20.19+ and 22.12+), and the same names come out both ways.
 */
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { exec } from '../support/exec.js'
import { USER_ENV } from './fresh_project.js'

const fixture = inject('package')

interface Report {
  loaded: Record<string, string[]>
  roundTrip: boolean
  native?: boolean
}

async function runConsumer(file: string): Promise<Report> {
  const ran = await exec(process.execPath, [join(fixture.ioredis6, file)], { cwd: fixture.ioredis6, env: USER_ENV })
  expect(ran.stderr).toBe('') // no warning either (require(esm) is silent on the Node versions we support)
  expect(ran.code).toBe(0)
  return JSON.parse(ran.stdout) as Report
}

describe(`the installed package on Node ${process.versions.node}`, () => {
  it('an ES module consumer imports every entry point and caches values', async () => {
    const report = await runConsumer('esm.mjs')
    expect(Object.keys(report.loaded).sort()).toEqual([...fixture.entryPoints].sort())
    expect(report.loaded.tiercache).toEqual(expect.arrayContaining(['createCache', 'Cache', 'CacheError', 'errors']))
    expect(report.roundTrip).toBe(true)
  })

  it('a CommonJS consumer require()s every entry point and gets the same exports', async () => {
    const [esm, cjs] = await Promise.all([runConsumer('esm.mjs'), runConsumer('cjs.cjs')])
    expect(cjs.loaded).toEqual(esm.loaded)
    expect(cjs.roundTrip).toBe(true)
  })

  it("denying msgpackr-extract's install script (npm 11 allowScripts) keeps msgpackr's native decoder", async () => {
    // The project's package.json has allowScripts: { "msgpackr-extract": false }: npm skips the script quietly,
    // and the prebuilt binary still loads from its platform package (linux/darwin/win32 on x64 and arm64).
    expect(fixture.install6).not.toMatch(/msgpackr-extract.*install/)
    const report = await runConsumer('esm.mjs')
    if (['linux', 'darwin', 'win32'].includes(process.platform) && ['x64', 'arm64'].includes(process.arch))
      expect(report.native).toBe(true)
  })
})
