import { execFile } from 'node:child_process'
import { mkdtemp, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'

// Decorators are compiled for real, by tsc, with each setting: the fixture class is emitted once
// with TC39 standard decorators and once with experimentalDecorators, then imported and run.
const root = resolve(fileURLToPath(new URL('../..', import.meta.url)))
const tsc = join(root, 'node_modules', 'typescript', 'bin', 'tsc')
const run = promisify(execFile)

interface Fixture {
  cache: { close(): Promise<void>; get(key: string): Promise<unknown> }
  calls: string[]
  UserService: {
    new (table: string): {
      byId(id: number): Promise<string>
      search(q: { name: string; active: boolean }): Promise<string[]>
    }
    version(): Promise<string>
  }
}

let out: string
let compiled: Record<'standard' | 'legacy', Promise<Fixture>>
beforeAll(async () => {
  out = await mkdtemp(join(tmpdir(), 'tiercache-decorators-'))
  await writeFile(join(out, 'package.json'), '{ "type": "module" }')
  await symlink(join(root, 'node_modules'), join(out, 'node_modules'), 'dir')
  // Both compilations at once; each describe block awaits its own.
  compiled = { standard: compile('standard'), legacy: compile('legacy') }
  compiled.standard.catch(() => undefined)
  compiled.legacy.catch(() => undefined)
}, 60_000)
afterAll(async () => {
  if (out !== undefined) await rm(out, { recursive: true, force: true })
})

async function compile(mode: 'standard' | 'legacy'): Promise<Fixture> {
  const outDir = join(out, mode)
  const args = [
    tsc,
    '--outDir',
    outDir,
    '--rootDir',
    root,
    '--target',
    'ES2022',
    '--module',
    'NodeNext',
    '--moduleResolution',
    'NodeNext',
  ]
  args.push('--strict', '--skipLibCheck', '--types', 'node', join(root, 'test/fixtures/decorators/service.ts'))
  if (mode === 'legacy') args.push('--experimentalDecorators')
  await run(process.execPath, args, { cwd: root })
  return (await import(join(outDir, 'test/fixtures/decorators/service.js'))) as Fixture
}

describe.each(['standard', 'legacy'] as const)('@cachedMethod with %s decorators', (mode) => {
  let fixture: Fixture
  beforeAll(async () => {
    fixture = await compiled[mode]
  }, 60_000)
  afterAll(async () => fixture?.cache.close())

  it('caches a method by class, name and arguments, with the right `this`', async () => {
    const { UserService, calls, cache } = fixture
    const users = new UserService('users')
    expect(await users.byId(1)).toBe('users/1')
    expect(await users.byId(1)).toBe('users/1')
    expect(await new UserService('other').byId(1)).toBe('users/1') // shared across instances by default
    expect(calls.filter((c) => c === 'byId(1)')).toHaveLength(1)
    expect(await cache.get('UserService.byId(1)')).toBe('users/1')
  })

  it('uses a key function and a lazily resolved cache', async () => {
    const { UserService, calls, cache } = fixture
    const users = new UserService('people')
    expect(await users.search({ name: 'ada', active: true })).toEqual(['people:ada'])
    expect(await users.search({ active: true, name: 'ada' })).toEqual(['people:ada'])
    expect(calls.filter((c) => c === 'search(ada)')).toHaveLength(1)
    expect(await cache.get('search:ada:true')).toEqual(['people:ada'])
  })

  it('caches static methods, with the class as `this`', async () => {
    const { UserService, calls } = fixture
    expect(await UserService.version()).toBe('v-UserService')
    expect(await UserService.version()).toBe('v-UserService')
    expect(calls.filter((c) => c === 'version')).toHaveLength(1)
  })
})
