/**
 * The byte-level part of PulseMesh's Ed25519 verification rule, shared by every backend.
 *
 * Both OpenSSL (node:crypto) and our @noble path check the *cofactorless* equation
 * `encode([S]B - [k]A) == R` with k = SHA-512(R || A || M) mod L. They differ on inputs the equation
 * alone does not settle, so every backend first runs these pre-checks (cheap byte compares, no field
 * arithmetic) and only then the equation:
 *
 *  - S must be canonical: S < L (RFC 8032 §5.1.7; OpenSSL and noble both already do this).
 *  - A must be a canonical encoding: y < p. OpenSSL reduces y mod p silently; noble strict rejects.
 *  - A must not be a small-order point (any of the 8 torsion points, either sign bit). noble strict
 *    rejects them; OpenSSL 3.5 accepts some (e.g. A = identity with a "negative zero" sign bit).
 *  - R must not be a small-order point. OpenSSL 3.5 rejects them (observed: R = identity with a
 *    correct S is refused); noble accepts them when the equation holds.
 *
 * A non-canonical R never passes (the recomputed point is always encoded canonically), so it needs
 * no separate check. Mixed-order A or R (prime-order part plus torsion) are accepted by both when the
 * cofactorless equation holds: the rule is exact, so both give the same answer.
 */

export const ED25519_PUBLIC_KEY_BYTES = 32
export const ED25519_SIGNATURE_BYTES = 64
export const ED25519_SEED_BYTES = 32

/** L = 2^252 + 27742317777372353535851937790883648493 (RFC 8032 §5.1), little-endian. */
const L_LE = Uint8Array.from([
  0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
])

/**
 * y-coordinates (little-endian, sign bit clear) of the 8 points of order dividing 8: identity (y=1),
 * order 2 (y=p-1), order 4 (y=0), order 8 (y8 and p-y8, two x signs each). Compared with the
 * sign bit masked, so all 16 canonical-y encodings of a torsion point match.
 */
const SMALL_ORDER_Y: readonly Uint8Array[] = [
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
].map((h) => Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16))))

/** true when the 32-byte little-endian value at `b[off..off+32)` is < L. */
export function ed25519ScalarIsCanonical(b: Uint8Array, off = 0): boolean {
  for (let i = 31; i >= 0; i--) {
    const x = b[off + i]
    const l = L_LE[i]
    if (x < l) return true
    if (x > l) return false
  }
  return false // equal to L
}

/** true when the encoding's y (sign bit masked) is >= p = 2^255 - 19, i.e. not canonical. */
function yIsNonCanonical(b: Uint8Array, off: number): boolean {
  if ((b[off + 31] & 0x7f) !== 0x7f) return false
  for (let i = 30; i >= 1; i--) if (b[off + i] !== 0xff) return false
  return b[off] >= 0xed
}

function isSmallOrderEncoding(b: Uint8Array, off: number): boolean {
  for (const y of SMALL_ORDER_Y) {
    let same = true
    for (let i = 0; i < 31; i++) {
      if (b[off + i] !== y[i]) {
        same = false
        break
      }
    }
    if (same && (b[off + 31] & 0x7f) === y[31]) return true
  }
  return false
}

/**
 * Pre-checks of the Ed25519 rule that do not need curve arithmetic. A backend returns false when this
 * returns false, and otherwise decodes A and checks the cofactorless equation.
 */
export function ed25519PrecheckOk(publicKey: Uint8Array, sig: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array) || !(sig instanceof Uint8Array)) return false
  if (publicKey.length !== ED25519_PUBLIC_KEY_BYTES || sig.length !== ED25519_SIGNATURE_BYTES) return false
  if (!ed25519ScalarIsCanonical(sig, 32)) return false
  if (yIsNonCanonical(publicKey, 0) || isSmallOrderEncoding(publicKey, 0)) return false
  if (isSmallOrderEncoding(sig, 0)) return false
  return true
}

/** Structural check of an Ed25519 public key (canonical, not small-order). Does not decode the point. */
export function ed25519PublicKeyIsWellFormed(publicKey: Uint8Array): boolean {
  return (
    publicKey instanceof Uint8Array &&
    publicKey.length === ED25519_PUBLIC_KEY_BYTES &&
    !yIsNonCanonical(publicKey, 0) &&
    !isSmallOrderEncoding(publicKey, 0)
  )
}
