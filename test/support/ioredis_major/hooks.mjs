// Module resolution hook: `ioredis` and `ioredis/…` resolve to the `ioredis-5` devDependency (npm:ioredis@5).
const IOREDIS = /^ioredis(?=$|\/)/

export async function resolve(specifier, context, nextResolve) {
  return nextResolve(IOREDIS.test(specifier) ? specifier.replace(IOREDIS, 'ioredis-5') : specifier, context)
}
