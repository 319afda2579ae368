/**
 * Fresh consumer projects for the package tests: the built package, packed with `npm pack`, installed with
 * `npm ci --offline` in a directory outside the repo, laid out as a user's `npm install tiercache ioredis` lays it out.
 *
 * Offline and pinned: each project gets a package-lock.json cut from the repo's own lock (the closure of the packages
 * it needs, with the versions and integrity hashes the repo's tests ran with), so npm takes every tarball from its
 * cache, which the repo's own `npm ci` filled, and contacts no registry.
 */
import { createHash } from 'node:crypto'
import { copyFileSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { execOk } from '../support/exec.js'

export const REPO = fileURLToPath(new URL('../../', import.meta.url))

/**
 * The environment of a user's shell, for every process run in a fresh project: without NODE_OPTIONS, which carries
 * the test runs' own hooks (TIERCACHE_IOREDIS=5 loads one that a user's project must not see).
 */
export const USER_ENV: NodeJS.ProcessEnv = Object.fromEntries(
  Object.entries(process.env).filter(([name]) => name !== 'NODE_OPTIONS'),
)
const CONSUMER_FILES = fileURLToPath(new URL('./consumer/', import.meta.url))

interface LockEntry {
  version: string
  integrity?: string
  resolved?: string
  name?: string
  dependencies?: Record<string, string>
  optionalDependencies?: Record<string, string>
  [field: string]: unknown
}

export interface Manifest {
  name: string
  version: string
  dependencies?: Record<string, string>
  peerDependencies?: Record<string, string>
  exports: Record<string, unknown>
  [field: string]: unknown
}

export interface Packed {
  /** The .tgz file. */
  tarball: string
  /** Its package.json. */
  manifest: Manifest
}

/** `npm pack` of the repo into `dest`. Refuses a missing or stale build: the tests must see what `src/` builds to. */
export async function pack(dest: string): Promise<Packed> {
  checkBuild()
  const { stdout } = await execOk('npm', ['pack', '--json', '--pack-destination', dest], { cwd: REPO, env: USER_ENV })
  const [info] = JSON.parse(stdout) as Array<{ filename: string }>
  if (info === undefined) throw new Error(`npm pack printed no file: ${stdout}`)
  const manifest = JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as Manifest
  return { tarball: join(dest, info.filename), manifest }
}

function checkBuild(): void {
  const built = join(REPO, 'dist/index.js')
  let builtAt: number
  try {
    builtAt = statSync(built).mtimeMs
  } catch {
    throw new Error('dist/ is missing: run `npm run build` before the package tests (`npm test` does)')
  }
  const newest = newestMtime(join(REPO, 'src'))
  if (newest > builtAt) throw new Error('dist/ is older than src/: run `npm run build` before the package tests')
}

function newestMtime(dir: string): number {
  let newest = 0
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    newest = Math.max(newest, entry.isDirectory() ? newestMtime(path) : statSync(path).mtimeMs)
  }
  return newest
}

/** The import specifiers of every entry point in an exports map (`tiercache`, `tiercache/sessions`, …). */
export function entryPoints(manifest: Manifest): string[] {
  return Object.keys(manifest.exports)
    .filter((key) => key !== './package.json' && !key.includes('*'))
    .map((key) => (key === '.' ? manifest.name : `${manifest.name}/${key.slice(2)}`))
}

export interface ProjectOptions {
  /** Where the project's `ioredis` comes from in the repo's lock: `node_modules/ioredis` (6) or `node_modules/ioredis-5`. */
  ioredisFrom: string
  /** The project's package.json `allowScripts` (npm 11's install-script policy). */
  allowScripts?: Record<string, boolean>
}

/**
 * A project in `dir` depending on the packed tiercache, ioredis and @types/node, with the consumer sources
 * (test/package/consumer/) and a generated module importing every entry point; installed with `npm ci --offline`.
 * Resolves with npm's output (install-script notices go to stderr).
 */
export async function createProject(dir: string, packed: Packed, options: ProjectOptions): Promise<string> {
  mkdirSync(dir, { recursive: true })
  const tarball = `file:${relative(dir, packed.tarball)}`
  const lock = repoLock()
  const types = 'node_modules/@types/node'
  const dependencies: Record<string, string> = {
    tiercache: tarball,
    ioredis: entry(lock, options.ioredisFrom).version,
    '@types/node': entry(lock, types).version,
  }
  // The optional peers (express-session for tiercache/sessions/express, …), and their types, as a user of those
  // entry points installs them: every entry point is imported and compiled below.
  const roots: Record<string, string> = { ioredis: options.ioredisFrom, '@types/node': types }
  for (const peer of Object.keys(packed.manifest.peerDependencies ?? {})) {
    if (peer === 'ioredis') continue
    for (const name of [peer, `@types/${peer.replace(/^@(.*)\//, '$1__')}`]) {
      if (lock[`node_modules/${name}`] === undefined) continue
      dependencies[name] = entry(lock, `node_modules/${name}`).version
      roots[name] = `node_modules/${name}`
    }
  }
  const manifest = {
    name: 'consumer',
    version: '1.0.0',
    private: true,
    type: 'module',
    dependencies,
    ...(options.allowScripts !== undefined && { allowScripts: options.allowScripts }),
  }
  for (const name of Object.keys(packed.manifest.dependencies ?? {})) roots[name] = `node_modules/${name}`
  const packages = closure(lock, roots)
  packages['node_modules/tiercache'] = {
    version: packed.manifest.version,
    resolved: tarball,
    integrity: `sha512-${createHash('sha512').update(readFileSync(packed.tarball)).digest('base64')}`,
    license: packed.manifest.license,
    dependencies: packed.manifest.dependencies,
    peerDependencies: packed.manifest.peerDependencies,
    // Without it npm takes the optional peers (express, fastify, jiti…) for required ones and resolves them online.
    peerDependenciesMeta: packed.manifest.peerDependenciesMeta,
  }
  writeFileSync(join(dir, 'package.json'), JSON.stringify(manifest, null, 2))
  writeFileSync(
    join(dir, 'package-lock.json'),
    JSON.stringify({
      name: 'consumer',
      version: '1.0.0',
      lockfileVersion: 3,
      requires: true,
      packages: { '': manifest, ...packages },
    }),
  )
  for (const file of readdirSync(CONSUMER_FILES)) copyFileSync(join(CONSUMER_FILES, file), join(dir, file))
  writeFileSync(join(dir, 'cjs.cjs'), CJS_CONSUMER)
  writeEntryPointModules(dir, entryPoints(packed.manifest))
  const { stdout, stderr } = await execOk('npm', ['ci', '--offline', '--no-audit', '--no-fund'], {
    cwd: dir,
    env: USER_ENV,
    timeout: 120_000,
  })
  return stdout + stderr
}

/**
 * A CommonJS consumer, the counterpart of consumer/esm.mjs (kept here because the repo's lint rules are for ES
 * modules): require()s every entry point of the exports map (Node 20.19+ and 22.12+ load ES modules with require),
 * then uses the cache (L1 only).
 */
const CJS_CONSUMER = `'use strict'
const { exports: map } = require('tiercache/package.json')
const loaded = {}
for (const key of Object.keys(map)) {
  if (key === './package.json') continue
  const specifier = key === '.' ? 'tiercache' : 'tiercache/' + key.slice(2)
  loaded[specifier] = Object.keys(require(specifier)).sort()
}
const { createCache } = require('tiercache')
const cache = createCache()
cache
  .set('k', new Map([[1, 2n]]))
  .then(() => cache.get('k'))
  .then(async (back) => {
    await cache.close()
    console.log(JSON.stringify({ loaded, roundTrip: back instanceof Map && back.get(1) === 2n }))
  })
`

/**
 * entry_points.mts and entry_points.cts: every entry point imported (ESM) and required (CommonJS), so that
 * type-checking a project resolves and checks the declarations of each one, including subpaths added later.
 */
function writeEntryPointModules(dir: string, specifiers: readonly string[]): void {
  const header = '// Generated by test/package/fresh_project.ts: every entry point of the exports map.\n'
  const esm = specifiers.map((s, i) => `export * as entry${i} from '${s}'\n`).join('')
  const cjs =
    specifiers.map((s, i) => `import entry${i} = require('${s}')\n`).join('') +
    `export = { ${specifiers.map((_, i) => `entry${i}`).join(', ')} }\n`
  writeFileSync(join(dir, 'entry_points.mts'), header + esm)
  writeFileSync(join(dir, 'entry_points.cts'), header + cjs)
}

let cachedLock: Record<string, LockEntry> | undefined
function repoLock(): Record<string, LockEntry> {
  cachedLock ??= (
    JSON.parse(readFileSync(join(REPO, 'package-lock.json'), 'utf8')) as { packages: Record<string, LockEntry> }
  ).packages
  return cachedLock
}

function entry(lock: Record<string, LockEntry>, path: string): LockEntry {
  const found = lock[path]
  if (found === undefined) throw new Error(`${path} is not in package-lock.json`)
  return found
}

/**
 * The lock entries a project needs: each root (`name` → its path in the repo's lock), then their dependencies,
 * found as Node finds them (the nearest node_modules upwards), keeping nested copies nested under the new path.
 */
function closure(lock: Record<string, LockEntry>, roots: Record<string, string>): Record<string, LockEntry> {
  const out: Record<string, LockEntry> = {}
  const queue: Array<[to: string, from: string]> = Object.entries(roots).map(([name, from]) => [
    `node_modules/${name}`,
    from,
  ])
  for (let next = queue.shift(); next !== undefined; next = queue.shift()) {
    const [to, from] = next
    if (out[to] !== undefined) continue
    const { dev: _dev, devOptional: _devOptional, peer: _peer, ...kept } = entry(lock, from)
    // The tarball's address, when the lock left it out: npm then takes it from its cache by address, rather than
    // looking the package up in a registry document it may not have cached.
    kept.resolved ??= tarballUrl(kept.name ?? from.slice(from.lastIndexOf('node_modules/') + 13), kept.version)
    out[to] = kept
    const optional = kept.optionalDependencies ?? {}
    for (const name of Object.keys({ ...kept.dependencies, ...optional })) {
      const found = locate(lock, from, name)
      if (found === undefined) {
        if (name in optional) continue // another platform's optional package
        throw new Error(`${name}, a dependency of ${from}, is not in package-lock.json`)
      }
      queue.push([found.startsWith(`${from}/`) ? to + found.slice(from.length) : found, found])
    }
  }
  return out
}

function tarballUrl(name: string, version: string): string {
  const base = name.startsWith('@') ? name.slice(name.indexOf('/') + 1) : name
  return `https://registry.npmjs.org/${name}/-/${base}-${version}.tgz`
}

function locate(lock: Record<string, LockEntry>, from: string, name: string): string | undefined {
  let dir = from
  for (;;) {
    const candidate = `${dir === '' ? '' : `${dir}/`}node_modules/${name}`
    if (lock[candidate] !== undefined) return candidate
    if (dir === '') return undefined
    const parent = dir.lastIndexOf('/node_modules/')
    dir = parent < 0 ? '' : dir.slice(0, parent)
  }
}
