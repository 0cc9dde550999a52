/**
 * The byte-level part of PulseMesh's secp256k1 ECDSA rule, shared by every backend.
 *
 * Rule: ECDSA over e = SHA-256(msg) (256 bits = bit length of n, so no truncation), signature is
 * 64 bytes r || s big-endian with 1 <= r, s < n, and with `lowS` (the account rule) s <= (n-1)/2.
 * Public key: SEC1 compressed (33 bytes, 0x02/0x03 || x) or uncompressed (65 bytes, 0x04 || x || y),
 * coordinates < p, and the point on the curve (checked by the backend's decoder; hybrid 0x06/0x07
 * and the infinity encoding 0x00 are refused here, because OpenSSL would accept hybrid keys).
 */

export const SECP256K1_SIGNATURE_BYTES = 64
export const SECP256K1_SECRET_BYTES = 32
export const SECP256K1_COMPRESSED_BYTES = 33
export const SECP256K1_UNCOMPRESSED_BYTES = 65

/** Group order n (SEC 2 §2.4.1). */
export const SECP256K1_N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
/** Field prime p (SEC 2 §2.4.1). */
export const SECP256K1_P = 0xfffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2fn

const hexBytes = (h: string): Uint8Array =>
  Uint8Array.from(h.match(/../g)!.map((b) => Number.parseInt(b, 16)))
const N_BE = hexBytes('fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141')
/** floor(n / 2): the largest low-S value. */
const HALF_N_BE = hexBytes('7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0')
const P_BE = hexBytes('fffffffffffffffffffffffffffffffffffffffffffffffffffffffefffffc2f')

/** Compare the 32-byte big-endian value at b[off..off+32) with `ref`: -1, 0, 1. */
function cmp32(b: Uint8Array, off: number, ref: Uint8Array): number {
  for (let i = 0; i < 32; i++) {
    const x = b[off + i]
    const y = ref[i]
    if (x !== y) return x < y ? -1 : 1
  }
  return 0
}

function isZero32(b: Uint8Array, off: number): boolean {
  for (let i = 0; i < 32; i++) if (b[off + i] !== 0) return false
  return true
}

/** r, s in [1, n-1]; with lowS also s <= floor(n/2). */
export function secp256k1SignatureInRange(sig: Uint8Array, lowS: boolean): boolean {
  if (!(sig instanceof Uint8Array) || sig.length !== SECP256K1_SIGNATURE_BYTES) return false
  if (isZero32(sig, 0) || cmp32(sig, 0, N_BE) >= 0) return false
  if (isZero32(sig, 32) || cmp32(sig, 32, N_BE) >= 0) return false
  if (lowS && cmp32(sig, 32, HALF_N_BE) > 0) return false
  return true
}

/** true when s > floor(n/2) (a valid signature with a high S; see `secp256k1NormalizeS`). */
export function secp256k1HasHighS(sig: Uint8Array): boolean {
  return cmp32(sig, 32, HALF_N_BE) > 0
}

/** SEC1 prefix and length, coordinates < p. The on-curve check is the backend decoder's job. */
export function secp256k1PublicKeyIsWellFormed(publicKey: Uint8Array): boolean {
  if (!(publicKey instanceof Uint8Array)) return false
  if (publicKey.length === SECP256K1_COMPRESSED_BYTES) {
    return (publicKey[0] === 0x02 || publicKey[0] === 0x03) && cmp32(publicKey, 1, P_BE) < 0
  }
  if (publicKey.length === SECP256K1_UNCOMPRESSED_BYTES) {
    return publicKey[0] === 0x04 && cmp32(publicKey, 1, P_BE) < 0 && cmp32(publicKey, 33, P_BE) < 0
  }
  return false
}

/** Pre-checks of the secp256k1 rule that need no curve arithmetic. */
export function secp256k1PrecheckOk(publicKey: Uint8Array, sig: Uint8Array, lowS: boolean): boolean {
  return secp256k1PublicKeyIsWellFormed(publicKey) && secp256k1SignatureInRange(sig, lowS)
}

/**
 * 33-byte compressed form of a well-formed SEC1 key (prefix 0x02 | parity of y). Does not check that
 * the point is on the curve. Returns null when the key is not well formed.
 */
export function secp256k1CompressPublicKey(publicKey: Uint8Array): Uint8Array | null {
  if (!secp256k1PublicKeyIsWellFormed(publicKey)) return null
  if (publicKey.length === SECP256K1_COMPRESSED_BYTES) return publicKey.slice()
  const out = new Uint8Array(SECP256K1_COMPRESSED_BYTES)
  out[0] = 0x02 | (publicKey[64] & 1)
  out.set(publicKey.subarray(1, 33), 1)
  return out
}

/** Secret in [1, n-1] (32 bytes big-endian). */
export function secp256k1SecretIsValid(secret: Uint8Array): boolean {
  return (
    secret instanceof Uint8Array &&
    secret.length === SECP256K1_SECRET_BYTES &&
    !isZero32(secret, 0) &&
    cmp32(secret, 0, N_BE) < 0
  )
}

/** Low-S form of a 64-byte r || s signature (s -> n - s when s is high). Returns a copy. */
export function secp256k1NormalizeS(sig: Uint8Array): Uint8Array {
  const out = sig.slice()
  if (!secp256k1HasHighS(sig)) return out
  let s = 0n
  for (let i = 32; i < 64; i++) s = (s << 8n) | BigInt(sig[i])
  let t = SECP256K1_N - s
  for (let i = 63; i >= 32; i--) {
    out[i] = Number(t & 0xffn)
    t >>= 8n
  }
  return out
}
