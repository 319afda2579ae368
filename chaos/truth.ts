/**
 * The source of truth of a chaos run, held by the harness: a version per entity that only grows (an
 * app's database row). A writer bumps the version first, then writes the cache, as an app updates its
 * database and then its cache. Writes of one entity are serialized (a row lock): two writes of a key
 * never overlap, so "acknowledged later" means "newer", and a stale read is unambiguous.
 */
export class Truth {
  readonly #versions = new Map<string, number>()
  readonly #tails = new Map<string, Promise<void>>()
  readonly #reads = new Map<string, number>()
  #next = 0

  /** The current version (0 for an entity never written). */
  version(entity: string): number {
    return this.#versions.get(entity) ?? 0
  }

  /** A database read by a node's factory: counted per entity (stampede checks). */
  read(entity: string): number {
    this.#reads.set(entity, (this.#reads.get(entity) ?? 0) + 1)
    return this.version(entity)
  }

  /** How many factory reads `entity` had. */
  readsOf(entity: string): number {
    return this.#reads.get(entity) ?? 0
  }

  /** A new version of `entity`, higher than every version of every entity so far. */
  bump(entity: string): number {
    const version = ++this.#next
    this.#versions.set(entity, version)
    return version
  }

  /** Runs `fn` holding the write locks of `entities` (taken in sorted order: no deadlock). */
  async locked<T>(entities: readonly string[], fn: () => Promise<T>): Promise<T> {
    const releases: Array<() => void> = []
    for (const entity of [...new Set(entities)].sort()) {
      const before = this.#tails.get(entity) ?? Promise.resolve()
      let release!: () => void
      const mine = new Promise<void>((resolve) => (release = resolve))
      const tail = before.then(() => mine)
      this.#tails.set(entity, tail)
      releases.push(() => {
        release()
        if (this.#tails.get(entity) === tail) this.#tails.delete(entity)
      })
      await before
    }
    try {
      return await fn()
    } finally {
      for (const release of releases) release()
    }
  }
}
