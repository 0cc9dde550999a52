/**
 * The byte layout of the authenticated state tree: what exactly is hashed. Shared by the tree and
 * the pure verifier so both compute identical bytes. Changing anything here is a protocol change.
 *
 * keyPath = SHA-256(key): 32 bytes = 64 nibbles, high nibble of each byte first. The trie branches
 * on nibble d at depth d (the root is depth 0).
 *
 * Leaf (one key), two forms, chosen by value length so a proof never carries more than 64 value
 * bytes and small values (balances, nonces) cost one hash instead of two:
 *   value ≤ 64 bytes:  SHA-256(0x02 || keyPath || value)              ("inline" leaf)
 *   value > 64 bytes:  SHA-256(0x00 || keyPath || SHA-256(value))     ("hashed" leaf)
 *
 * Internal node (a subtree holding ≥ 2 keys):
 *   SHA-256(0x01 || u16be(bitmap) || h_i for each set bit i, ascending)
 * where bit i (value 1 << i) of the bitmap says child slot i (nibble i) is non-empty and h_i is that
 * child's hash. Empty slots contribute nothing but their cleared bit.
 *
 * Empty tree: 32 zero bytes (no SHA-256 preimage is known for it).
 *
 * The first byte separates the three preimage kinds; within a kind every field has a fixed length
 * or is the last field, so distinct nodes never share a preimage.
 */

export const DOMAIN_LEAF_HASHED = 0x00
export const DOMAIN_INTERNAL = 0x01
export const DOMAIN_LEAF_INLINE = 0x02

export const STATE_KEY_MAX_BYTES = 256
export const STATE_VALUE_MAX_BYTES = 64 * 1024
/** Values up to this length are hashed inside the leaf preimage. */
export const STATE_INLINE_VALUE_MAX_BYTES = 64
/** Nibbles in a 32-byte key path: no internal node can sit deeper. */
export const STATE_MAX_DEPTH = 64

const ZERO32 = new Uint8Array(32)

/** The root of the empty state tree (a fresh copy: 32 zero bytes). */
export function emptyStateRoot(): Uint8Array {
  return ZERO32.slice()
}

export function isEmptyStateRoot(root: Uint8Array): boolean {
  if (root.length !== 32) return false
  for (let i = 0; i < 32; i++) if (root[i] !== 0) return false
  return true
}

/** Nibble `depth` (0..63) of a 32-byte path. */
export function nibbleAt(path: Uint8Array, depth: number): number {
  const b = path[depth >> 1]
  return (depth & 1) === 0 ? b >> 4 : b & 15
}

/** Set bits of a 16-bit mask. */
export function popcount16(x: number): number {
  x -= (x >> 1) & 0x5555
  x = (x & 0x3333) + ((x >> 2) & 0x3333)
  x = (x + (x >> 4)) & 0x0f0f
  return (x + (x >> 8)) & 0x1f
}

/**
 * Write the leaf preimage for (keyPath, value) into `out` (≥ 97 bytes) and return its length, or
 * -1 if the value is long and its hash must be supplied: pass `valueHash` for long values.
 */
export function writeLeafPreimage(
  out: Uint8Array,
  keyPath: Uint8Array,
  value: Uint8Array,
  valueHash: Uint8Array | null,
): number {
  out.set(keyPath, 1)
  if (value.length <= STATE_INLINE_VALUE_MAX_BYTES) {
    out[0] = DOMAIN_LEAF_INLINE
    out.set(value, 33)
    return 33 + value.length
  }
  if (valueHash === null) return -1
  out[0] = DOMAIN_LEAF_HASHED
  out.set(valueHash, 33)
  return 65
}
