/**
 * Adapts core's authenticated StateTree to the app's KVStore interface. The tree is the state of
 * the last committed block, except while a validated block is held in it (`hide`): then the tree
 * also holds that block's writes under an open snapshot, and reads through this store still answer
 * with the committed values (the ones the block's writes replaced), so admission, queries and
 * execution on the head never see a block that is not committed.
 */
import { type KVStore, keyString } from '@pulsemesh/app'
import type { StateTree } from '@pulsemesh/core'

export class TreeStore implements KVStore {
  readonly tree: StateTree
  /** Committed values of the keys a held block wrote (null = absent before it); undefined = none held. */
  private hidden: Map<string, Uint8Array | null> | undefined
  constructor(tree: StateTree) {
    this.tree = tree
  }
  /**
   * Reads answer `committed` for its keys (values the tree no longer holds; never modified: the
   * tree journals writes under a snapshot instead of overwriting in place). undefined = read the tree as is.
   */
  hide(committed: Map<string, Uint8Array | null> | undefined): void {
    this.hidden = committed
  }
  get(key: Uint8Array): Uint8Array | undefined {
    if (this.hidden !== undefined) return this.getKeyed(keyString(key))
    return this.tree.get(key) ?? undefined
  }
  /** See KVStore.getTransient: the tree's own bytes (mempool admission reads nonces and fee balances). */
  getTransient(key: Uint8Array): Uint8Array | undefined {
    return this.getKeyed(keyString(key), undefined, true)
  }
  /**
   * An overlay's read with the key string it already made (the tree indexes leaves by the same
   * string); `transient` reads hand out the tree's own bytes (see KVStore.getTransient).
   */
  getKeyed(ks: string, _key?: Uint8Array, transient = false): Uint8Array | undefined {
    const h = this.hidden
    if (h !== undefined) {
      const v = h.get(ks)
      if (v !== undefined) return v === null ? undefined : transient ? v : v.slice()
    }
    return transient ? this.tree.peekByKeyString(ks) : this.tree.getByKeyString(ks)
  }
  set(key: Uint8Array, value: Uint8Array): void {
    this.tree.set(key, value)
  }
  delete(key: Uint8Array): void {
    this.tree.delete(key)
  }
}
