/**
 * Pure-JS cryptography backend on @noble/curves and @noble/hashes: the default everywhere (browsers,
 * tests, pure packages). The Node runtime swaps in the OpenSSL one (packages/node/src/crypto).
 *
 * Ed25519 verification is written here on noble's point arithmetic rather than calling
 * `ed25519.verify`, because noble checks the cofactored equation ([8]([S]B - [k]A - R) = 0) while
 * OpenSSL checks the cofactorless one (encode([S]B - [k]A) = R); they disagree on mixed-order keys.
 * The project rule is the cofactorless one plus the pre-checks in ./ed25519-rule.ts.
 */
import { ed25519 } from '@noble/curves/ed25519.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 as nobleSha256, sha512 } from '@noble/hashes/sha2.js'
import { PulseError } from '../errors.ts'
import type { CryptoBackend } from './backend.ts'
import { ED25519_SEED_BYTES, ed25519PrecheckOk } from './ed25519-rule.ts'
import { secp256k1PrecheckOk, secp256k1SecretIsValid } from './secp256k1-rule.ts'

const Point = ed25519.Point
const L = Point.Fn.ORDER

function bytesToBigLE(b: Uint8Array, from: number, to: number): bigint {
  let n = 0n
  for (let i = to - 1; i >= from; i--) n = (n << 8n) | BigInt(b[i])
  return n
}

function assertSeed(seed: Uint8Array): void {
  if (!(seed instanceof Uint8Array) || seed.length !== ED25519_SEED_BYTES) {
    throw new PulseError('CRYPTO_INVALID_SECRET', 'ed25519 seed must be 32 bytes', {
      length: (seed as Uint8Array | undefined)?.length,
    })
  }
}

function assertSecp256k1Secret(secret: Uint8Array): void {
  if (!secp256k1SecretIsValid(secret)) {
    throw new PulseError('CRYPTO_INVALID_SECRET', 'secp256k1 secret must be 32 bytes in [1, n-1]', {
      length: (secret as Uint8Array | undefined)?.length,
    })
  }
}

function ed25519VerifyCofactorless(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean {
  if (!(msg instanceof Uint8Array) || !ed25519PrecheckOk(publicKey, sig)) return false
  let A: InstanceType<typeof Point>
  try {
    A = Point.fromBytes(publicKey, false)
  } catch {
    return false // not on the curve
  }
  const R = sig.subarray(0, 32)
  const h = sha512.create().update(R).update(publicKey).update(msg).digest()
  const k = bytesToBigLE(h, 0, 64) % L
  const S = bytesToBigLE(sig, 32, 64) // < L: checked by the pre-check
  const check = Point.BASE.multiplyUnsafe(S).subtract(A.multiplyUnsafe(k)).toBytes()
  for (let i = 0; i < 32; i++) if (check[i] !== R[i]) return false
  return true
}

export const nobleBackend: CryptoBackend = {
  name: 'noble',
  sha256: (data) => nobleSha256(data),
  ed25519PublicKey(seed) {
    assertSeed(seed)
    return ed25519.getPublicKey(seed)
  },
  ed25519Sign(seed, msg) {
    assertSeed(seed)
    return ed25519.sign(msg, seed)
  },
  ed25519Verify: ed25519VerifyCofactorless,
  secp256k1PublicKey(secret) {
    assertSecp256k1Secret(secret)
    return secp256k1.getPublicKey(secret, true)
  },
  secp256k1Sign(secret, msg) {
    assertSecp256k1Secret(secret)
    // RFC 6979 deterministic nonce, SHA-256 prehash, low S, 64-byte compact r || s.
    return secp256k1.sign(msg, secret, { prehash: true, lowS: true, format: 'compact' })
  },
  secp256k1Verify(publicKey, msg, sig, opts) {
    const lowS = opts?.lowS !== false // a missing option means the stricter account rule
    if (!(msg instanceof Uint8Array) || !secp256k1PrecheckOk(publicKey, sig, lowS)) return false
    try {
      return secp256k1.verify(sig, msg, publicKey, { prehash: true, lowS, format: 'compact' })
    } catch {
      return false
    }
  },
}
