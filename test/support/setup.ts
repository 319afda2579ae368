/** Runs before every test file: caches made with test/support/make_cache.ts are closed after each test. */
import { afterEach } from 'vitest'
import { closeAll } from './make_cache.js'

afterEach(closeAll)
