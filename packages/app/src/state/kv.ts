/**
 * The state a module sees: a byte-keyed map. The root store is the authenticated StateTree from
 * core; on top of it the executor stacks overlays (one per block, one per tx) so that a failing tx
 * leaves nothing behind and a block's writes become one changeset for storage.
 */
export interface KVStore {
  get(key: Uint8Array): Uint8Array | undefined
  set(key: Uint8Array, value: Uint8Array): void
  delete(key: Uint8Array): void
  /**
   * Optional fast path: `get` for a key whose `keyString` the caller already computed (an overlay
   * asking its parent), so stacked stores convert each key once. `transient`: as `getTransient`.
   */
  getKeyed?(ks: string, key: Uint8Array, transient?: boolean): Uint8Array | undefined
  /**
   * Optional: `get` that may return the store's own bytes instead of a copy. Read the value at once
   * and drop it: never keep, modify or write it back (the next write may change it in place). For
   * hot decoders (balances, nonces) that only read a number out.
   */
  getTransient?(key: Uint8Array): Uint8Array | undefined
}

/** Binary key -> JS string (one char per byte): a cheap, exact Map key. */
export function keyString(key: Uint8Array): string {
  // Keys are short (< 300 bytes), well under the argument-count limit of apply.
  return String.fromCharCode.apply(null, key as unknown as number[])
}
export function keyBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

/** Writes buffered over a parent store; `null` marks a delete. */
export class Overlay implements KVStore {
  readonly parent: KVStore
  private readonly writes = new Map<string, Uint8Array | null>()
  constructor(parent: KVStore) {
    this.parent = parent
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.getKeyed(keyString(key), key, false)
  }
  getTransient(key: Uint8Array): Uint8Array | undefined {
    return this.getKeyed(keyString(key), key, true)
  }
  getKeyed(ks: string, key: Uint8Array, transient = false): Uint8Array | undefined {
    const w = this.writes.get(ks)
    if (w !== undefined) return w ?? undefined
    const p = this.parent
    return p.getKeyed !== undefined ? p.getKeyed(ks, key, transient) : p.get(key)
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.writes.set(keyString(key), value)
  }
  delete(key: Uint8Array): void {
    this.writes.set(keyString(key), null)
  }
  /**
   * Pushes every buffered write into the parent. Into another Overlay the map entries move as they
   * are (nothing there observes their order: its own changeset is read through `sortedWrites`);
   * into any other store in sorted key order (determinism).
   */
  commit(): void {
    const p = this.parent
    if (p instanceof Overlay) {
      const into = p.writes
      this.writes.forEach((v, k) => {
        into.set(k, v)
      })
    } else {
      for (const [k, v] of this.sortedWrites()) {
        if (v === null) p.delete(keyBytes(k))
        else p.set(keyBytes(k), v)
      }
    }
    this.writes.clear()
  }
  discard(): void {
    this.writes.clear()
  }
  get size(): number {
    return this.writes.size
  }
  /** The buffered writes sorted by key bytes: a block's changeset for storage. */
  sortedWrites(): [string, Uint8Array | null][] {
    // One char per byte, so string order is byte order.
    return [...this.writes.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  }
}

/** A plain in-memory store (tests, genesis dry-runs). */
export class MemoryStore implements KVStore {
  readonly map = new Map<string, Uint8Array>()
  get(key: Uint8Array): Uint8Array | undefined {
    return this.map.get(keyString(key))
  }
  getKeyed(ks: string): Uint8Array | undefined {
    return this.map.get(ks)
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.map.set(keyString(key), value)
  }
  delete(key: Uint8Array): void {
    this.map.delete(keyString(key))
  }
}
