// Loaded with `node --import` (NODE_OPTIONS, set by vitest.config.ts) when TIERCACHE_IOREDIS=5: every process the
// tests start (workers, the demo, fixtures) then resolves `ioredis` to ioredis 5, like the test files themselves.
import { register } from 'node:module'

register('./hooks.mjs', import.meta.url)
