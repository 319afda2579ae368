/**
 * HTTP response caching (tiercache/http): requests per second that autocannon gets from a real server
 * in a child process (so the load generator does not share the server's event loop), for node:http,
 * Express and Fastify, each with three routes answering the same 200-byte page:
 *   constant: the string, no cache at all (the framework's floor);
 *   uncached: a 5 ms simulated query, then the string;
 *   cached:   the uncached route behind tiercache/http (a HIT-L1 once warm).
 * Routes are measured in rotating order, `runs` times each; the ratios are medians of the ratios
 * within each run. Target (issue 16): cached ≥ 0.8x constant. Requests per second depend on the
 * load generator and on whatever else runs on the machine, so the server's own CPU time per request
 * (`process.cpuUsage()` around each measurement, read from `/__cpu`) is reported beside them.
 *
 * Run directly, the file is the server: `node --import tsx bench/scenarios/http.ts serve <redisUrl> <framework>`.
 */
import { spawn } from 'node:child_process'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'
import autocannon from 'autocannon'
import { summarize, type Fact } from '../harness.js'

export const HTTP_FRAMEWORKS = ['node', 'express', 'fastify'] as const
type Framework = (typeof HTTP_FRAMEWORKS)[number]
const ROUTES = ['constant', 'uncached', 'cached'] as const
const PAGE = `<!doctype html><title>Product 42</title><h1>Product 42</h1><p>${'In stock. '.repeat(14)}</p>`
const QUERY_MS = 5

export interface HttpBenchOptions {
  /** Seconds per measurement. */
  duration: number
  runs: number
  connections: number
}

const query = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, QUERY_MS))
const cpu = (): string => {
  const { user, system } = process.cpuUsage()
  return JSON.stringify({ micros: user + system })
}

/** The server side: one app with the three routes, on a free port; prints {port}. */
async function serve(redisUrl: string, framework: Framework): Promise<void> {
  const { createCache } = await import('../../src/index.js')
  const { fastifyResponseCache, responseCache, withResponseCache } = await import('../../src/http/index.js')
  const cache = createCache({ redis: redisUrl, namespace: 'bench-http' })
  await cache.ready()
  const options = { ttl: '10m' } as const
  let port: number
  if (framework === 'fastify') {
    const { default: Fastify } = await import('fastify')
    const app = Fastify()
    await app.register(fastifyResponseCache, { cache })
    app.get('/constant', async (request, reply) => reply.type('text/html').send(PAGE))
    app.get('/__cpu', async () => cpu())
    const page = async (
      request: unknown,
      reply: { type(t: string): { send(p: string): unknown } },
    ): Promise<unknown> => {
      await query()
      return reply.type('text/html').send(PAGE)
    }
    app.get('/uncached', page)
    app.get('/cached', { config: { cache: options } }, page)
    await app.listen({ port: 0, host: '127.0.0.1' })
    port = (app.server.address() as AddressInfo).port
  } else {
    let listener: (req: IncomingMessage, res: ServerResponse) => void
    if (framework === 'express') {
      const { default: express } = await import('express')
      const app = express()
      app.get('/constant', (req, res) => void res.type('html').send(PAGE))
      app.get('/__cpu', (req, res) => void res.send(cpu()))
      const page = async (req: unknown, res: { type(t: string): { send(p: string): unknown } }): Promise<void> => {
        await query()
        res.type('html').send(PAGE)
      }
      app.get('/uncached', page)
      app.get('/cached', responseCache(cache, options), page)
      listener = app
    } else {
      const page = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
        await query()
        res.setHeader('content-type', 'text/html; charset=utf-8')
        res.end(PAGE)
      }
      const cached = withResponseCache(cache, page, options)
      listener = (req, res) => {
        if (req.url === '/cached') return cached(req, res)
        if (req.url === '/uncached') return void page(req, res)
        if (req.url === '/__cpu') return void res.end(cpu())
        res.setHeader('content-type', 'text/html; charset=utf-8')
        res.end(PAGE)
      }
    }
    const server = createServer(listener)
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    port = (server.address() as AddressInfo).port
  }
  process.once('SIGTERM', () => process.exit(0)) // so that `node --cpu-prof` writes its profile
  process.stdout.write(`${JSON.stringify({ port })}\n`)
}

/** Starts the server of `framework` in a child process; resolves with its base URL and a way to stop it. */
async function startServer(redisUrl: string, framework: Framework): Promise<{ base: string; stop: () => void }> {
  const script = fileURLToPath(import.meta.url)
  const child = spawn(process.execPath, ['--import', 'tsx', script, 'serve', redisUrl, framework], {
    stdio: ['ignore', 'pipe', 'inherit'],
  })
  const port = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout })
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port))
    child.once('exit', (code) => reject(new Error(`the ${framework} bench server exited (${code})`)))
  })
  return { base: `http://127.0.0.1:${port}`, stop: () => void child.kill('SIGKILL') }
}

async function serverMicros(base: string): Promise<number> {
  return ((await (await fetch(`${base}/__cpu`)).json()) as { micros: number }).micros
}

/** Requests per second on `route`, and the server's CPU time per request (µs). */
async function measure(
  base: string,
  route: string,
  options: HttpBenchOptions,
  duration = options.duration,
): Promise<{ rps: number; cpu: number }> {
  const before = await serverMicros(base)
  const url = `${base}/${route}`
  const result = await autocannon({ url, connections: options.connections, duration, pipelining: 1 })
  const micros = (await serverMicros(base)) - before
  if (result.errors > 0 || result.non2xx > 0)
    throw new Error(`http bench: ${url} answered ${result.non2xx} non-2xx and ${result.errors} errors`)
  return { rps: result.requests.average, cpu: micros / result.requests.total }
}

/** Measures the three routes of each framework; one fact per framework. */
export async function httpScenario(redisUrl: string, options: HttpBenchOptions): Promise<Fact[]> {
  const facts: Fact[] = []
  for (const framework of HTTP_FRAMEWORKS) {
    const { base, stop } = await startServer(redisUrl, framework)
    try {
      // Premise: the cached route answers from L1 once warm.
      await fetch(`${base}/cached`)
      const probe = await fetch(`${base}/cached`)
      if (probe.headers.get('x-cache') !== 'HIT-L1')
        throw new Error(`http bench: ${framework} /cached answered X-Cache ${probe.headers.get('x-cache')}`)
      for (const route of ROUTES) await measure(base, route, options, 1) // warm-up
      const samples = new Map<string, number[]>(ROUTES.map((route) => [route, []]))
      const cpuSamples = new Map<string, number[]>(ROUTES.map((route) => [route, []]))
      for (let run = 0; run < options.runs; run++) {
        for (let j = 0; j < ROUTES.length; j++) {
          const route = ROUTES[(run + j) % ROUTES.length] as string
          const { rps, cpu } = await measure(base, route, options)
          samples.get(route)?.push(rps)
          cpuSamples.get(route)?.push(cpu)
        }
      }
      const median = (route: string, from = samples): number => summarize(from.get(route) ?? []).median
      const ratio = (a: string, b: string): number =>
        summarize((samples.get(a) ?? []).map((value, i) => value / ((samples.get(b) ?? [])[i] as number))).median
      facts.push({
        id: `http/${framework}`,
        title: `HTTP ${framework}: requests/s, autocannon ${options.connections} connections (${options.runs} × ${options.duration} s)`,
        contender: 'tiercache',
        values: {
          constant: Math.round(median('constant')),
          uncached: Math.round(median('uncached')),
          cached: Math.round(median('cached')),
          cachedVsConstant: ratio('cached', 'constant'),
          cachedVsUncached: ratio('cached', 'uncached'),
          cpuMicrosConstant: median('constant', cpuSamples),
          cpuMicrosCached: median('cached', cpuSamples),
          cpuMicrosUncached: median('uncached', cpuSamples),
        },
      })
    } finally {
      stop()
    }
  }
  return facts
}

if (process.argv[1] === fileURLToPath(import.meta.url) && process.argv[2] === 'serve') {
  serve(process.argv[3] as string, process.argv[4] as Framework).catch((error: unknown) => {
    console.error(error)
    process.exit(1)
  })
}
