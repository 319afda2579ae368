/**
 * Chaos for one ioredis client: holds the replies of chosen commands until the test releases
 * them, so a test can force an interleaving (a read in flight while a write lands) without sleeps.
 */
import type { Redis } from 'ioredis'
import type { Cache } from '../../src/index.js'
import { busOf } from './make_cache.js'
import type { RedisServer } from './redis_server.js'

export interface Gate {
  /** Resolves when a held command has been sent and its reply is being held. */
  readonly held: Promise<void>
  /** Lets the held replies through. */
  release(): void
  /** Stops holding new commands and restores the client. */
  restore(): void
}

export function holdReplies(client: Redis, commands: ReadonlyArray<'getBuffer' | 'mgetBuffer'>): Gate {
  let release!: () => void
  const released = new Promise<void>((resolve) => (release = resolve))
  let markHeld!: () => void
  const held = new Promise<void>((resolve) => (markHeld = resolve))
  const originals = new Map<string, unknown>()
  for (const name of commands) {
    const original = client[name] as (...args: unknown[]) => Promise<unknown>
    originals.set(name, original)
    Object.defineProperty(client, name, {
      configurable: true,
      writable: true,
      value: async (...args: unknown[]) => {
        const reply = await original.apply(client, args)
        markHeld()
        await released
        return reply
      },
    })
  }
  return {
    held,
    release,
    restore() {
      for (const name of commands) delete (client as unknown as Record<string, unknown>)[name]
    },
  }
}

/**
 * Holds the reply of the next Lua script call (EVALSHA/EVAL) `client` makes once armed: the command reaches Redis
 * and is applied, but the caller sees the reply only after `release()`. Forces "a write in flight".
 */
export function holdNextScriptReply(client: Redis): Gate & { arm(): void } {
  let armed = false
  let release!: () => void
  let released = new Promise<void>((resolve) => (release = resolve))
  let markHeld!: () => void
  let held = new Promise<void>((resolve) => (markHeld = resolve))
  const names = ['evalsha', 'eval'] as const
  for (const name of names) {
    const original = client[name] as (...args: unknown[]) => Promise<unknown>
    Object.defineProperty(client, name, {
      configurable: true,
      writable: true,
      value: async (...args: unknown[]) => {
        if (!armed) return original.apply(client, args)
        armed = false
        const gate = released
        const done = markHeld
        try {
          return await original.apply(client, args)
        } finally {
          done()
          await gate
        }
      },
    })
  }
  return {
    get held() {
      return held
    },
    arm() {
      armed = true
      released = new Promise<void>((resolve) => (release = resolve))
      held = new Promise<void>((resolve) => (markHeld = resolve))
    },
    release: () => release(),
    restore() {
      for (const name of names) delete (client as unknown as Record<string, unknown>)[name]
    },
  }
}

/**
 * Holds the bus messages a cache made on `client` receives (patch `client` before creating the cache: the bus
 * subscriber is a duplicate of it). While held, messages queue up; `release()` delivers them in order.
 */
export function holdBusMessages(client: Redis): { hold(): void; release(): void } {
  let holding = false
  const queued: Array<() => void> = []
  const duplicate = client.duplicate.bind(client)
  client.duplicate = ((...args: Parameters<Redis['duplicate']>) => {
    const sub = duplicate(...args)
    const emit = sub.emit.bind(sub)
    sub.emit = ((event: string | symbol, ...payload: unknown[]) => {
      if (holding && event === 'pmessageBuffer') {
        queued.push(() => emit(event, ...payload))
        return true
      }
      return emit(event, ...payload)
    }) as typeof sub.emit
    return sub
  }) as typeof client.duplicate
  return {
    hold() {
      holding = true
    },
    release() {
      holding = false
      for (const deliver of queued.splice(0)) deliver()
    },
  }
}

/** Kills a cache's bus subscriber connection only (found by its connection name), as a network fault would. */
export async function killSubscriber(server: RedisServer, cache: Cache): Promise<void> {
  const name = `tiercache-bus-${busOf(cache).origin.toString('hex')}`
  const list = await server.cli('client', 'list')
  const id = list
    .split('\n')
    .find((line) => line.includes(`name=${name} `))
    ?.match(/id=(\d+)/)?.[1]
  if (id === undefined) throw new Error(`no client named ${name}`)
  if ((await server.cli('client', 'kill', 'id', id)) !== '1') throw new Error(`could not kill client ${id}`)
}
