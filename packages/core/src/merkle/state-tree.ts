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
 * (0x01 || bitmap || child hashes) in one Uint8Array, updated in place, so hashing a node is a
 * single call on an existing buffer. A Map from the key's bytes (as a latin1 string) to its leaf
 * makes updates of existing keys hash-free until `root()`.
 *
 * Rollback: an undo journal (see `snapshot`). Writes are journaled only while a snapshot is open.
 */
import { PulseError } from '../errors.ts'
import { type HashFn, sha256 } from './hash.ts'
import {
  DOMAIN_INTERNAL,
  emptyStateRoot,
  nibbleAt,
  popcount16,
  STATE_INLINE_VALUE_MAX_BYTES,
  STATE_KEY_MAX_BYTES,
  STATE_MAX_DEPTH,
  STATE_VALUE_MAX_BYTES,
  writeLeafPreimage,
} from './state-hashing.ts'
import type { StateProof, StateProofLeaf, StateProofLevel } from './state-proof.ts'

export interface StateTreeOptions {
  /**
   * The SHA-256 implementation (default: the shared crypto backend's). Only for speed, e.g. a
   * node:crypto one in benchmarks: any other function gives roots nobody else can verify.
   */
  hash?: HashFn
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
  /** SHA-256(key). */
  readonly path: Uint8Array
  value: Uint8Array
  /** SHA-256(value), cached for long values only (null = not computed yet). */
  vh: Uint8Array | null
  constructor(k: string, path: Uint8Array, value: Uint8Array) {
    this.k = k
    this.path = path
    this.value = value
    this.vh = null
  }
}

class Internal {
  /** Bit i set = child slot i non-empty. */
  bitmap: number
  /** Bits of children whose hash in `buf` is stale. */
  dirty: number
  /** Non-empty children in slot order. */
  kids: Node[]
  /** The hash preimage: 0x01 || u16be(bitmap) || child hashes in slot order. */
  buf: Uint8Array
  constructor(bitmap: number, kids: Node[]) {
    this.bitmap = bitmap
    this.dirty = bitmap
    this.kids = kids
    this.buf = newInternalBuf(bitmap, kids.length)
  }
}

type Node = Leaf | Internal

interface JournalEntry {
  k: string
  path: Uint8Array
  /** The value before the write; null = the key was absent. */
  prev: Uint8Array | null
}

function newInternalBuf(bitmap: number, count: number): Uint8Array {
  const buf = new Uint8Array(3 + 32 * count)
  buf[0] = DOMAIN_INTERNAL
  buf[1] = bitmap >> 8
  buf[2] = bitmap & 0xff
  return buf
}

/** Add child `c` at slot bit `bit` (absent before). The new slot's hash is marked dirty. */
function insertChild(n: Internal, bit: number, c: Node): void {
  const r = popcount16(n.bitmap & (bit - 1))
  const old = n.buf
  n.bitmap |= bit
  n.dirty |= bit
  n.kids.splice(r, 0, c)
  const buf = newInternalBuf(n.bitmap, n.kids.length)
  buf.set(old.subarray(3, 3 + 32 * r), 3)
  buf.set(old.subarray(3 + 32 * r), 3 + 32 * (r + 1))
  n.buf = buf
}

/** Remove the child at slot bit `bit` (present before). */
function removeChild(n: Internal, bit: number): void {
  const r = popcount16(n.bitmap & (bit - 1))
  const old = n.buf
  n.bitmap &= ~bit
  n.dirty &= ~bit
  n.kids.splice(r, 1)
  const buf = newInternalBuf(n.bitmap, n.kids.length)
  buf.set(old.subarray(3, 3 + 32 * r), 3)
  buf.set(old.subarray(3 + 32 * (r + 1)), 3 + 32 * r)
  n.buf = buf
}

/** Key bytes -> Map key. One UTF-16 unit per byte: injective and cheap for ≤ 256 bytes. */
function keyString(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[])
}

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

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

export class StateTree {
  readonly #hash: HashFn
  readonly #journalMax: number
  readonly #snapshotsMax: number
  readonly #leaves = new Map<string, Leaf>()
  #root: Node | null = null
  #rootHash: Uint8Array = emptyStateRoot()
  #rootDirty = false
  /** Undo log of writes made while a snapshot is open. */
  #journal: JournalEntry[] = []
  /** Open snapshots, oldest first: [token, journal length when taken]. */
  #snapshots: [number, number][] = []
  #nextToken = 1
  /** Bumped by every structural change; iterators check it. */
  #version = 0
  /** Leaf preimage scratch: 1 + 32 + up to 64 bytes. */
  readonly #scratch = new Uint8Array(1 + 32 + STATE_INLINE_VALUE_MAX_BYTES)

  constructor(opts: StateTreeOptions = {}) {
    this.#hash = opts.hash ?? sha256
    this.#journalMax = opts.journalMaxEntries ?? STATE_JOURNAL_MAX_ENTRIES_DEFAULT
    this.#snapshotsMax = opts.snapshotsMax ?? STATE_SNAPSHOTS_MAX_DEFAULT
    if (typeof this.#hash !== 'function')
      throw new PulseError('STATE_INVALID_ARGUMENT', 'hash must be a function')
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
  }

  /**
   * Build a tree from (key, value) pairs in any order (e.g. a LevelDB scan at startup): inserts
   * without hashing anything but the key paths, then hashes every node once. Throws
   * STATE_DUPLICATE_KEY, and the size errors of `set`.
   */
  static fromEntries(
    entries: Iterable<readonly [Uint8Array, Uint8Array]>,
    opts?: StateTreeOptions,
  ): StateTree {
    const t = new StateTree(opts)
    for (const [key, value] of entries) {
      checkKey(key)
      checkValue(value)
      const k = keyString(key)
      if (t.#leaves.has(k))
        throw new PulseError('STATE_DUPLICATE_KEY', 'duplicate key in entries', { keyLength: key.length })
      t.#insertNew(k, t.#pathOf(key), value.slice())
    }
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

  /** Store a copy of `value` under `key`. Throws STATE_KEY_TOO_LARGE / STATE_VALUE_TOO_LARGE / STATE_JOURNAL_FULL. */
  set(key: Uint8Array, value: Uint8Array): void {
    checkKey(key)
    checkValue(value)
    const k = keyString(key)
    const leaf = this.#leaves.get(k)
    if (leaf !== undefined) {
      if (equalBytes(leaf.value, value)) return
      this.#journalWrite(k, leaf.path, leaf.value)
      this.#update(leaf, value.slice())
    } else {
      const path = this.#pathOf(key)
      this.#journalWrite(k, path, null)
      this.#insertNew(k, path, value.slice())
    }
  }

  /** Remove `key`; returns whether it was present. Throws STATE_JOURNAL_FULL. */
  delete(key: Uint8Array): boolean {
    checkKey(key)
    const k = keyString(key)
    const leaf = this.#leaves.get(k)
    if (leaf === undefined) return false
    this.#journalWrite(k, leaf.path, leaf.value)
    this.#remove(leaf)
    return true
  }

  /** The 32-byte root, hashing every node changed since the last call (each once). */
  root(): Uint8Array {
    if (this.#rootDirty) {
      const r = this.#root
      if (r === null) this.#rootHash = emptyStateRoot()
      else if (r instanceof Leaf) this.#rootHash = this.#leafHash(r)
      else {
        this.#rehash(r)
        this.#rootHash = this.#hash(r.buf)
      }
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
    const path = own !== undefined ? own.path : this.#pathOf(key)
    const levels: StateProofLevel[] = []
    let n = this.#root
    let d = 0
    while (n instanceof Internal) {
      const bit = 1 << nibbleAt(path, d)
      const present = (n.bitmap & bit) !== 0
      const r = popcount16(n.bitmap & (bit - 1))
      const siblings: Uint8Array[] = []
      for (let j = 0; j < n.kids.length; j++) {
        if (present && j === r) continue
        siblings.push(n.buf.slice(3 + 32 * j, 35 + 32 * j))
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
      const { k, path, prev } = j[e]
      const leaf = this.#leaves.get(k)
      if (prev === null) {
        if (leaf !== undefined) this.#remove(leaf)
      } else if (leaf !== undefined) {
        this.#update(leaf, prev)
      } else {
        this.#insertNew(k, path, prev)
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
   * index matches the trie, buffers match bitmaps. Throws STATE_INVARIANT.
   */
  checkInvariants(): void {
    const fail = (msg: string): never => {
      throw new PulseError('STATE_INVARIANT', msg)
    }
    let leaves = 0
    const walk = (n: Node, d: number, prefix: number[]): number => {
      if (n instanceof Leaf) {
        leaves++
        for (let i = 0; i < d; i++)
          if (nibbleAt(n.path, i) !== prefix[i]) fail('leaf outside its path prefix')
        if (this.#leaves.get(n.k) !== n) fail('key index does not point at this leaf')
        return 1
      }
      if (d >= STATE_MAX_DEPTH) fail('internal node too deep')
      if (n.bitmap === 0 || n.bitmap > 0xffff) fail('bad bitmap')
      if (popcount16(n.bitmap) !== n.kids.length) fail('bitmap does not match children')
      if (n.buf.length !== 3 + 32 * n.kids.length || n.buf[0] !== DOMAIN_INTERNAL) fail('bad node buffer')
      if (((n.buf[1] << 8) | n.buf[2]) !== n.bitmap) fail('buffer bitmap stale')
      if (n.kids.length === 1 && n.kids[0] instanceof Leaf) fail('internal node with a lone leaf child')
      let count = 0
      let slot = 0
      for (let i = 0; i < 16; i++) {
        if ((n.bitmap & (1 << i)) === 0) continue
        prefix[d] = i
        count += walk(n.kids[slot++], d + 1, prefix)
      }
      if (count < 2) fail('internal node holds fewer than 2 keys')
      return count
    }
    if (this.#root !== null) walk(this.#root, 0, [])
    if (leaves !== this.#leaves.size) fail('key index size differs from the trie')
  }

  // ---- internals ----

  #pathOf(key: Uint8Array): Uint8Array {
    const p = this.#hash(key)
    if (!(p instanceof Uint8Array) || p.length !== 32) {
      throw new PulseError('STATE_BAD_HASH', 'the hash function must return 32 bytes')
    }
    return p
  }

  #snapshotIndex(token: number): number {
    const s = this.#snapshots
    for (let i = s.length - 1; i >= 0; i--) if (s[i][0] === token) return i
    throw new PulseError('STATE_UNKNOWN_SNAPSHOT', 'snapshot token is not open', { token })
  }

  #journalWrite(k: string, path: Uint8Array, prev: Uint8Array | null): void {
    if (this.#snapshots.length === 0) return
    if (this.#journal.length >= this.#journalMax) {
      throw new PulseError('STATE_JOURNAL_FULL', 'too many writes under open snapshots', {
        max: this.#journalMax,
      })
    }
    this.#journal.push({ k, path, prev })
  }

  /** New value for an existing leaf: mark its path dirty (no hashing until root()). */
  #update(leaf: Leaf, value: Uint8Array): void {
    leaf.value = value
    leaf.vh = null
    this.#rootDirty = true
    this.#version++
    const path = leaf.path
    let n = this.#root
    let d = 0
    while (n instanceof Internal) {
      const bit = 1 << nibbleAt(path, d++)
      n.dirty |= bit
      n = n.kids[popcount16(n.bitmap & (bit - 1))]
    }
  }

  #insertNew(k: string, path: Uint8Array, value: Uint8Array): void {
    const leaf = new Leaf(k, path, value)
    this.#rootDirty = true
    this.#version++
    const root = this.#root
    if (root === null) this.#root = leaf
    else if (root instanceof Leaf) this.#root = this.#split(root, leaf, 0)
    else {
      let n = root
      let d = 0
      for (;;) {
        const bit = 1 << nibbleAt(path, d)
        if ((n.bitmap & bit) === 0) {
          insertChild(n, bit, leaf)
          break
        }
        n.dirty |= bit
        const r = popcount16(n.bitmap & (bit - 1))
        const c = n.kids[r]
        if (c instanceof Leaf) {
          n.kids[r] = this.#split(c, leaf, d + 1)
          break
        }
        n = c
        d++
      }
    }
    this.#leaves.set(k, leaf)
  }

  /** The subtree at depth `d` holding exactly the two leaves `a` (existing) and `b` (new). */
  #split(a: Leaf, b: Leaf, d: number): Internal {
    let k = d
    while (k < STATE_MAX_DEPTH && nibbleAt(a.path, k) === nibbleAt(b.path, k)) k++
    if (k === STATE_MAX_DEPTH) {
      // Two keys with the same SHA-256: not expected in this universe; refuse rather than corrupt.
      throw new PulseError('STATE_PATH_COLLISION', 'two keys have the same key path')
    }
    const na = nibbleAt(a.path, k)
    const nb = nibbleAt(b.path, k)
    let node = new Internal((1 << na) | (1 << nb), na < nb ? [a, b] : [b, a])
    for (let j = k - 1; j >= d; j--) node = new Internal(1 << nibbleAt(b.path, j), [node])
    return node
  }

  #remove(leaf: Leaf): void {
    this.#rootDirty = true
    this.#version++
    this.#leaves.delete(leaf.k)
    const root = this.#root
    if (root === leaf) {
      this.#root = null
      return
    }
    const path = leaf.path
    const stack: Internal[] = []
    let n = root as Internal
    let d = 0
    for (;;) {
      const bit = 1 << nibbleAt(path, d)
      n.dirty |= bit
      stack.push(n)
      const c = n.kids[popcount16(n.bitmap & (bit - 1))]
      if (c === leaf) {
        removeChild(n, bit)
        break
      }
      n = c as Internal
      d++
    }
    // A node left holding one key must become that key's leaf (canonical shape); this can cascade
    // up a chain of single-child nodes.
    for (let i = stack.length - 1; i >= 0; i--) {
      const s = stack[i]
      if (s.kids.length !== 1 || !(s.kids[0] instanceof Leaf)) break
      const only = s.kids[0]
      if (i === 0) this.#root = only
      else {
        const p = stack[i - 1]
        p.kids[popcount16(p.bitmap & ((1 << nibbleAt(path, i - 1)) - 1))] = only
      }
    }
  }

  #leafHash(leaf: Leaf): Uint8Array {
    const s = this.#scratch
    let len = writeLeafPreimage(s, leaf.path, leaf.value, leaf.vh)
    if (len < 0) {
      leaf.vh = this.#hash(leaf.value)
      len = writeLeafPreimage(s, leaf.path, leaf.value, leaf.vh)
    }
    return this.#hash(s.subarray(0, len))
  }

  /** Bring `n.buf` up to date: rehash every dirty child (depth-first), each once. */
  #rehash(n: Internal): void {
    let m = n.dirty
    if (m === 0) return
    const bm = n.bitmap
    const kids = n.kids
    const buf = n.buf
    while (m !== 0) {
      const bit = m & -m
      m ^= bit
      const r = popcount16(bm & (bit - 1))
      const c = kids[r]
      let h: Uint8Array
      if (c instanceof Leaf) h = this.#leafHash(c)
      else {
        this.#rehash(c)
        h = this.#hash(c.buf)
      }
      buf.set(h, 3 + 32 * r)
    }
    n.dirty = 0
  }

  #proofLeaf(leaf: Leaf): StateProofLeaf {
    if (leaf.value.length <= STATE_INLINE_VALUE_MAX_BYTES) {
      return { keyPath: leaf.path.slice(), inline: true, data: leaf.value.slice() }
    }
    if (leaf.vh === null) leaf.vh = this.#hash(leaf.value)
    return { keyPath: leaf.path.slice(), inline: false, data: leaf.vh.slice() }
  }
}
