/**
 * Adapts core's authenticated StateTree to the app's KVStore interface. The tree is the state of
 * the last committed block (plus, during block building, nothing: the block's writes sit in an
 * Overlay until the block is final).
 */
import type { KVStore } from '@pulsemesh/app'
import type { StateTree } from '@pulsemesh/core'

export class TreeStore implements KVStore {
  readonly tree: StateTree
  constructor(tree: StateTree) {
    this.tree = tree
  }
  get(key: Uint8Array): Uint8Array | undefined {
    return this.tree.get(key) ?? undefined
  }
  /** An overlay's read with the key string it already made (the tree indexes leaves by the same string). */
  getKeyed(ks: string): Uint8Array | undefined {
    return this.tree.getByKeyString(ks)
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.tree.set(key, value)
  }
  delete(key: Uint8Array): void {
    this.tree.delete(key)
  }
}
