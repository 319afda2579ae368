/** @fastify/session on tiercache sessions, over real HTTP (see test/support/sessions_suite.ts for the shared cases). */
import { describe } from 'vitest'
import { adapterSuite } from '../support/sessions_suite.js'

describe('FastifySessionStore', () => {
  adapterSuite('fastify')
})
