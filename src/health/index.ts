/**
 * `tiercache/health`: readiness and liveness for load balancers and orchestrators (node:http, Express, Fastify),
 * and draining before shutdown. See README, "Health checks".
 */
export {
  beginShutdown,
  cancelShutdown,
  checkHealth,
  isShuttingDown,
  type CacheOrCaches,
  type HealthCheckOptions,
  type HealthReport,
  type ReadinessStatus,
} from './check.js'
export { type LivenessOptions, type LivenessReport } from './liveness.js'
export { healthHandler, livenessHandler, type HealthRequestHandler } from './node.js'
export {
  fastifyHealth,
  fastifyHealthPlugin,
  fastifyLiveness,
  type FastifyHealthHandler,
  type FastifyHealthPluginOptions,
} from './fastify.js'
export { drainOnSignal, type DrainOptions } from './drain.js'
