/**
 * Where a session lives in Redis, derived so that nothing stored there is a usable cookie:
 *
 * - a session is the hash `<prefix>:s:{<h>}`, where `<h>` is the base64url SHA-256 of the session id (an
 *   HMAC-SHA-256 with `secret`): any server with the same options finds it, a key listing or a dump yields no id;
 * - a user's index is the sorted set `<prefix>:u:{<t>}` and its companion hash `<prefix>:u:{<t>}:refs`, where `<t>`
 *   is 16 bytes of the same digest of the user id: both in one hash slot, so one Lua call can update them on a
 *   Redis Cluster;
 * - a `ref` (a session's entry in its user's index) is `<t>` followed by 12 random bytes, base64url: it names the
 *   index it lives in, is stable across `regenerate`, and is not the session id nor derived from it.
 */
import { createHash, createHmac, randomBytes } from 'node:crypto'

/** Length of a user tag (16 bytes, base64url). */
const TAG_LENGTH = 22
/** Length of a ref: the tag, then 12 random bytes (base64url). */
const REF_LENGTH = TAG_LENGTH + 16
const REF_PATTERN = /^[A-Za-z0-9_-]{38}$/

/** A new session id: 24 bytes (192 bits) from the CSPRNG, base64url (32 characters). */
export function newSessionId(): string {
  return randomBytes(24).toString('base64url')
}

/** Digests of the ids seen last: a request loads and saves one id, and an HMAC costs more than a lookup. */
const RECENT_IDS = 1024

export class SessionKeys {
  readonly #prefix: string
  readonly #secret: Buffer | undefined
  readonly #recent = new Map<string, string>()

  constructor(prefix: string, secret: Buffer | undefined) {
    this.#prefix = prefix
    this.#secret = secret
  }

  /** The digest naming a session: 43 base64url characters. */
  hashOf(id: string): string {
    let hash = this.#recent.get(id)
    if (hash === undefined) {
      hash = this.#digest('s', id).toString('base64url')
      if (this.#recent.size >= RECENT_IDS) this.#recent.delete(this.#recent.keys().next().value as string)
      this.#recent.set(id, hash)
    }
    return hash
  }

  /** The Redis key of the session whose digest is `hash`. */
  sessionKey(hash: string): string {
    return `${this.#prefix}:s:{${hash}}`
  }

  /** The tag of a user's index: 22 base64url characters. */
  userTag(userId: string): string {
    return this.#digest('u', userId).subarray(0, 16).toString('base64url')
  }

  /** The user index (sorted set: ref → score) and its companion hash (ref → state + session digest), one slot. */
  indexKeys(tag: string): [string, string] {
    const index = `${this.#prefix}:u:{${tag}}`
    return [index, `${index}:refs`]
  }

  /** A new ref in the index of `tag`. */
  newRef(tag: string): string {
    return tag + randomBytes(12).toString('base64url')
  }

  /** The user tag a ref belongs to, or undefined when `ref` is not one of ours. */
  tagOfRef(ref: unknown): string | undefined {
    if (typeof ref !== 'string' || ref.length !== REF_LENGTH || !REF_PATTERN.test(ref)) return undefined
    return ref.slice(0, TAG_LENGTH)
  }

  /** SCAN patterns: every session key, and every index key, of this prefix. */
  get sessionPattern(): string {
    return `${globEscape(this.#prefix)}:s:*`
  }

  get indexPattern(): string {
    return `${globEscape(this.#prefix)}:u:*`
  }

  #digest(kind: 's' | 'u', value: string): Buffer {
    // Domain separation: a user id equal to some session id does not give the same digest.
    const input = `${kind}\0${value}`
    return this.#secret === undefined
      ? createHash('sha256').update(input, 'utf8').digest()
      : createHmac('sha256', this.#secret).update(input, 'utf8').digest()
  }
}

/** Escapes the glob characters of a SCAN MATCH pattern. */
function globEscape(text: string): string {
  return text.replace(/[*?[\]\\]/g, '\\$&')
}
