export { createCache } from './cache/create_cache.js'
export { Cache, type SetManyEntry } from './cache/cache.js'
export type { CacheHealth, HealthStatus } from './cache/introspection.js'
export { cached, type CachedFunction, type CachedOptions } from './wrappers/cached.js'
export { cachedMethod, type CacheSource, type CachedMethodDecorator } from './wrappers/decorators.js'
export type {
  CacheOptions,
  BusOptions,
  L1Options,
  L2Options,
  SetOptions,
  GetOrSetOptions,
  CounterOptions,
  WriteErrorPolicy,
} from './cache/options.js'
export { msgpackCodec, jsonCodec, type Codec } from './codec/codec.js'
export * from './errors.js'
export type { Duration } from './internal/duration.js'
export type { CacheEvents, CacheEventName, CacheListener } from './observability/events.js'
export type { CacheStats, StaleReason } from './observability/stats.js'
export type { RedisCommandMessage, TraceMessage, TracedOperation } from './observability/tracing.js'
export type { RedisClient, RedisInput } from './redis/connection.js'
export { DEFAULTS } from './cache/defaults.js'
