/**
 * State proofs: the pure verifier light clients and browsers run, and the byte encoding proofs
 * travel in. Layout of what is hashed: state-hashing.ts.
 *
 * A proof lists, from the root down, each internal node on the key's path: its bitmap and the
 * hashes of its other non-empty children. The path then ends in one of three ways:
 *  - the key's own leaf (membership: the verifier rebuilds it from key and value);
 *  - an empty slot: the last level's bitmap has the key's nibble clear (non-membership);
 *  - another key's leaf sharing the path prefix (`otherLeaf`, non-membership): in a canonical tree
 *    a leaf at depth d is the only key under its d-nibble prefix, so the key is absent.
 * An empty tree proves absence with no levels against the all-zero root.
 *
 * Soundness rests on SHA-256 collision resistance and on the domain bytes: a proof that hashes to
 * the root must consist of the real nodes on the key's path.
 */
import { DecodeError, PulseError } from '../errors.ts'
import { sha256 } from './hash.ts'
import {
  DOMAIN_INTERNAL,
  DOMAIN_LEAF_HASHED,
  DOMAIN_LEAF_INLINE,
  isEmptyStateRoot,
  nibbleAt,
  popcount16,
  STATE_INLINE_VALUE_MAX_BYTES,
  STATE_KEY_MAX_BYTES,
  STATE_MAX_DEPTH,
  STATE_VALUE_MAX_BYTES,
  writeLeafPreimage,
} from './state-hashing.ts'

export interface StateProofLevel {
  /** The internal node's child bitmap (1..0xffff). */
  bitmap: number
  /** Hashes (32 bytes) of its non-empty children other than the one on the key's path, in slot order. */
  siblings: Uint8Array[]
}

/** Another key's leaf, where a non-membership path ends. */
export interface StateProofLeaf {
  /** SHA-256 of that key. */
  keyPath: Uint8Array
  /** true: `data` is the value itself (≤ 64 bytes); false: `data` is SHA-256(value) (value > 64 bytes). */
  inline: boolean
  data: Uint8Array
}

export interface StateProof {
  levels: StateProofLevel[]
  otherLeaf: StateProofLeaf | null
}

const PROOF_VERSION = 1
const FLAG_OTHER_LEAF = 1
const FLAG_INLINE = 2

/** Largest encoding: header, 64 levels of a full node, the longest other-leaf. */
export const STATE_PROOF_MAX_BYTES =
  3 + STATE_MAX_DEPTH * (3 + 16 * 32) + 32 + 1 + STATE_INLINE_VALUE_MAX_BYTES

function isHash(x: unknown): x is Uint8Array {
  return x instanceof Uint8Array && x.length === 32
}

function wellFormedLeaf(l: StateProofLeaf): boolean {
  if (l === null || typeof l !== 'object' || !isHash(l.keyPath) || !(l.data instanceof Uint8Array))
    return false
  if (l.inline === true) return l.data.length <= STATE_INLINE_VALUE_MAX_BYTES
  if (l.inline === false) return l.data.length === 32
  return false
}

/**
 * Pure check of `proof` for `key` against `root`: with a value, that the tree maps key to exactly
 * that value; with null, that the key is absent. Returns false (never throws) on any malformed or
 * mismatching input.
 */
export function verifyStateProof(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  try {
    return verifyUnchecked(root, key, value, proof)
  } catch {
    return false
  }
}

function verifyUnchecked(
  root: Uint8Array,
  key: Uint8Array,
  value: Uint8Array | null,
  proof: StateProof,
): boolean {
  if (!isHash(root) || !(key instanceof Uint8Array) || key.length > STATE_KEY_MAX_BYTES) return false
  if (value !== null && (!(value instanceof Uint8Array) || value.length > STATE_VALUE_MAX_BYTES)) return false
  if (proof === null || typeof proof !== 'object') return false
  const levels = proof.levels
  const otherLeaf = proof.otherLeaf ?? null
  if (!Array.isArray(levels) || levels.length > STATE_MAX_DEPTH) return false
  const path = sha256(key)
  const depth = levels.length
  const pre = new Uint8Array(1 + 32 + STATE_INLINE_VALUE_MAX_BYTES)

  // The hash of what the path ends in; null = an empty slot in the deepest level.
  let h: Uint8Array | null
  if (value !== null) {
    if (otherLeaf !== null) return false
    const len = writeLeafPreimage(
      pre,
      path,
      value,
      value.length > STATE_INLINE_VALUE_MAX_BYTES ? sha256(value) : null,
    )
    h = sha256(pre.subarray(0, len))
  } else if (otherLeaf !== null) {
    if (!wellFormedLeaf(otherLeaf)) return false
    const other = otherLeaf.keyPath
    let same = true
    for (let i = 0; i < 32; i++) if (other[i] !== path[i]) same = false
    if (same) return false // that leaf IS the key: it is present
    for (let d = 0; d < depth; d++) if (nibbleAt(other, d) !== nibbleAt(path, d)) return false
    pre.set(other, 1)
    pre[0] = otherLeaf.inline ? DOMAIN_LEAF_INLINE : DOMAIN_LEAF_HASHED
    pre.set(otherLeaf.data, 33)
    h = sha256(pre.subarray(0, 33 + otherLeaf.data.length))
  } else {
    h = null
  }

  if (depth === 0) return h === null ? isEmptyStateRoot(root) : equal32(h, root)

  for (let d = depth - 1; d >= 0; d--) {
    const level = levels[d]
    if (level === null || typeof level !== 'object') return false
    const { bitmap, siblings } = level
    if (!Number.isInteger(bitmap) || bitmap < 1 || bitmap > 0xffff) return false
    if (!Array.isArray(siblings)) return false
    const bit = 1 << nibbleAt(path, d)
    const count = popcount16(bitmap)
    const buf = new Uint8Array(3 + 32 * count)
    buf[0] = DOMAIN_INTERNAL
    buf[1] = bitmap >> 8
    buf[2] = bitmap & 0xff
    if (h === null) {
      // Empty slot: only the deepest level; every child is a sibling.
      if ((bitmap & bit) !== 0 || siblings.length !== count) return false
      for (let j = 0; j < count; j++) {
        if (!isHash(siblings[j])) return false
        buf.set(siblings[j], 3 + 32 * j)
      }
    } else {
      if ((bitmap & bit) === 0 || siblings.length !== count - 1) return false
      // A canonical tree never has a lone leaf under an internal node.
      if (d === depth - 1 && count === 1) return false
      const r = popcount16(bitmap & (bit - 1))
      for (let j = 0, s = 0; j < count; j++) {
        let child: Uint8Array
        if (j === r) child = h
        else {
          child = siblings[s++]
          if (!isHash(child)) return false
        }
        buf.set(child, 3 + 32 * j)
      }
    }
    h = sha256(buf)
  }
  return equal32(h as Uint8Array, root)
}

function equal32(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== 32 || b.length !== 32) return false
  let diff = 0
  for (let i = 0; i < 32; i++) diff |= a[i] ^ b[i]
  return diff === 0
}

/**
 * Bytes:
 *   u8 version (1) || u8 flags (bit0: otherLeaf present, bit1: it is inline) || u8 levelCount (≤ 64)
 *   || per level: u16be bitmap || u8 siblingCount (≤ 16) || siblingCount × 32 bytes
 *   || if otherLeaf: keyPath (32) || u8 dataLength || data (inline: ≤ 64 bytes; hashed: 32)
 * Throws STATE_PROOF_INVALID for a structurally malformed proof.
 */
export function encodeStateProof(proof: StateProof): Uint8Array {
  const bad = (why: string): never => {
    throw new PulseError('STATE_PROOF_INVALID', `cannot encode state proof: ${why}`)
  }
  if (proof === null || typeof proof !== 'object' || !Array.isArray(proof.levels)) return bad('not a proof')
  const { levels, otherLeaf } = proof
  if (levels.length > STATE_MAX_DEPTH) bad('too many levels')
  let n = 3
  for (const l of levels) {
    if (l === null || typeof l !== 'object') bad('level is not an object')
    if (!Number.isInteger(l.bitmap) || l.bitmap < 1 || l.bitmap > 0xffff) bad('bitmap out of range')
    if (!Array.isArray(l.siblings) || l.siblings.length > 16 || !l.siblings.every(isHash)) bad('bad siblings')
    n += 3 + 32 * l.siblings.length
  }
  if (otherLeaf !== null) {
    if (!wellFormedLeaf(otherLeaf)) bad('bad other leaf')
    n += 33 + otherLeaf.data.length
  }
  const out = new Uint8Array(n)
  out[0] = PROOF_VERSION
  out[1] = otherLeaf === null ? 0 : FLAG_OTHER_LEAF | (otherLeaf.inline ? FLAG_INLINE : 0)
  out[2] = levels.length
  let o = 3
  for (const l of levels) {
    out[o] = l.bitmap >> 8
    out[o + 1] = l.bitmap & 0xff
    out[o + 2] = l.siblings.length
    o += 3
    for (const s of l.siblings) {
      out.set(s, o)
      o += 32
    }
  }
  if (otherLeaf !== null) {
    out.set(otherLeaf.keyPath, o)
    out[o + 32] = otherLeaf.data.length
    out.set(otherLeaf.data, o + 33)
  }
  return out
}

/** Inverse of encodeStateProof. Throws DecodeError (DECODE_TOO_LARGE / DECODE_ERROR / DECODE_NON_CANONICAL). */
/** Copies out of `bytes` (plain Uint8Arrays even from a Buffer: never views of the input). */
export function decodeStateProof(bytes: Uint8Array): StateProof {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('DECODE_ERROR', 'state proof must be bytes')
  if (bytes.length > STATE_PROOF_MAX_BYTES) {
    throw new DecodeError('DECODE_TOO_LARGE', 'state proof too large', {
      length: bytes.length,
      max: STATE_PROOF_MAX_BYTES,
    })
  }
  const need = (o: number, n: number): void => {
    if (o + n > bytes.length) throw new DecodeError('DECODE_ERROR', 'state proof truncated', { offset: o })
  }
  need(0, 3)
  if (bytes[0] !== PROOF_VERSION) {
    throw new DecodeError('DECODE_ERROR', 'unknown state proof version', { version: bytes[0] })
  }
  const flags = bytes[1]
  if ((flags & ~(FLAG_OTHER_LEAF | FLAG_INLINE)) !== 0 || flags === FLAG_INLINE) {
    throw new DecodeError('DECODE_NON_CANONICAL', 'bad state proof flags', { flags })
  }
  const levelCount = bytes[2]
  if (levelCount > STATE_MAX_DEPTH) {
    throw new DecodeError('DECODE_ERROR', 'too many state proof levels', { levelCount })
  }
  let o = 3
  const levels: StateProofLevel[] = []
  for (let i = 0; i < levelCount; i++) {
    need(o, 3)
    const bitmap = (bytes[o] << 8) | bytes[o + 1]
    const count = bytes[o + 2]
    if (bitmap === 0) throw new DecodeError('DECODE_ERROR', 'empty bitmap in state proof', { level: i })
    if (count > popcount16(bitmap)) {
      throw new DecodeError('DECODE_ERROR', 'more siblings than bitmap bits', { level: i, count })
    }
    o += 3
    need(o, 32 * count)
    const siblings: Uint8Array[] = []
    for (let j = 0; j < count; j++) siblings.push(new Uint8Array(bytes.subarray(o + 32 * j, o + 32 * j + 32)))
    o += 32 * count
    levels.push({ bitmap, siblings })
  }
  let otherLeaf: StateProofLeaf | null = null
  if ((flags & FLAG_OTHER_LEAF) !== 0) {
    need(o, 33)
    const keyPath = new Uint8Array(bytes.subarray(o, o + 32))
    const len = bytes[o + 32]
    const inline = (flags & FLAG_INLINE) !== 0
    if (inline ? len > STATE_INLINE_VALUE_MAX_BYTES : len !== 32) {
      throw new DecodeError('DECODE_ERROR', 'bad other-leaf data length', { length: len, inline })
    }
    o += 33
    need(o, len)
    otherLeaf = { keyPath, inline, data: new Uint8Array(bytes.subarray(o, o + len)) }
    o += len
  }
  if (o !== bytes.length) {
    throw new DecodeError('DECODE_NON_CANONICAL', 'trailing bytes after state proof', {
      extra: bytes.length - o,
    })
  }
  return { levels, otherLeaf }
}
