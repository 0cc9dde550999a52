/**
 * Adapts core's authenticated StateTree to the app's KVStore interface. The tree is the state of
 * the last committed block (plus, during block building, nothing: the block's writes sit in an
 * Overlay until the block is final).
 */
import { type KVStore, keyString } from '@pulsemesh/app'
import type { StateTree } from '@pulsemesh/core'

export class TreeStore implements KVStore {
  readonly tree: StateTree
  constructor(tree: StateTree) {
    this.tree = tree
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.tree.get(key) ?? undefined
  }
  /** See KVStore.getTransient: the tree's own bytes (mempool admission reads nonces and fee balances). */
  getTransient(key: Uint8Array): Uint8Array | undefined {
    return this.tree.peekByKeyString(keyString(key))
  }
  /**
   * An overlay's read with the key string it already made (the tree indexes leaves by the same
   * string); `transient` reads hand out the tree's own bytes (see KVStore.getTransient).
   */
  getKeyed(ks: string, _key?: Uint8Array, transient = false): Uint8Array | undefined {
    return transient ? this.tree.peekByKeyString(ks) : this.tree.getByKeyString(ks)
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.tree.set(key, value)
  }
  delete(key: Uint8Array): void {
    this.tree.delete(key)
  }
}
