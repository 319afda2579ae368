/**
 * Argument checks of the session store's methods. Misuse is a `TypeError` naming the argument; a session id is
 * never echoed back (it is a secret), only its type and length.
 */
import { describe } from '../seam.js'

/** Longest session id accepted (express-session's are 32 characters, ours 32). */
const MAX_ID_LENGTH = 1024

export function checkId(id: unknown, name = 'id'): string {
  if (typeof id === 'string' && id.length > 0 && id.length <= MAX_ID_LENGTH) return id
  const got =
    typeof id === 'string'
      ? `a string of ${id.length} characters`
      : `a value of type ${id === null ? 'null' : typeof id}`
  throw new TypeError(
    `Expected \`${name}\` to be a session id (a string of 1 to ${MAX_ID_LENGTH} characters), got ${got}`,
  )
}

export function checkUserId(userId: unknown, name = 'userId'): string {
  if (typeof userId === 'string' && userId.length > 0) return userId
  throw new TypeError(`Expected \`${name}\` to be a non-empty string, got ${describe(userId)}`)
}

export function checkData(data: unknown, name: string): object {
  if (typeof data === 'object' && data !== null && !Array.isArray(data)) return data
  throw new TypeError(`Expected \`${name}\` to be an object of session fields, got ${describe(data)}`)
}

/** Field names to unset: strings, none of them also set. */
export function checkUnset(unset: unknown, set: object): string[] {
  if (unset === undefined) return []
  if (!Array.isArray(unset) || !unset.every((name) => typeof name === 'string'))
    throw new TypeError(`Expected \`unset\` to be an array of field names, got ${describe(unset)}`)
  for (const name of unset as string[])
    if (Object.hasOwn(set, name))
      throw new TypeError(
        `Expected \`unset\` and \`set\` to name different fields, got ${JSON.stringify(name)} in both`,
      )
  return unset as string[]
}
