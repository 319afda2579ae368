/**
 * Placeholders that README's ```ts blocks use without declaring them (see test/readme/readme.test.ts): a cache made
 * elsewhere in the app, the app's records and its data source. Anything else a block needs, it declares itself
 * (`declare const pricing: { fetch(id: number): Promise<number> }`). A block that makes its own `cache` or `db`
 * shadows these.
 */
declare const cache: import('tiercache').Cache

interface Product {
  id: number
  name: string
  price: bigint
  updated: Date
}

interface User {
  id: number
  name: string
}

declare const db: {
  product(id: number): Promise<Product>
  products: { search(query: { q: string; page: number }): Promise<Product[]> }
  users: { find(id: number): Promise<User> }
}
