/**
 * Every default of the core in one place: the option resolvers read it, TSDoc `@default` tags and
 * README quote it. Durations are in the form users write them.
 */
export const DEFAULTS = Object.freeze({
  namespace: 'default',
  prefix: 'tc',
  ttl: '30m',
  l1: Object.freeze({ maxEntries: 10_000, maxBytes: 64 * 1024 * 1024, ttl: 0 }),
  l2: Object.freeze({
    timeout: 500,
    onWriteError: 'throw',
    localTtl: '5s',
    breaker: Object.freeze({ threshold: 5, cooldown: '1s' }),
    replicaLag: '1s',
    replicaTimeout: '50ms',
  }),
  bus: Object.freeze({ maxStaleness: '1s', maxQueue: 10_000, maxRetryDelay: '2s', heartbeat: '1s', sharded: false }),
  codec: 'msgpack',
  maxValueBytes: 1024 * 1024,
  maxKeyBytes: 1024,
  getOrSet: Object.freeze({ lockTimeout: '5s', jitter: 0, grace: 0, leaseTtl: '1m' }),
  readyTimeout: '5s',
  healthTimeout: '1s',
} as const)
