/** What a user installs: `tiercache/http` resolves to the build, and loads neither Express nor Fastify. */
import { readdirSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const dist = fileURLToPath(new URL('../../dist/', import.meta.url))

describe('tiercache/http package', () => {
  it('resolves `tiercache/http` to dist/http with the documented exports', async () => {
    const mod = (await import('tiercache/http')) as Record<string, unknown>
    for (const name of [
      'responseCache',
      'fastifyResponseCache',
      'withResponseCache',
      'patchCacheControl',
      'neverCache',
      'patchVary',
    ])
      expect(typeof mod[name], name).toBe('function')
  })

  it('imports no framework at run time, and the root export does not import tiercache/http', () => {
    for (const file of readdirSync(`${dist}http`).filter((f) => f.endsWith('.js'))) {
      const source = readFileSync(`${dist}http/${file}`, 'utf8')
      expect(source, file).not.toMatch(/from ['"](express|fastify|@fastify\/[^'"]+)['"]/)
    }
    expect(readFileSync(`${dist}index.js`, 'utf8')).not.toMatch(/http\//)
  })
})
