/** What a user installs: the session subpaths resolve to the build, and neither the root nor `tiercache/sessions` loads a framework. */
import { execFileSync } from 'node:child_process'
import { describe, expect, it } from 'vitest'

describe('sessions package exports', () => {
  it('resolves tiercache/sessions, tiercache/sessions/express and tiercache/sessions/fastify from dist/', async () => {
    const sessions = (await import('tiercache/sessions')) as Record<string, unknown>
    for (const name of [
      'createSessionStore',
      'SessionStore',
      'SessionGoneError',
      'SessionTooLargeError',
      'SESSION_DEFAULTS',
    ])
      expect(sessions[name], name).toBeDefined()
    expect(((await import('tiercache/sessions/express')) as Record<string, unknown>).ExpressSessionStore).toBeTypeOf(
      'function',
    )
    expect(((await import('tiercache/sessions/fastify')) as Record<string, unknown>).FastifySessionStore).toBeTypeOf(
      'function',
    )
  })

  it('importing tiercache or tiercache/sessions loads neither express-session nor fastify', () => {
    const script = `
      import { createRequire } from 'node:module'
      await import('tiercache')
      await import('tiercache/sessions')
      const loaded = Object.keys(createRequire(import.meta.url).cache)
      console.log(JSON.stringify(loaded.filter((f) => /express|fastify/.test(f))))`
    const out = execFileSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
    expect(JSON.parse(out)).toEqual([])
  })
})
