/**
 * The arguments of `tiercache`, parsed with node:util `parseArgs` (strict: an unknown flag is an error). Every
 * problem is a `UsageError` with one line naming the flag or the command, printed before exiting with code 2.
 */
import { parseArgs } from 'node:util'
import { duration, plain, redisUrl, UsageError } from '../internal/cli.js'

export const USAGE = `Usage: tiercache <command> [options]

Looks at and acts on a tiercache namespace in Redis. Deletes, tag invalidations and clears reach the L1 of every
live server through the invalidation bus, as the same calls made by the application do.

Commands:
  health                    PING Redis, check the bus; exit 1 unless ok
  stats                     keys of the namespace, servers listening on the bus, Redis's hit ratio
  get <key>                 print the value at <key> (JSON)
  delete <key...>           delete keys, on every server
  invalidate-tags <tag...>  invalidate every entry written with one of the tags, on every server
  clear --namespace <ns> --yes
                            delete every key of the namespace, on every server

Options:
      --redis <url>         Redis URL (default: $REDIS_URL)
  -n, --namespace <ns>      the cache's namespace (default: default)
      --prefix <prefix>     the cache's key prefix (default: tc)
      --codec <codec>       msgpack or json, as the application's cache (default: msgpack)
      --timeout <dur>       how long Redis may take per command (default: 2s)
      --json                print one JSON document on stdout
      --yes                 confirm a clear
  -h, --help                print this help
  -v, --version             print the version

Exit codes: 0 done (health: ok); 1 Redis failed or did not answer (health: degraded or down); 2 bad usage.`

export type Command = 'health' | 'stats' | 'get' | 'delete' | 'invalidate-tags' | 'clear'

export interface CommandLine {
  help: boolean
  version: boolean
  command: Command
  /** Keys (get, delete) or tags (invalidate-tags). */
  items: string[]
  redis: string
  namespace: string | undefined
  prefix: string | undefined
  codec: 'msgpack' | 'json'
  timeout: number
  json: boolean
}

const ARITY: Record<Command, [min: number, max: number, what: string]> = {
  health: [0, 0, ''],
  stats: [0, 0, ''],
  get: [1, 1, '<key>'],
  delete: [1, Infinity, '<key...>'],
  'invalidate-tags': [1, Infinity, '<tag...>'],
  clear: [0, 0, ''],
}

/** @throws UsageError for an unknown command or flag, a missing value or a bad one. */
export function parseCommandLine(argv: readonly string[], env: NodeJS.ProcessEnv): CommandLine | 'help' | 'version' {
  let parsed: ReturnType<typeof parse>
  try {
    parsed = parse(argv)
  } catch (error) {
    throw new UsageError(plain((error as Error).message))
  }
  const { values, positionals } = parsed
  if (values.help === true) return 'help'
  if (values.version === true) return 'version'
  const [name, ...items] = positionals
  if (name === undefined)
    throw new UsageError('expects a command: health, stats, get, delete, invalidate-tags or clear')
  if (!Object.hasOwn(ARITY, name)) throw new UsageError(`unknown command "${name}" (see tiercache --help)`)
  const command = name as Command
  const [min, max, what] = ARITY[command]
  if (items.length < min || items.length > max)
    throw new UsageError(
      what === '' ? `${command} takes no arguments, got "${items.join(' ')}"` : `${command} expects ${what}`,
    )
  if (items.some((item) => item === '')) throw new UsageError(`${command} expects non-empty ${what}`)
  if (command === 'clear') {
    if (values.namespace === undefined)
      throw new UsageError('clear expects --namespace <ns>: name the namespace to clear')
    if (values.yes !== true)
      throw new UsageError(`clear deletes every key of namespace "${values.namespace}" on every server: add --yes`)
  }
  const redis = redisUrl(values.redis) ?? fromEnv(env.REDIS_URL)
  if (redis === undefined) throw new UsageError('no Redis: pass --redis <url> or set REDIS_URL')
  const codec = values.codec ?? 'msgpack'
  if (codec !== 'msgpack' && codec !== 'json') throw new UsageError(`--codec expects msgpack or json, got "${codec}"`)
  return {
    help: false,
    version: false,
    command,
    items,
    redis,
    namespace: values.namespace,
    prefix: values.prefix,
    codec,
    timeout: duration(values.timeout, '--timeout') ?? 2000,
    json: values.json === true,
  }
}

function fromEnv(value: string | undefined): string | undefined {
  if (value === undefined || value === '') return undefined
  if (!/^rediss?:\/\/\S+$/.test(value)) throw new UsageError(`REDIS_URL is not a redis:// or rediss:// URL: "${value}"`)
  return value
}

function parse(argv: readonly string[]) {
  return parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: true,
    options: {
      redis: { type: 'string' },
      namespace: { type: 'string', short: 'n' },
      prefix: { type: 'string' },
      codec: { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean' },
      yes: { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
      version: { type: 'boolean', short: 'v' },
    },
  })
}
