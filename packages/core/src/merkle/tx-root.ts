/**
 * Binary Merkle tree over an ordered list of byte strings (block tx roots, event/result roots),
 * exactly the Merkle Tree Hash of RFC 6962 §2.1 (= RFC 9162 §2.1.1):
 *
 *   MTH({})       = SHA-256()                               (hash of the empty string)
 *   MTH({d0})     = SHA-256(0x00 || d0)                      leaf
 *   MTH(D[0:n])   = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n]))   node, k = largest power of 2 < n
 *
 * The 0x00/0x01 prefixes keep a leaf from ever being passed off as an inner node (second-preimage
 * attack on plain Merkle trees). The RFC split is computed bottom-up: pair neighbours level by
 * level and carry a lone last node up unhashed, which yields the same tree.
 *
 * Proofs are RFC 6962 audit paths (siblings from the leaf up) and are checked with the RFC 9162
 * §2.1.3.2 algorithm, which also rejects a path of the wrong length for (index, total).
 */
import { DecodeError, PulseError } from '../errors.ts'
import { sha256, sha256Into } from './hash.ts'

/** A leaf count that fits the u32 of the proof encoding. */
export const MERKLE_MAX_LEAVES = 0xffff_ffff
/** ceil(log2(MERKLE_MAX_LEAVES)): the longest audit path. */
export const MERKLE_MAX_PROOF_SIBLINGS = 32
/** u32 index, u32 total, u8 sibling count, 32 bytes per sibling. */
export const MERKLE_PROOF_MAX_BYTES = 9 + 32 * MERKLE_MAX_PROOF_SIBLINGS

export interface MerkleProof {
  /** Position of the leaf, 0-based. */
  index: number
  /** Number of leaves in the tree. */
  total: number
  /** RFC 6962 audit path: sibling subtree hashes from the leaf level up. */
  siblings: Uint8Array[]
}

/** SHA-256(0x00 || data): the hash of one leaf. */
export function merkleLeafHash(data: Uint8Array): Uint8Array {
  const buf = new Uint8Array(1 + data.length)
  buf[0] = 0x00
  buf.set(data, 1)
  return sha256(buf)
}

/** SHA-256(0x01 || left || right): the hash of an inner node. */
export function merkleNodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const buf = new Uint8Array(65)
  buf[0] = 0x01
  buf.set(left, 1)
  buf.set(right, 33)
  return sha256(buf)
}

function checkLeaves(leaves: readonly Uint8Array[]): void {
  if (!Array.isArray(leaves)) throw new PulseError('MERKLE_INVALID_ARGUMENT', 'leaves must be an array')
  if (leaves.length > MERKLE_MAX_LEAVES) {
    throw new PulseError('MERKLE_TOO_MANY_LEAVES', 'too many leaves', { count: leaves.length })
  }
  for (let i = 0; i < leaves.length; i++) {
    if (!(leaves[i] instanceof Uint8Array)) {
      throw new PulseError('MERKLE_INVALID_ARGUMENT', `leaf ${i} is not a Uint8Array`, { index: i })
    }
  }
}

/** One level up: pair neighbours, carry a lone last node (the RFC 6962 split, bottom-up). */
function parentLevel(level: Uint8Array[]): Uint8Array[] {
  const next: Uint8Array[] = []
  for (let i = 0; i + 1 < level.length; i += 2) next.push(merkleNodeHash(level[i], level[i + 1]))
  if (level.length % 2 === 1) next.push(level[level.length - 1])
  return next
}

/**
 * The RFC 6962 Merkle Tree Hash of `leaves` (32 bytes). Empty list: SHA-256 of the empty string.
 * Same tree as `parentLevel` builds, computed in place: the level's hashes live in one buffer
 * (node j of the next level overwrites slot j, already read), preimages are built in two scratch
 * buffers and digests written straight into the level (sha256Into), so a block's tx and result
 * roots allocate nothing per leaf or node.
 */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  checkLeaves(leaves)
  const n = leaves.length
  if (n === 0) return sha256(new Uint8Array(0))
  let maxLen = 0
  for (let i = 0; i < n; i++) if (leaves[i].length > maxLen) maxLen = leaves[i].length
  const leafBuf = new Uint8Array(1 + maxLen) // leafBuf[0] = 0x00, the leaf prefix
  const level = new Uint8Array(32 * n)
  for (let i = 0; i < n; i++) {
    const leaf = leaves[i]
    leafBuf.set(leaf, 1)
    sha256Into(leafBuf.subarray(0, 1 + leaf.length), level, 32 * i)
  }
  const nodeBuf = new Uint8Array(65)
  nodeBuf[0] = 0x01
  let m = n
  while (m > 1) {
    let j = 0
    for (let i = 0; i + 1 < m; i += 2, j++) {
      nodeBuf.set(level.subarray(32 * i, 32 * i + 64), 1)
      sha256Into(nodeBuf, level, 32 * j)
    }
    if (m % 2 === 1) {
      level.copyWithin(32 * j, 32 * (m - 1), 32 * m)
      j++
    }
    m = j
  }
  return level.slice(0, 32)
}

/** The audit path for `leaves[index]`. Throws MERKLE_INDEX_OUT_OF_RANGE. */
export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  checkLeaves(leaves)
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new PulseError('MERKLE_INDEX_OUT_OF_RANGE', `leaf index ${index} not in [0, ${leaves.length})`, {
      index,
      total: leaves.length,
    })
  }
  const siblings: Uint8Array[] = []
  let level = leaves.map(merkleLeafHash)
  let i = index
  while (level.length > 1) {
    const sib = i ^ 1
    // A node without a right neighbour is carried up: no sibling at this level.
    if (sib < level.length) siblings.push(new Uint8Array(level[sib]))
    level = parentLevel(level)
    i = Math.floor(i / 2)
  }
  return { index, total: leaves.length, siblings }
}

/**
 * Pure check that `leaf` (the raw leaf bytes, not its hash) sits at `proof.index` of a tree of
 * `proof.total` leaves with root `root`. Returns false, never throws, on any malformed input.
 */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  try {
    if (!(root instanceof Uint8Array) || root.length !== 32 || !(leaf instanceof Uint8Array)) return false
    if (proof === null || typeof proof !== 'object') return false
    const { index, total, siblings } = proof
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(total)) return false
    if (index < 0 || total > MERKLE_MAX_LEAVES || index >= total) return false
    if (!Array.isArray(siblings) || siblings.length > MERKLE_MAX_PROOF_SIBLINGS) return false
    // RFC 9162 §2.1.3.2, with arithmetic instead of bit operators (values may exceed 2^31).
    let fn = index
    let sn = total - 1
    let r = merkleLeafHash(leaf)
    for (const p of siblings) {
      if (!(p instanceof Uint8Array) || p.length !== 32) return false
      if (sn === 0) return false
      if (fn % 2 === 1 || fn === sn) {
        r = merkleNodeHash(p, r)
        if (fn % 2 === 0) {
          while (fn % 2 === 0 && fn !== 0) {
            fn /= 2
            sn = Math.floor(sn / 2)
          }
        }
      } else {
        r = merkleNodeHash(r, p)
      }
      fn = Math.floor(fn / 2)
      sn = Math.floor(sn / 2)
    }
    if (sn !== 0 || r.length !== 32) return false
    let diff = 0
    for (let i = 0; i < 32; i++) diff |= r[i] ^ root[i]
    return diff === 0
  } catch {
    return false
  }
}

/** Bytes: u32be index || u32be total || u8 count || count × 32-byte sibling. */
export function encodeMerkleProof(proof: MerkleProof): Uint8Array {
  const { index, total, siblings } = proof
  if (
    !Number.isSafeInteger(index) ||
    !Number.isSafeInteger(total) ||
    index < 0 ||
    index >= total ||
    total > MERKLE_MAX_LEAVES ||
    !Array.isArray(siblings) ||
    siblings.length > MERKLE_MAX_PROOF_SIBLINGS ||
    siblings.some((s) => !(s instanceof Uint8Array) || s.length !== 32)
  ) {
    throw new PulseError('MERKLE_PROOF_INVALID', 'cannot encode a malformed Merkle proof', { index, total })
  }
  const out = new Uint8Array(9 + 32 * siblings.length)
  const view = new DataView(out.buffer)
  view.setUint32(0, index)
  view.setUint32(4, total)
  out[8] = siblings.length
  for (let i = 0; i < siblings.length; i++) out.set(siblings[i], 9 + 32 * i)
  return out
}

/** Inverse of encodeMerkleProof. Throws DecodeError on anything but exactly one encoded proof. */
export function decodeMerkleProof(bytes: Uint8Array): MerkleProof {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('DECODE_ERROR', 'Merkle proof must be bytes')
  if (bytes.length > MERKLE_PROOF_MAX_BYTES) {
    throw new DecodeError('DECODE_TOO_LARGE', 'Merkle proof too large', {
      length: bytes.length,
      max: MERKLE_PROOF_MAX_BYTES,
    })
  }
  if (bytes.length < 9)
    throw new DecodeError('DECODE_ERROR', 'Merkle proof truncated', { length: bytes.length })
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const index = view.getUint32(0)
  const total = view.getUint32(4)
  const count = bytes[8]
  if (index >= total) throw new DecodeError('DECODE_ERROR', 'Merkle proof index >= total', { index, total })
  if (count > MERKLE_MAX_PROOF_SIBLINGS) {
    throw new DecodeError('DECODE_ERROR', 'too many Merkle proof siblings', { count })
  }
  if (bytes.length !== 9 + 32 * count) {
    throw new DecodeError(
      bytes.length < 9 + 32 * count ? 'DECODE_ERROR' : 'DECODE_NON_CANONICAL',
      'bad length',
      {
        length: bytes.length,
        expected: 9 + 32 * count,
      },
    )
  }
  const siblings: Uint8Array[] = []
  for (let i = 0; i < count; i++) siblings.push(new Uint8Array(bytes.subarray(9 + 32 * i, 41 + 32 * i)))
  return { index, total, siblings }
}
