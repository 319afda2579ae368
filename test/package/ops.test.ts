/**
 * The operations entry points as a user installs them (the packed tarball in a fresh project): tiercache/health,
 * tiercache/prometheus and tiercache/otel resolve, the root import loads none of their optional peers (a resolve
 * hook refuses every peer, and the root still loads while the subpaths that need one do not), and the `tiercache`
 * bin is shipped.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, inject, it } from 'vitest'
import { exec } from '../support/exec.js'
import { USER_ENV } from './fresh_project.js'

const fixture = inject('package')
const PEERS = ['prom-client', '@opentelemetry/api', 'express', 'fastify', 'express-session', '@fastify/session', 'jiti']

/** A module that refuses to resolve any optional peer, then imports `specifier` and prints its export names. */
function probe(specifier: string): string {
  const hook = `export async function resolve(specifier, context, next) {
    if (${JSON.stringify(PEERS)}.some((p) => specifier === p || specifier.startsWith(p + '/')))
      throw new Error('refused peer ' + specifier)
    return next(specifier, context)
  }`
  return `import { register } from 'node:module'
register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}))
try {
  const names = Object.keys(await import(${JSON.stringify(specifier)})).sort()
  console.log(JSON.stringify({ names }))
} catch (error) {
  console.log(JSON.stringify({ error: error.message }))
}`
}

async function load(specifier: string): Promise<{ names?: string[]; error?: string }> {
  const ran = await exec(process.execPath, ['--input-type=module', '-e', probe(specifier)], {
    cwd: fixture.ioredis6,
    env: USER_ENV,
  })
  expect(ran.code, ran.stderr).toBe(0)
  return JSON.parse(ran.stdout) as { names?: string[]; error?: string }
}

describe('the operations entry points of the installed package', () => {
  it('the root and tiercache/health load without any optional peer; the exporters need theirs', async () => {
    const [root, health, prometheus, otel] = await Promise.all([
      load('tiercache'),
      load('tiercache/health'),
      load('tiercache/prometheus'),
      load('tiercache/otel'),
    ])
    expect(root.names).toContain('createCache')
    expect(health.names).toEqual(
      expect.arrayContaining(['healthHandler', 'livenessHandler', 'fastifyHealthPlugin', 'drainOnSignal']),
    )
    expect(prometheus.error).toMatch(/refused peer prom-client/)
    expect(otel.error).toMatch(/refused peer @opentelemetry\/api/)
  })

  it('with their peers installed, the exporters resolve to the build', async () => {
    const ran = await exec(
      process.execPath,
      [
        '--input-type=module',
        '-e',
        `const p = await import('tiercache/prometheus'); const o = await import('tiercache/otel')
console.log(JSON.stringify([typeof p.registerMetrics, typeof o.instrument, import.meta.resolve('tiercache/otel')]))`,
      ],
      { cwd: fixture.ioredis6, env: USER_ENV },
    )
    const [register, instrument, resolved] = JSON.parse(ran.stdout) as string[]
    expect([register, instrument]).toEqual(['function', 'function'])
    expect(resolved).toMatch(/node_modules\/tiercache\/dist\/otel\/index\.js$/)
  })

  it('ships the tiercache bin', async () => {
    const installed = join(fixture.ioredis6, 'node_modules/tiercache')
    const { bin } = JSON.parse(readFileSync(join(installed, 'package.json'), 'utf8')) as { bin: Record<string, string> }
    const ran = await exec(process.execPath, [join(installed, bin.tiercache as string), '--version'], {
      cwd: fixture.ioredis6,
      env: USER_ENV,
    })
    expect(ran).toMatchObject({ code: 0, stdout: expect.stringMatching(/^\d+\.\d+\.\d+\n$/) })
  })
})
