/**
 * Chaos for one ioredis client: holds the replies of chosen commands until the test releases
 * them, so a test can force an interleaving (a read in flight while a write lands) without sleeps.
 */
import type { Redis } from 'ioredis'

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
