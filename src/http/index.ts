/**
 * `tiercache/http`: HTTP response caching over the tiers, for Express, Fastify and node:http.
 * See README, "HTTP response caching", and ARCHITECTURE.md, "HTTP response caching".
 */
export { responseCache, type ExpressMiddleware, type ExpressRequest } from './express.js'
export {
  fastifyResponseCache,
  type FastifyRequestLike,
  type FastifyResponseCacheOptions,
  type FastifyResponseCachePlugin,
  type FastifyRouteCacheConfig,
} from './fastify.js'
export { withResponseCache, type NodeResponseCacheOptions, type RequestListener } from './node.js'
export type { ResponseCacheOptions, HttpErrorInfo, TagHeaderOptions } from './options.js'
export {
  neverCache,
  patchCacheControl,
  patchVary,
  type CacheControlDirectives,
  type HeaderTarget,
} from './cache_control.js'
export { REVALIDATION_HEADER } from './synthetic.js'
