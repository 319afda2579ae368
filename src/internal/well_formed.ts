/**
 * Whether `text` is well-formed UTF-16 (no lone surrogate). Keys and tags go to Redis as UTF-8, where every lone
 * surrogate becomes U+FFFD, so `"a\uD800"` and `"a\uDBFF"` would be two keys in L1 and one in Redis: such strings
 * are refused. (`String.prototype.isWellFormed` is in Node 20+; the ES2023 lib this package compiles with does not
 * declare it.)
 */
import { describe } from './describe.js'

export function isWellFormed(text: string): boolean {
  return (text as unknown as { isWellFormed(): boolean }).isWellFormed()
}

/** The TypeError for a key or tag that is not well-formed. */
export function notWellFormed(what: 'key' | 'tag', text: string): TypeError {
  return new TypeError(
    `Expected \`${what}\` to be well-formed UTF-16 (it holds a lone surrogate, which Redis would store as U+FFFD), got ${describe(text)}`,
  )
}
