/**
 * The injected cryptography backend. Pure packages call `cryptoBackend()`; the Node runtime installs
 * an OpenSSL-backed implementation (packages/node/src/crypto/node-backend.ts) with `setCryptoBackend`,
 * browsers keep the default @noble one. Both MUST give identical results on every input (tested
 * on Wycheproof vectors and by a differential fuzz test): nodes that disagree on a signature fork.
 */
export interface CryptoBackend {
  readonly name: string
  sha256(data: Uint8Array): Uint8Array
  /** Ed25519 public key (32 bytes) from a 32-byte seed. */
  ed25519PublicKey(seed: Uint8Array): Uint8Array
  ed25519Sign(seed: Uint8Array, msg: Uint8Array): Uint8Array
  /** Strict RFC 8032 verification (the project's one rule, see core README). Never throws. */
  ed25519Verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array): boolean
  /** Compressed (33-byte) secp256k1 public key from a 32-byte secret. */
  secp256k1PublicKey(secret: Uint8Array): Uint8Array
  /** ECDSA over SHA-256(msg), 64-byte r||s, always low-S. */
  secp256k1Sign(secret: Uint8Array, msg: Uint8Array): Uint8Array
  /**
   * ECDSA/SHA-256 verification of a 64-byte r||s signature against a 33- or 65-byte SEC1 key.
   * `lowS: true` (the account rule) rejects s > n/2. Never throws.
   */
  secp256k1Verify(publicKey: Uint8Array, msg: Uint8Array, sig: Uint8Array, opts: { lowS: boolean }): boolean
}
