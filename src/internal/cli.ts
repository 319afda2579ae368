/**
 * What the package's commands (`warm-cache`, `tiercache`) share: the usage error (one line, exit code 2) and the
 * checks of flag values parsed with node:util `parseArgs`.
 * @internal
 */
import { readFileSync } from 'node:fs'
import { parseDuration } from './duration.js'

/** Bad usage: one line, exit code 2. */
export class UsageError extends Error {
  override readonly name = 'UsageError'
}

/** parseArgs' messages, shortened to one line without its advice about `--`. */
export function plain(message: string): string {
  const first = message.split('\n')[0] ?? message
  return first.replace(/\. To specify a positional argument starting with a '-'.*$/, '').replace(/\.$/, '')
}

/** A whole number from 1 and up. */
export function count(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const n = Number(value)
  if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < 1)
    throw new UsageError(`${flag} expects a whole number from 1 and up, got "${value}"`)
  return n
}

/** A duration (`500ms`, `30s`, `10m` or milliseconds), in ms. */
export function duration(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined
  const trimmed = value.trim()
  try {
    return parseDuration(/^\d+(\.\d+)?$/.test(trimmed) ? Number(trimmed) : trimmed, flag)
  } catch {
    throw new UsageError(`${flag} expects a duration such as 500ms, 30s, 10m or 1h, got "${value}"`)
  }
}

/** A redis:// or rediss:// URL. */
export function redisUrl(value: string | undefined): string | undefined {
  if (value === undefined) return undefined
  if (!/^rediss?:\/\/\S+$/.test(value))
    throw new UsageError(`--redis expects a redis:// or rediss:// URL, got "${value}"`)
  return value
}

/** The package's version (from its package.json). */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }
  return pkg.version
}
