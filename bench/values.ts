/**
 * The value shapes every contender caches: a JSON-compatible record (so the peers' JSON
 * serializers and our msgpack carry the same thing) padded to about 100 B or 10 KB encoded.
 */
import { Packr } from 'msgpackr'

export type ValueSize = '100B' | '10KB'

export const VALUE_SIZES: readonly ValueSize[] = ['100B', '10KB']

const TARGET_BYTES: Record<ValueSize, number> = { '100B': 100, '10KB': 10 * 1024 }

/** The same msgpackr settings as tiercache's default codec: the raw floor encodes with it. */
export function benchPackr(): Packr {
  return new Packr({ structuredClone: true, useBigIntExtension: true, moreTypes: true })
}

export interface BenchValue {
  id: number
  name: string
  price: number
  inStock: boolean
  tags: string[]
  body: string
}

/** A record whose msgpack encoding is `size` (within a few bytes). */
export function makeValue(size: ValueSize): BenchValue {
  const base: BenchValue = {
    id: 4242,
    name: 'product-4242',
    price: 19.99,
    inStock: true,
    tags: ['shop', 'sale'],
    body: '',
  }
  const packr = benchPackr()
  const overhead = packr.pack(base).length
  const pad = Math.max(0, TARGET_BYTES[size] - overhead - 2)
  return { ...base, body: 'x'.repeat(pad) }
}

/** Encoded size of a value with the bench's msgpackr settings. */
export function encodedSize(value: unknown): number {
  return benchPackr().pack(value).length
}
