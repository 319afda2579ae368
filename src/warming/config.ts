/**
 * Warm configs: a module whose default export is one job, an array of jobs, or `defineWarmConfig({ jobs,
 * cache?, redis? })`. `loadWarmConfig(file)` imports one (`.js`, `.mjs`, `.cjs` or `.ts`): TypeScript with
 * Node's own type stripping where it has it (Node 22.18+, 23.6+), otherwise with jiti, an optional peer
 * dependency (`npm install -D jiti`), or any loader already registered (`node --import tsx`).
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { pathToFileURL } from 'node:url'
import type { Cache, CacheOptions } from '../index.js'
import { describe } from '../seam.js'
import { WarmConfigError } from './errors.js'
import { defineWarmJob, type WarmJob } from './job.js'

/** How the `warm-cache` command gets the cache to warm. */
export type WarmCacheSource =
  Cache | CacheOptions | ((context: { redis: string | undefined }) => Cache | Promise<Cache>)

export interface WarmConfig {
  /** The jobs, each made with `defineWarmJob`. Names must differ. */
  jobs: ReadonlyArray<WarmJob<unknown, unknown>>
  /**
   * The cache to warm (the namespace your app reads): a cache, a function making one (given the Redis URL of
   * `--redis` / `REDIS_URL` / `redis`), or options for one the command makes, with `l1: false` unless you say.
   * @default { namespace: 'default' } on the Redis URL given
   */
  cache?: WarmCacheSource
  /** Redis URL used when neither `--redis` nor `REDIS_URL` gives one. */
  redis?: string
  /** Called by `warm-cache` once its runs are over (close your database pool here). */
  close?: () => void | Promise<void>
}

/** Validates a config (job names unique) and returns it, typed. */
export function defineWarmConfig(config: WarmConfig): WarmConfig {
  return normalizeConfig(config, 'config')
}

/** The default export of a config module as a config. @throws WarmConfigError naming `file`. */
export function normalizeConfig(exported: unknown, file: string): WarmConfig {
  let config: WarmConfig
  if (Array.isArray(exported)) config = { jobs: exported as WarmConfig['jobs'] }
  else if (typeof exported === 'object' && exported !== null && 'jobs' in exported) config = exported as WarmConfig
  else if (typeof exported === 'object' && exported !== null && 'keys' in exported)
    config = { jobs: [exported as WarmJob<unknown, unknown>] }
  else
    throw new WarmConfigError(
      file,
      `expected a default export of a job, an array of jobs or defineWarmConfig({ jobs }), got ${describe(exported)}`,
    )
  if (!Array.isArray(config.jobs) || config.jobs.length === 0)
    throw new WarmConfigError(file, `expected \`jobs\` to be a non-empty array, got ${describe(config.jobs)}`)
  const jobs: Array<WarmJob<unknown, unknown>> = []
  const names = new Set<string>()
  for (const job of config.jobs) {
    let checked: WarmJob<unknown, unknown>
    try {
      checked = defineWarmJob(job)
    } catch (error) {
      throw new WarmConfigError(file, (error as Error).message, { cause: error })
    }
    if (names.has(checked.name)) throw new WarmConfigError(file, `two jobs are named "${checked.name}"`)
    names.add(checked.name)
    jobs.push(checked)
  }
  if (config.close !== undefined && typeof config.close !== 'function')
    throw new WarmConfigError(file, `expected \`close\` to be a function, got ${describe(config.close)}`)
  if (config.redis !== undefined && typeof config.redis !== 'string')
    throw new WarmConfigError(file, `expected \`redis\` to be a URL, got ${describe(config.redis)}`)
  const cache = config.cache
  if (cache !== undefined && typeof cache !== 'function' && (typeof cache !== 'object' || cache === null))
    throw new WarmConfigError(
      file,
      `expected \`cache\` to be a cache, a function or cache options, got ${describe(cache)}`,
    )
  return { ...config, jobs }
}

/** How a config module is imported; replaceable in tests. */
export interface ConfigImporters {
  /** Native `import()`. */
  native: (url: string) => Promise<unknown>
  /** jiti's `import`, or undefined when jiti is not installed. */
  jiti: () => Promise<((file: string) => Promise<unknown>) | undefined>
  /** True when this Node strips TypeScript types by itself. */
  stripsTypes: boolean
}

export const defaultImporters: ConfigImporters = {
  native: (url) => import(url),
  jiti: loadJiti,
  stripsTypes: Boolean((process.features as { typescript?: unknown }).typescript),
}

const TYPESCRIPT = /\.[cm]?ts$/

/**
 * Imports a config module and returns its config.
 * @throws WarmConfigError when the file is missing, fails to load (its own error is the `cause`), needs jiti
 *   that is not installed, or exports no jobs.
 */
export async function loadWarmConfig(file: string, importers: ConfigImporters = defaultImporters): Promise<WarmConfig> {
  const path = resolve(file)
  if (!existsSync(path)) throw new WarmConfigError(file, 'no such file')
  const url = pathToFileURL(path).href
  let module: unknown
  try {
    if (!TYPESCRIPT.test(path) || importers.stripsTypes) module = await importers.native(url)
    else module = await importTypeScript(path, url, file, importers)
  } catch (error) {
    if (error instanceof WarmConfigError) throw error
    throw new WarmConfigError(file, `cannot load it: ${error instanceof Error ? error.message : String(error)}`, {
      cause: error,
    })
  }
  const exported = (module as { default?: unknown } | null)?.default
  return normalizeConfig(exported, file)
}

/** A `.ts` config on a Node that does not strip types: jiti if installed, else a loader already registered. */
async function importTypeScript(path: string, url: string, file: string, importers: ConfigImporters): Promise<unknown> {
  const jiti = await importers.jiti()
  if (jiti !== undefined) return { default: await jiti(path) }
  try {
    return await importers.native(url)
  } catch (error) {
    if ((error as { code?: unknown }).code !== 'ERR_UNKNOWN_FILE_EXTENSION') throw error
    throw new WarmConfigError(
      file,
      `loading a TypeScript config on Node ${process.versions.node} needs jiti: npm install --save-dev jiti ` +
        '(or use a .js/.mjs config, or Node 22.18 or later)',
    )
  }
}

async function loadJiti(): Promise<((file: string) => Promise<unknown>) | undefined> {
  let mod: { createJiti: (from: string, options?: object) => { import(id: string, o?: object): Promise<unknown> } }
  try {
    mod = (await import('jiti')) as typeof mod
  } catch (error) {
    if ((error as { code?: unknown }).code === 'ERR_MODULE_NOT_FOUND') return undefined
    throw error
  }
  const jiti = mod.createJiti(import.meta.url, { interopDefault: true })
  return (path) => jiti.import(path, { default: true })
}
