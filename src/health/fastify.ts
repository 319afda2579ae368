/**
 * Fastify: route handlers and a plugin registering both probes. Structural types (no import of fastify), so
 * `tiercache/health` loads without it. Fastify answers HEAD for these GET routes itself, without a body.
 */
import { describe } from '../seam.js'
import { readinessCheck, type CacheOrCaches, type HealthCheckOptions } from './check.js'
import { livenessCheck, type LivenessOptions } from './liveness.js'

interface ReplyLike {
  code(status: number): ReplyLike
  header(name: string, value: string): ReplyLike
}

interface InstanceLike {
  get(path: string, handler: (request: unknown, reply: ReplyLike) => Promise<unknown>): unknown
}

/** A Fastify route handler answering with the JSON body. */
export type FastifyHealthHandler = (request: unknown, reply: ReplyLike) => Promise<Record<string, unknown>>

/** Readiness as a Fastify route handler (`fastify.get('/health', fastifyHealth(cache))`); see `healthHandler`. */
export function fastifyHealth(cacheOrCaches: CacheOrCaches, options?: HealthCheckOptions): FastifyHealthHandler {
  const check = readinessCheck(cacheOrCaches, options)
  return async (_request, reply) => {
    const report = await check()
    reply.code(report.httpStatus).header('cache-control', 'no-store')
    return report.body
  }
}

/** Liveness as a Fastify route handler; see `livenessHandler`. */
export function fastifyLiveness(options?: LivenessOptions): FastifyHealthHandler {
  const check = livenessCheck(options)
  return async (_request, reply) => {
    const report = check()
    reply.code(report.httpStatus).header('cache-control', 'no-store')
    return report.body
  }
}

/** Options of `fastifyHealthPlugin`. */
export interface FastifyHealthPluginOptions extends HealthCheckOptions, LivenessOptions {
  /** The cache, or caches, whose health readiness reports. */
  caches: CacheOrCaches
  /** Where readiness answers. @default '/health/ready' */
  path?: string
  /** Where liveness answers. @default '/health/live' */
  livenessPath?: string
}

/**
 * A Fastify plugin registering readiness and liveness routes (GET and HEAD):
 * `fastify.register(fastifyHealthPlugin, { caches: cache })`.
 */
export async function fastifyHealthPlugin(fastify: InstanceLike, options: FastifyHealthPluginOptions): Promise<void> {
  if (typeof options !== 'object' || options === null)
    throw new TypeError(`Expected options with \`caches\`, got ${describe(options)}`)
  const { caches, path = '/health/ready', livenessPath = '/health/live', ...rest } = options
  for (const [name, value] of [
    ['path', path],
    ['livenessPath', livenessPath],
  ] as const)
    if (typeof value !== 'string' || !value.startsWith('/'))
      throw new TypeError(`Expected \`${name}\` to be a path starting with '/', got ${describe(value)}`)
  const { requireL2, timeout, maxEventLoopDelay } = rest
  fastify.get(path, fastifyHealth(caches, { requireL2, timeout }))
  fastify.get(livenessPath, fastifyLiveness({ maxEventLoopDelay }))
}
