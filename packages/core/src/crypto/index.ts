/**
 * The cryptography entry point for every package: the installed backend plus the helpers the rest of
 * the codebase calls (hashing, domain-separated hashing, keys, signing, verification).
 *
 * Core has no randomness: key generation takes the 32 random bytes from the caller.
 */
import { PulseError } from '../errors.ts'
import type { KeyScheme, PublicKey } from '../types.ts'
import type { CryptoBackend } from './backend.ts'
import { ED25519_PUBLIC_KEY_BYTES, ed25519PublicKeyIsWellFormed } from './ed25519-rule.ts'
import { nobleBackend } from './noble-backend.ts'
import { SECP256K1_N, secp256k1PublicKeyIsWellFormed } from './secp256k1-rule.ts'

export type { CryptoBackend } from './backend.ts'
export { nobleBackend } from './noble-backend.ts'
export { ecdsaSignatureFromDer, ecdsaSignatureToDer, ECDSA_DER_MAX_BYTES } from './ecdsa-der.ts'
export {
  ED25519_PUBLIC_KEY_BYTES,
  ED25519_SEED_BYTES,
  ED25519_SIGNATURE_BYTES,
  ed25519PrecheckOk,
  ed25519PublicKeyIsWellFormed,
} from './ed25519-rule.ts'
export {
  SECP256K1_COMPRESSED_BYTES,
  SECP256K1_N,
  SECP256K1_SIGNATURE_BYTES,
  SECP256K1_UNCOMPRESSED_BYTES,
  secp256k1CompressPublicKey,
  secp256k1NormalizeS,
  secp256k1PrecheckOk,
  secp256k1PublicKeyIsWellFormed,
  secp256k1SecretIsValid,
} from './secp256k1-rule.ts'

let installed: CryptoBackend = nobleBackend

/** The backend every helper below uses (default: @noble). */
export function cryptoBackend(): CryptoBackend {
  return installed
}

/** Install a backend (the Node runtime installs node:crypto at startup). Returns the previous one. */
export function setCryptoBackend(backend: CryptoBackend): CryptoBackend {
  const keys: (keyof CryptoBackend)[] = [
    'sha256',
    'ed25519PublicKey',
    'ed25519Sign',
    'ed25519Verify',
    'secp256k1PublicKey',
    'secp256k1Sign',
    'secp256k1Verify',
  ]
  for (const k of keys) {
    if (typeof backend?.[k] !== 'function') {
      throw new PulseError('CRYPTO_BACKEND_INVALID', `crypto backend lacks ${k}()`, { missing: k })
    }
  }
  const previous = installed
  installed = backend
  return previous
}

export function sha256(data: Uint8Array): Uint8Array {
  return installed.sha256(data)
}

const utf8Encoder = new TextEncoder()

function writeU32be(out: Uint8Array, off: number, n: number): void {
  out[off] = n >>> 24
  out[off + 1] = (n >>> 16) & 0xff
  out[off + 2] = (n >>> 8) & 0xff
  out[off + 3] = n & 0xff
}

/**
 * Domain-separated SHA-256. Exact byte layout hashed:
 *
 *   u32be(len(T)) || T || u32be(len(P1)) || P1 || ... || u32be(len(Pn)) || Pn
 *
 * where T = utf8(tag) and P1..Pn are the parts, lengths in bytes. Every field is length-prefixed, so
 * distinct (tag, parts) lists never produce the same preimage (("ab","c") and ("a","bc") differ), and
 * no tagged hash equals a plain sha256 of 32-byte data.
 */
export function taggedHash(tag: string, ...parts: Uint8Array[]): Uint8Array {
  const t = utf8Encoder.encode(tag)
  let n = 4 + t.length
  for (const p of parts) n += 4 + p.length
  const buf = new Uint8Array(n)
  writeU32be(buf, 0, t.length)
  buf.set(t, 4)
  let off = 4 + t.length
  for (const p of parts) {
    writeU32be(buf, off, p.length)
    buf.set(p, off + 4)
    off += 4 + p.length
  }
  return installed.sha256(buf)
}

/** One-byte scheme identifiers used in addresses and wire formats. 0 is never a scheme. */
export const KEY_SCHEME_BYTE: Readonly<Record<KeyScheme, number>> = { ed25519: 0x01, secp256k1: 0x02 }

export function keySchemeFromByte(b: number): KeyScheme | null {
  return b === 0x01 ? 'ed25519' : b === 0x02 ? 'secp256k1' : null
}

export interface KeyPair {
  scheme: KeyScheme
  /** ed25519: the 32-byte seed; secp256k1: the 32-byte big-endian scalar in [1, n-1]. */
  secretKey: Uint8Array
  publicKey: PublicKey
}

function assertScheme(scheme: KeyScheme): void {
  if (scheme !== 'ed25519' && scheme !== 'secp256k1') {
    throw new PulseError('CRYPTO_UNKNOWN_SCHEME', `unknown key scheme ${String(scheme)}`, { scheme })
  }
}

/**
 * Key pair from 32 caller-supplied random bytes. ed25519 uses them as the seed; secp256k1 maps them
 * to (x mod (n-1)) + 1, which is always a valid secret (bias ~2^-128, irrelevant).
 */
export function generateKeyPair(scheme: KeyScheme, randomBytes32: Uint8Array): KeyPair {
  assertScheme(scheme)
  if (!(randomBytes32 instanceof Uint8Array) || randomBytes32.length !== 32) {
    throw new PulseError('CRYPTO_INVALID_SECRET', 'generateKeyPair needs exactly 32 random bytes', {
      length: (randomBytes32 as Uint8Array | undefined)?.length,
    })
  }
  let secretKey: Uint8Array
  if (scheme === 'ed25519') {
    secretKey = randomBytes32.slice()
  } else {
    let x = 0n
    for (const b of randomBytes32) x = (x << 8n) | BigInt(b)
    x = (x % (SECP256K1_N - 1n)) + 1n
    secretKey = new Uint8Array(32)
    for (let i = 31; i >= 0; i--) {
      secretKey[i] = Number(x & 0xffn)
      x >>= 8n
    }
  }
  return { scheme, secretKey, publicKey: publicKeyFromSecret(scheme, secretKey) }
}

/** Public key (ed25519: 32 bytes; secp256k1: 33-byte compressed). Throws CRYPTO_INVALID_SECRET. */
export function publicKeyFromSecret(scheme: KeyScheme, secret: Uint8Array): PublicKey {
  assertScheme(scheme)
  const bytes =
    scheme === 'ed25519' ? installed.ed25519PublicKey(secret) : installed.secp256k1PublicKey(secret)
  return { scheme, bytes }
}

/** Sign `msg` (ed25519: RFC 8032; secp256k1: ECDSA over SHA-256(msg), 64-byte low-S r || s). */
export function sign(scheme: KeyScheme, secret: Uint8Array, msg: Uint8Array): Uint8Array {
  assertScheme(scheme)
  return scheme === 'ed25519' ? installed.ed25519Sign(secret, msg) : installed.secp256k1Sign(secret, msg)
}

/**
 * Verify under the project rule (see README "Cryptography"): strict Ed25519, low-S secp256k1. Returns
 * false on any malformed input (wrong lengths, unknown scheme, not bytes); never throws.
 */
export function verify(publicKey: PublicKey, msg: Uint8Array, sig: Uint8Array): boolean {
  if (publicKey === null || typeof publicKey !== 'object') return false
  const pk = publicKey.bytes
  if (!(pk instanceof Uint8Array) || !(msg instanceof Uint8Array) || !(sig instanceof Uint8Array))
    return false
  try {
    if (publicKey.scheme === 'ed25519') return installed.ed25519Verify(pk, msg, sig)
    if (publicKey.scheme === 'secp256k1') return installed.secp256k1Verify(pk, msg, sig, { lowS: true })
  } catch {
    // A backend must not throw; if one does, the answer is still "not valid".
  }
  return false
}

/**
 * Structural validity of a public key (length, SEC1 prefix, canonical coordinates, ed25519 not
 * small-order). Cheap: does not decode the point, so an off-curve key can pass (it can never sign).
 */
export function publicKeyIsWellFormed(publicKey: PublicKey): boolean {
  if (publicKey === null || typeof publicKey !== 'object' || !(publicKey.bytes instanceof Uint8Array))
    return false
  if (publicKey.scheme === 'ed25519') {
    return (
      publicKey.bytes.length === ED25519_PUBLIC_KEY_BYTES && ed25519PublicKeyIsWellFormed(publicKey.bytes)
    )
  }
  if (publicKey.scheme === 'secp256k1') return secp256k1PublicKeyIsWellFormed(publicKey.bytes)
  return false
}
