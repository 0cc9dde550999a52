/**
 * The authenticated key-value state of a network: a sparse radix-16 Merkle trie over
 * keyPath = SHA-256(key), with leaf compression (a subtree holding one key is just that key's leaf,
 * placed at the shallowest depth where its path prefix is unique), as in Diem's Jellyfish Merkle
 * Tree. Unlike JMT, an internal node is hashed in ONE SHA-256 over its child bitmap and its
 * non-empty child hashes (layout in state-hashing.ts): fewer hash calls per update, larger proofs.
 *
 * The shape depends only on the set of keys, so the root is independent of insertion order.
 *
 * Hot path: `set` only records the new value and marks the path dirty (one bit per node on the path);
 * `root()` then hashes each dirty node exactly once, so a block's writes cost one leaf hash per
 * written key plus one hash per touched internal node. Internal nodes keep their hash preimage
 * (0x01 || bitmap || child hashes) in a slot of a shared slab (node-slab.ts), updated in place, and
 * digests are written straight into it (HashIntoFn), so hashing allocates no buffers. A Map from the
 * key's bytes (as a latin1 string) to its leaf makes updates of existing keys hash-free until
 * `root()`. Key paths are kept as 32-char latin1 strings: compact on-heap values instead of 32-byte
 * off-heap buffers.
 *
 * Rollback: an undo journal (see `snapshot`). Writes are journaled only while a snapshot is open.
 */
import { PulseError } from '../errors.ts'
import { type HashFn, type HashIntoFn, hashIntoOf, sha256Into } from './hash.ts'
import { NodeSlab, SLOT_CAPACITIES, slotClassFor } from './node-slab.ts'
import {
  DOMAIN_INTERNAL,
  DOMAIN_LEAF_HASHED,
  DOMAIN_LEAF_INLINE,
  emptyStateRoot,
  popcount16,
  STATE_INLINE_VALUE_MAX_BYTES,
  STATE_KEY_MAX_BYTES,
  STATE_MAX_DEPTH,
  STATE_VALUE_MAX_BYTES,
} from './state-hashing.ts'
import type { StateProof, StateProofLeaf, StateProofLevel } from './state-proof.ts'

export interface StateTreeOptions {
  /**
   * The SHA-256 implementation (default: the shared crypto backend's). Only for speed, e.g. a
   * node:crypto one in benchmarks: any other function gives roots nobody else can verify.
   */
  hash?: HashFn
  /** Same, in the allocation-free form (wins over `hash`). Default: the backend's `sha256Into` if any. */
  hashInto?: HashIntoFn
  /** Max journaled writes while snapshots are open (default 4,194,304). */
  journalMaxEntries?: number
  /** Max snapshots open at once (default 65,536). */
  snapshotsMax?: number
}

export const STATE_JOURNAL_MAX_ENTRIES_DEFAULT = 1 << 22
export const STATE_SNAPSHOTS_MAX_DEFAULT = 1 << 16

class Leaf {
  /** The Map key: the key bytes as a latin1 string (one char per byte). */
  readonly k: string
  /** SHA-256(key) as a 32-char latin1 string. */
  readonly p: string
  value: Uint8Array
  /** SHA-256(value), cached for long values only (null = not computed yet). */
  vh: Uint8Array | null
  /** The internal node holding this leaf (null at the root) and the child slot (nibble) it sits in. */
  parent: Internal | null
  slot: number
  constructor(k: string, p: string, value: Uint8Array) {
    this.k = k
    this.p = p
    this.value = value
    this.vh = null
    this.parent = null
    this.slot = 0
  }
}

class Internal {
  /** Bit i set = child slot i non-empty. */
  bitmap: number
  /** Bits of children whose hash in the preimage is stale. */
  dirty: number
  /** Non-empty children in slot order. */
  kids: Node[]
  /** Slab slot holding the hash preimage 0x01 || u16be(bitmap) || child hashes in slot order. */
  mem: Uint8Array
  off: number
  /** Slot class (capacity SLOT_CAPACITIES[cls]). */
  cls: number
  /** As for Leaf: the parent node and the child slot this node sits in. */
  parent: Internal | null
  slot: number
  /** A new node: every child dirty; the caller links it into its parent. */
  constructor(bitmap: number, kids: Node[], slab: NodeSlab) {
    this.bitmap = bitmap
    this.dirty = bitmap
    this.kids = kids
    this.parent = null
    this.slot = 0
    this.cls = slotClassFor(kids.length)
    this.off = slab.alloc(this.cls)
    this.mem = slab.chunk
    writeHeader(this)
  }
}

type Node = Leaf | Internal

interface JournalEntry {
  k: string
  p: string
  /** The value before the write; null = the key was absent. */
  prev: Uint8Array | null
}

function writeHeader(n: Internal): void {
  n.mem[n.off] = DOMAIN_INTERNAL
  n.mem[n.off + 1] = n.bitmap >> 8
  n.mem[n.off + 2] = n.bitmap & 0xff
}

/** Nibble `d` of a path held as a 32-char latin1 string. */
function nib(p: string, d: number): number {
  const b = p.charCodeAt(d >> 1)
  return (d & 1) === 0 ? b >> 4 : b & 15
}

/** Add child `c` at slot `slot` (empty before). The caller marks it dirty (#markUp). */
function insertChild(n: Internal, slot: number, c: Node, slab: NodeSlab): void {
  const bit = 1 << slot
  const r = popcount16(n.bitmap & (bit - 1))
  const count = n.kids.length
  n.bitmap |= bit
  n.kids.splice(r, 0, c)
  c.parent = n
  c.slot = slot
  const at = n.off + 3
  if (count + 1 > SLOT_CAPACITIES[n.cls]) {
    const cls = n.cls + 1
    const off = slab.alloc(cls)
    const mem = slab.chunk
    mem.set(n.mem.subarray(at, at + 32 * r), off + 3)
    mem.set(n.mem.subarray(at + 32 * r, at + 32 * count), off + 3 + 32 * (r + 1))
    slab.free(n.cls, n.mem, n.off)
    n.mem = mem
    n.off = off
    n.cls = cls
  } else {
    n.mem.copyWithin(at + 32 * (r + 1), at + 32 * r, at + 32 * count)
  }
  writeHeader(n)
}

/** Remove the child at slot bit `bit` (present before). The slot keeps its capacity. */
function removeChild(n: Internal, bit: number): void {
  const r = popcount16(n.bitmap & (bit - 1))
  const count = n.kids.length
  n.bitmap &= ~bit
  n.dirty &= ~bit
  n.kids.splice(r, 1)
  const at = n.off + 3
  n.mem.copyWithin(at + 32 * r, at + 32 * (r + 1), at + 32 * count)
  writeHeader(n)
}

function preimage(n: Internal): Uint8Array {
  return n.mem.subarray(n.off, n.off + 3 + 32 * n.kids.length)
}

/** Key bytes -> Map key. One UTF-16 unit per byte: injective and cheap for ≤ 256 bytes. */
function keyString(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[])
}

/** Inverse of keyString (also turns a path string back into bytes). */
function keyBytes(k: string): Uint8Array {
  const out = new Uint8Array(k.length)
  for (let i = 0; i < k.length; i++) out[i] = k.charCodeAt(i)
  return out
}

function checkKey(key: Uint8Array): void {
  if (!(key instanceof Uint8Array)) throw new PulseError('STATE_INVALID_ARGUMENT', 'key must be a Uint8Array')
  if (key.length > STATE_KEY_MAX_BYTES) {
    throw new PulseError('STATE_KEY_TOO_LARGE', `key is ${key.length} bytes, max ${STATE_KEY_MAX_BYTES}`, {
      length: key.length,
      max: STATE_KEY_MAX_BYTES,
    })
  }
}

/** A key string (one char 0..255 per key byte) within the key size limit. */
function checkKeyString(k: string): void {
  if (typeof k !== 'string') throw new PulseError('STATE_INVALID_ARGUMENT', 'key must be a string')
  if (k.length > STATE_KEY_MAX_BYTES) {
    throw new PulseError('STATE_KEY_TOO_LARGE', `key is ${k.length} bytes, max ${STATE_KEY_MAX_BYTES}`, {
      length: k.length,
      max: STATE_KEY_MAX_BYTES,
    })
  }
}

function checkValue(value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) {
    throw new PulseError('STATE_INVALID_ARGUMENT', 'value must be a Uint8Array')
  }
  if (value.length > STATE_VALUE_MAX_BYTES) {
    throw new PulseError(
      'STATE_VALUE_TOO_LARGE',
      `value is ${value.length} bytes, max ${STATE_VALUE_MAX_BYTES}`,
      {
        length: value.length,
        max: STATE_VALUE_MAX_BYTES,
      },
    )
  }
}

/**
 * An owned, plain copy. Not `value.slice()`: on a Node Buffer (what LevelDB hands out) slice() is a
 * view of the caller's memory, which the tree would then share and overwrite in place.
 */
function copyBytes(b: Uint8Array): Uint8Array {
  return new Uint8Array(b)
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export class StateTree {
  readonly #hashInto: HashIntoFn
  readonly #journalMax: number
  readonly #snapshotsMax: number
  readonly #leaves = new Map<string, Leaf>()
  readonly #slab = new NodeSlab()
  #root: Node | null = null
  #rootHash: Uint8Array = emptyStateRoot()
  #rootDirty = false
  /** Undo log of writes made while a snapshot is open. */
  #journal: JournalEntry[] = []
  /** Open snapshots, oldest first: [token, journal length when taken]. */
  #snapshots: [number, number][] = []
  #nextToken = 1
  /** Bumped by every write; iterators check it. */
  #version = 0
  /** Leaf preimage scratch (1 + 32 + up to 64 bytes) and its prefixes by length (no per-hash views). */
  readonly #scratch = new Uint8Array(1 + 32 + STATE_INLINE_VALUE_MAX_BYTES)
  readonly #scratchViews: Uint8Array[] = []
  readonly #pathScratch = new Uint8Array(32)

  constructor(opts: StateTreeOptions = {}) {
    const { hash, hashInto } = opts
    if (
      (hash !== undefined && typeof hash !== 'function') ||
      (hashInto !== undefined && typeof hashInto !== 'function')
    ) {
      throw new PulseError('STATE_INVALID_ARGUMENT', 'hash / hashInto must be functions')
    }
    this.#hashInto = hashInto ?? (hash !== undefined ? hashIntoOf(hash) : sha256Into)
    this.#journalMax = opts.journalMaxEntries ?? STATE_JOURNAL_MAX_ENTRIES_DEFAULT
    this.#snapshotsMax = opts.snapshotsMax ?? STATE_SNAPSHOTS_MAX_DEFAULT
    for (const [name, v] of [
      ['journalMaxEntries', this.#journalMax],
      ['snapshotsMax', this.#snapshotsMax],
    ] as const) {
      if (!Number.isSafeInteger(v) || v < 0) {
        throw new PulseError('STATE_INVALID_ARGUMENT', `${name} must be a non-negative integer`, {
          [name]: v,
        })
      }
    }
    for (let len = 0; len <= this.#scratch.length; len++)
      this.#scratchViews.push(this.#scratch.subarray(0, len))
  }

  /**
   * Build a tree from (key, value) pairs in any order (e.g. a LevelDB scan at startup): hashes the
   * keys, builds the trie by partitioning the leaves nibble by nibble (a radix sort: no per-key walks
   * from the root, no comparisons) and hashes every node once. Throws
   * STATE_DUPLICATE_KEY, STATE_PATH_COLLISION, and the size errors of `set`.
   */
  static fromEntries(
    entries: Iterable<readonly [Uint8Array, Uint8Array]>,
    opts?: StateTreeOptions,
  ): StateTree {
    const t = new StateTree(opts)
    const leaves: Leaf[] = []
    for (const [key, value] of entries) {
      checkKey(key)
      checkValue(value)
      leaves.push(new Leaf(keyString(key), t.#pathOf(key), copyBytes(value)))
    }
    if (leaves.length > 0) {
      t.#root = t.#build(leaves, new Array<Leaf>(leaves.length), 0, leaves.length, 0, new Int32Array(32 * 65))
    }
    for (const l of leaves) t.#leaves.set(l.k, l)
    t.#version++
    t.#rootDirty = true
    t.root()
    return t
  }

  /** Number of keys. */
  get size(): number {
    return this.#leaves.size
  }

  has(key: Uint8Array): boolean {
    checkKey(key)
    return this.#leaves.has(keyString(key))
  }

  /** A copy of the value stored under `key`, or undefined. */
  get(key: Uint8Array): Uint8Array | undefined {
    checkKey(key)
    return this.#leaves.get(keyString(key))?.value.slice()
  }

  /**
   * `get` by the key's bytes as a string of one char (0..255) per byte, the form the tree indexes
   * leaves by (and @pulsemesh/app's `keyString` makes): overlays above the tree already hold it.
   */
  getByKeyString(k: string): Uint8Array | undefined {
    checkKeyString(k)
    return this.#leaves.get(k)?.value.slice()
  }

  /**
   * The stored bytes themselves, not a copy: valid only until the next write (a same-length set
   * overwrites them in place). For callers that decode the value at once and keep nothing
   * (@pulsemesh/app's `KVStore.getTransient`); never modify the result.
   */
  peekByKeyString(k: string): Uint8Array | undefined {
    checkKeyString(k)
    return this.#leaves.get(k)?.value
  }

  /** Store a copy of `value` under `key`. Throws STATE_KEY_TOO_LARGE / STATE_VALUE_TOO_LARGE / STATE_JOURNAL_FULL. */
  set(key: Uint8Array, value: Uint8Array): void {
    checkKey(key)
    this.#set(keyString(key), key, value)
  }

  /**
   * `set` by key string (see getByKeyString): a block's changeset is applied without converting
   * keys back. Returns the byte length of the value replaced, -1 if the key was absent (storage
   * quotas count state bytes without reading values out).
   */
  setByKeyString(k: string, value: Uint8Array): number {
    checkKeyString(k)
    return this.#set(k, null, value)
  }

  /** `delete` by key string (see getByKeyString). Returns the removed value's length, -1 if absent. */
  deleteByKeyString(k: string): number {
    checkKeyString(k)
    const leaf = this.#leaves.get(k)
    if (leaf === undefined) return -1
    const old = leaf.value.length
    this.#journalWrite(k, leaf.p, leaf.value)
    this.#remove(leaf)
    return old
  }

  /** `key` is the bytes of `k` when the caller has them, else null (made only for a new key's path). */
  #set(k: string, key: Uint8Array | null, value: Uint8Array): number {
    checkValue(value)
    const leaf = this.#leaves.get(k)
    if (leaf !== undefined) {
      const old = leaf.value.length
      if (equalBytes(leaf.value, value)) return old
      if (this.#snapshots.length === 0 && leaf.value.length === value.length) {
        // Nobody else holds the stored bytes (get/prove/entries hand out copies, no journal is
        // open): overwrite in place rather than allocate, which keeps block updates GC-free.
        leaf.value.set(value)
        this.#update(leaf, leaf.value)
      } else {
        this.#journalWrite(k, leaf.p, leaf.value)
        this.#update(leaf, copyBytes(value))
      }
      return old
    }
    const p = this.#pathOf(key ?? keyBytes(k))
    this.#journalWrite(k, p, null)
    this.#insertNew(k, p, copyBytes(value))
    return -1
  }

  /** Remove `key`; returns whether it was present. Throws STATE_JOURNAL_FULL. */
  delete(key: Uint8Array): boolean {
    checkKey(key)
    const k = keyString(key)
    const leaf = this.#leaves.get(k)
    if (leaf === undefined) return false
    this.#journalWrite(k, leaf.p, leaf.value)
    this.#remove(leaf)
    return true
  }

  /** The 32-byte root, hashing every node changed since the last call (each once). */
  root(): Uint8Array {
    if (this.#rootDirty) {
      const r = this.#root
      const h = new Uint8Array(32) // stays all-zero for the empty tree
      if (r instanceof Leaf) this.#leafHashInto(r, h, 0)
      else if (r !== null) {
        this.#rehash(r)
        this.#hashInto(preimage(r), h, 0)
      }
      this.#rootHash = h
      this.#rootDirty = false
    }
    return this.#rootHash.slice()
  }

  /**
   * A proof for `key` against `root()`: membership if present, otherwise non-membership (the path
   * ends in an empty slot, or in another key's leaf). Check it with `verifyStateProof`.
   */
  prove(key: Uint8Array): StateProof {
    checkKey(key)
    this.root()
    const own = this.#leaves.get(keyString(key))
    const path = own !== undefined ? own.p : this.#pathOf(key)
    const levels: StateProofLevel[] = []
    let n = this.#root
    let d = 0
    while (n instanceof Internal) {
      const bit = 1 << nib(path, d)
      const present = (n.bitmap & bit) !== 0
      const r = popcount16(n.bitmap & (bit - 1))
      const siblings: Uint8Array[] = []
      for (let j = 0; j < n.kids.length; j++) {
        if (present && j === r) continue
        siblings.push(n.mem.slice(n.off + 3 + 32 * j, n.off + 35 + 32 * j))
      }
      levels.push({ bitmap: n.bitmap, siblings })
      if (!present) return { levels, otherLeaf: null }
      n = n.kids[r]
      d++
    }
    if (n === null || n === own) return { levels, otherLeaf: null }
    return { levels, otherLeaf: this.#proofLeaf(n) }
  }

  /**
   * All entries in tree order: ascending SHA-256(key), the canonical order for state snapshots.
   * Keys and values are fresh copies. Throws STATE_MODIFIED_DURING_ITERATION if the tree changes.
   */
  *entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    const version = this.#version
    const stack: Node[] = this.#root === null ? [] : [this.#root]
    while (stack.length > 0) {
      const n = stack.pop()!
      if (n instanceof Leaf) {
        const out: [Uint8Array, Uint8Array] = [keyBytes(n.k), n.value.slice()]
        yield out
        if (this.#version !== version) {
          throw new PulseError('STATE_MODIFIED_DURING_ITERATION', 'the state tree changed during entries()')
        }
      } else {
        for (let i = n.kids.length - 1; i >= 0; i--) stack.push(n.kids[i])
      }
    }
  }

  /**
   * Open a snapshot: `revert(token)` undoes every write made after it; `release(token)` keeps the
   * writes and forgets the snapshot. Snapshots nest (block, then tx). Cost: one journal entry per
   * write while any snapshot is open; revert replays them backwards. Throws STATE_TOO_MANY_SNAPSHOTS.
   */
  snapshot(): number {
    if (this.#snapshots.length >= this.#snapshotsMax) {
      throw new PulseError('STATE_TOO_MANY_SNAPSHOTS', 'too many open snapshots', { max: this.#snapshotsMax })
    }
    const token = this.#nextToken++
    this.#snapshots.push([token, this.#journal.length])
    return token
  }

  /** Undo all writes since `snapshot()` returned `token`; closes it and every later snapshot. */
  revert(token: number): void {
    const i = this.#snapshotIndex(token)
    const at = this.#snapshots[i][1]
    const j = this.#journal
    for (let e = j.length - 1; e >= at; e--) {
      const { k, p, prev } = j[e]
      const leaf = this.#leaves.get(k)
      if (prev === null) {
        if (leaf !== undefined) this.#remove(leaf)
      } else if (leaf !== undefined) {
        this.#update(leaf, prev)
      } else {
        this.#insertNew(k, p, prev)
      }
    }
    j.length = at
    this.#snapshots.length = i
  }

  /** Keep the writes since `token` and close it (and later snapshots). The journal empties with the last one. */
  release(token: number): void {
    const i = this.#snapshotIndex(token)
    this.#snapshots.length = i
    if (i === 0) this.#journal = []
  }

  /** Number of open snapshots. */
  get openSnapshots(): number {
    return this.#snapshots.length
  }

  /**
   * Check the structural invariants (for tests and debugging, O(n)): every internal node holds ≥ 2
   * keys, no internal node has a lone leaf child, every leaf sits under its own path prefix, the key
   * index matches the trie, slots match bitmaps. Throws STATE_INVARIANT.
   */
  checkInvariants(): void {
    const fail = (msg: string): never => {
      throw new PulseError('STATE_INVARIANT', msg)
    }
    let leaves = 0
    const walk = (n: Node, d: number, prefix: number[]): number => {
      if (n instanceof Leaf) {
        leaves++
        if (d > 0 && n.parent === null) fail('leaf without parent')
        for (let i = 0; i < d; i++) if (nib(n.p, i) !== prefix[i]) fail('leaf outside its path prefix')
        if (this.#leaves.get(n.k) !== n) fail('key index does not point at this leaf')
        return 1
      }
      if (d >= STATE_MAX_DEPTH) fail('internal node too deep')
      if (n.bitmap === 0 || n.bitmap > 0xffff) fail('bad bitmap')
      if (popcount16(n.bitmap) !== n.kids.length) fail('bitmap does not match children')
      if (n.kids.length > SLOT_CAPACITIES[n.cls] || n.mem[n.off] !== DOMAIN_INTERNAL) fail('bad node slot')
      if (((n.mem[n.off + 1] << 8) | n.mem[n.off + 2]) !== n.bitmap) fail('slot bitmap stale')
      if (n.kids.length === 1 && n.kids[0] instanceof Leaf) fail('internal node with a lone leaf child')
      if ((n.dirty & ~n.bitmap) !== 0) fail('dirty bit on an empty slot')
      if (n.dirty !== 0) {
        if (n.parent !== null && (n.parent.dirty & (1 << n.slot)) === 0) fail('dirty node under a clean slot')
        if (n.parent === null && !this.#rootDirty) fail('dirty root node under a clean root')
      }
      let count = 0
      let slot = 0
      for (let i = 0; i < 16; i++) {
        if ((n.bitmap & (1 << i)) === 0) continue
        prefix[d] = i
        const c: Node = n.kids[slot++]
        if (c.parent !== n || c.slot !== i) fail('bad parent link')
        count += walk(c, d + 1, prefix)
      }
      if (count < 2) fail('internal node holds fewer than 2 keys')
      return count
    }
    if (this.#root !== null) {
      if (this.#root.parent !== null) fail('root has a parent')
      walk(this.#root, 0, [])
    }
    if (leaves !== this.#leaves.size) fail('key index size differs from the trie')
  }

  // ---- internals ----

  /** SHA-256(key) as a 32-char latin1 string. */
  #pathOf(key: Uint8Array): string {
    this.#hashInto(key, this.#pathScratch, 0)
    return keyString(this.#pathScratch)
  }

  #snapshotIndex(token: number): number {
    const s = this.#snapshots
    for (let i = s.length - 1; i >= 0; i--) if (s[i][0] === token) return i
    throw new PulseError('STATE_UNKNOWN_SNAPSHOT', 'snapshot token is not open', { token })
  }

  #journalWrite(k: string, p: string, prev: Uint8Array | null): void {
    if (this.#snapshots.length === 0) return
    if (this.#journal.length >= this.#journalMax) {
      throw new PulseError('STATE_JOURNAL_FULL', 'too many writes under open snapshots', {
        max: this.#journalMax,
      })
    }
    this.#journal.push({ k, p, prev })
  }

  /**
   * Mark child `slot` of `n` stale, then n's own slot in its parent, and so on up. Stops at the first
   * bit already set: every write marks its whole path and root() clears whole dirty paths, so a set
   * bit means everything above it is marked too. Within a block the upper levels are marked by the
   * first writes, so a typical update touches one or two nodes here instead of the full path.
   */
  #markUp(n: Internal | null, slot: number): void {
    this.#rootDirty = true
    while (n !== null) {
      const bit = 1 << slot
      if ((n.dirty & bit) !== 0) return
      n.dirty |= bit
      slot = n.slot
      n = n.parent
    }
  }

  /** New value for an existing leaf: mark its path dirty (no hashing until root()). */
  #update(leaf: Leaf, value: Uint8Array): void {
    leaf.value = value
    leaf.vh = null
    this.#version++
    this.#markUp(leaf.parent, leaf.slot)
  }

  #insertNew(k: string, p: string, value: Uint8Array): void {
    const leaf = new Leaf(k, p, value)
    this.#version++
    const root = this.#root
    if (root === null) {
      this.#root = leaf
      this.#rootDirty = true
    } else if (root instanceof Leaf) {
      this.#root = this.#split(root, leaf, 0)
      this.#rootDirty = true
    } else {
      let n = root
      let d = 0
      for (;;) {
        const slot = nib(p, d)
        const bit = 1 << slot
        if ((n.bitmap & bit) === 0) {
          insertChild(n, slot, leaf, this.#slab)
          this.#markUp(n, slot)
          break
        }
        const r = popcount16(n.bitmap & (bit - 1))
        const c = n.kids[r]
        if (c instanceof Leaf) {
          const sub = this.#split(c, leaf, d + 1)
          n.kids[r] = sub
          sub.parent = n
          sub.slot = slot
          this.#markUp(n, slot)
          break
        }
        n = c
        d++
      }
    }
    this.#leaves.set(k, leaf)
  }

  /**
   * The subtree at depth `d` over leaves[lo, hi) (all sharing d nibbles), unlinked: a lone leaf,
   * else an internal node. Partitions the range by nibble d in place (counting sort through `tmp`);
   * `scratch` holds 16 counts + 16 cursors per depth. Every new node starts dirty.
   */
  #build(leaves: Leaf[], tmp: Leaf[], lo: number, hi: number, d: number, scratch: Int32Array): Node {
    if (hi - lo === 1) return leaves[lo]
    if (d === STATE_MAX_DEPTH) {
      // ≥ 2 leaves with the same 64-nibble path: the same key twice, or a SHA-256 collision.
      if (leaves[lo].k === leaves[lo + 1].k) {
        throw new PulseError('STATE_DUPLICATE_KEY', 'duplicate key in entries', {
          keyLength: leaves[lo].k.length,
        })
      }
      throw new PulseError('STATE_PATH_COLLISION', 'two keys have the same key path')
    }
    const cnt = d * 32
    const cur = cnt + 16
    scratch.fill(0, cnt, cnt + 16)
    for (let i = lo; i < hi; i++) scratch[cnt + nib(leaves[i].p, d)]++
    let bitmap = 0
    for (let k = 0, at = lo; k < 16; k++) {
      scratch[cur + k] = at
      at += scratch[cnt + k]
      if (scratch[cnt + k] > 0) bitmap |= 1 << k
    }
    for (let i = lo; i < hi; i++) tmp[scratch[cur + nib(leaves[i].p, d)]++] = leaves[i]
    for (let i = lo; i < hi; i++) leaves[i] = tmp[i]
    const kids: Node[] = []
    for (let k = 0, at = lo; k < 16; k++) {
      const n = scratch[cnt + k]
      if (n === 0) continue
      const c = this.#build(leaves, tmp, at, at + n, d + 1, scratch)
      c.slot = k
      kids.push(c)
      at += n
    }
    const node = new Internal(bitmap, kids, this.#slab)
    for (const c of kids) c.parent = node
    return node
  }

  /** The subtree at depth `d` holding exactly the two leaves `a` (existing) and `b` (new); unlinked. */
  #split(a: Leaf, b: Leaf, d: number): Internal {
    let k = d
    while (k < STATE_MAX_DEPTH && nib(a.p, k) === nib(b.p, k)) k++
    if (k === STATE_MAX_DEPTH) {
      // Two keys with the same SHA-256: not expected in this universe; refuse rather than corrupt.
      throw new PulseError('STATE_PATH_COLLISION', 'two keys have the same key path')
    }
    const na = nib(a.p, k)
    const nb = nib(b.p, k)
    let node = new Internal((1 << na) | (1 << nb), na < nb ? [a, b] : [b, a], this.#slab)
    a.parent = node
    a.slot = na
    b.parent = node
    b.slot = nb
    for (let j = k - 1; j >= d; j--) {
      const up = new Internal(1 << nib(b.p, j), [node], this.#slab)
      node.parent = up
      node.slot = nib(b.p, j)
      node = up
    }
    node.parent = null
    node.slot = 0
    return node
  }

  #remove(leaf: Leaf): void {
    this.#version++
    this.#leaves.delete(leaf.k)
    let n = leaf.parent
    if (n === null) {
      this.#root = null
      this.#rootDirty = true
      return
    }
    removeChild(n, 1 << leaf.slot)
    leaf.parent = null
    // A node left holding one key must become that key's leaf (canonical shape); this can cascade
    // up a chain of single-child nodes.
    let changedSlot = -1
    while (n.kids.length === 1 && n.kids[0] instanceof Leaf) {
      const only = n.kids[0]
      const g: Internal | null = n.parent
      this.#slab.free(n.cls, n.mem, n.off)
      only.parent = g
      only.slot = n.slot
      if (g === null) {
        only.slot = 0
        this.#root = only
        this.#rootDirty = true
        return
      }
      g.kids[popcount16(g.bitmap & ((1 << n.slot) - 1))] = only
      changedSlot = n.slot
      n = g
    }
    // Either n lost a child (its own hash changes) or a child slot of n now holds a lifted leaf.
    if (changedSlot < 0) this.#markUp(n.parent, n.slot)
    else this.#markUp(n, changedSlot)
  }

  /** The leaf hash per state-hashing.ts (preimage built in a scratch buffer) into out[off..off+32). */
  #leafHashInto(leaf: Leaf, out: Uint8Array, off: number): void {
    const s = this.#scratch
    const p = leaf.p
    for (let i = 0; i < 32; i++) s[1 + i] = p.charCodeAt(i)
    const v = leaf.value
    if (v.length <= STATE_INLINE_VALUE_MAX_BYTES) {
      s[0] = DOMAIN_LEAF_INLINE
      s.set(v, 33)
      this.#hashInto(this.#scratchViews[33 + v.length], out, off)
      return
    }
    s[0] = DOMAIN_LEAF_HASHED
    s.set(this.#valueHash(leaf), 33)
    this.#hashInto(this.#scratchViews[65], out, off)
  }

  #valueHash(leaf: Leaf): Uint8Array {
    if (leaf.vh === null) {
      const vh = new Uint8Array(32)
      this.#hashInto(leaf.value, vh, 0)
      leaf.vh = vh
    }
    return leaf.vh
  }

  /** Bring n's preimage up to date: rehash every dirty child (depth-first), each once. */
  #rehash(n: Internal): void {
    let m = n.dirty
    if (m === 0) return
    const bm = n.bitmap
    const kids = n.kids
    const mem = n.mem
    const at = n.off + 3
    while (m !== 0) {
      const bit = m & -m
      m ^= bit
      const r = popcount16(bm & (bit - 1))
      const c = kids[r]
      if (c instanceof Leaf) this.#leafHashInto(c, mem, at + 32 * r)
      else {
        this.#rehash(c)
        this.#hashInto(preimage(c), mem, at + 32 * r)
      }
    }
    n.dirty = 0
  }

  #proofLeaf(leaf: Leaf): StateProofLeaf {
    if (leaf.value.length <= STATE_INLINE_VALUE_MAX_BYTES) {
      return { keyPath: keyBytes(leaf.p), inline: true, data: leaf.value.slice() }
    }
    return { keyPath: keyBytes(leaf.p), inline: false, data: this.#valueHash(leaf).slice() }
  }
}
