/**
 * Strict DER for ECDSA signatures (secp256k1), as Bitcoin's BIP 66 requires:
 *
 *   0x30 len 0x02 rlen r 0x02 slen s     (nothing before, nothing after)
 *
 * - lengths in the short form only (a 256-bit signature is at most 72 bytes, so the long form is
 *   never minimal);
 * - each integer is positive (top bit of the first byte clear), minimal (a leading 0x00 only when the
 *   next byte has its top bit set), 1..33 bytes, and fits in 32 bytes once the sign byte is dropped.
 *
 * Anything else is refused (null), so a DER signature has exactly one accepted byte string: a
 * signature that fails strict parsing is an invalid signature, not a different one. The range
 * (1 <= r, s < n, low S) is the verifier's job.
 */

/** Longest strict DER ECDSA signature over a 256-bit group: 2 + 2 * (2 + 33). */
export const ECDSA_DER_MAX_BYTES = 72

/** Parse a strict-DER ECDSA signature into 64-byte r || s, or null if not strict DER. Never throws. */
export function ecdsaSignatureFromDer(der: Uint8Array): Uint8Array | null {
  if (!(der instanceof Uint8Array) || der.length < 8 || der.length > ECDSA_DER_MAX_BYTES) return null
  if (der[0] !== 0x30 || der[1] !== der.length - 2) return null
  const out = new Uint8Array(64)
  let pos = 2
  for (let k = 0; k < 2; k++) {
    if (pos + 2 > der.length || der[pos] !== 0x02) return null
    const len = der[pos + 1]
    pos += 2
    if (len === 0 || len > 33 || pos + len > der.length) return null
    if (der[pos] & 0x80) return null // negative
    if (len > 1 && der[pos] === 0 && !(der[pos + 1] & 0x80)) return null // non-minimal
    let start = pos
    let n = len
    if (der[pos] === 0 && len > 1) {
      start++
      n--
    }
    if (n > 32) return null
    out.set(der.subarray(start, start + n), 32 * k + (32 - n))
    pos += len
  }
  return pos === der.length ? out : null
}

/** Strict DER encoding of a 64-byte r || s signature (r and s must be non-zero to be meaningful). */
export function ecdsaSignatureToDer(sig: Uint8Array): Uint8Array {
  if (!(sig instanceof Uint8Array) || sig.length !== 64)
    throw new TypeError('ecdsaSignatureToDer: expected 64 bytes')
  const int = (v: Uint8Array): number[] => {
    let i = 0
    while (i < v.length - 1 && v[i] === 0) i++
    const body = Array.from(v.subarray(i))
    if (body[0] & 0x80) body.unshift(0)
    return [0x02, body.length, ...body]
  }
  const r = int(sig.subarray(0, 32))
  const s = int(sig.subarray(32, 64))
  return Uint8Array.from([0x30, r.length + s.length, ...r, ...s])
}
