/**
 * The hash the Merkle code uses: SHA-256 through the shared crypto layer (its backend is injected:
 * @noble by default, node:crypto in the Node runtime). Kept as one tiny module so the Merkle files
 * have a single import to change if the crypto entry point moves.
 */
import { cryptoBackend } from '../crypto/index.ts'
import { PulseError } from '../errors.ts'

export { sha256 } from '../crypto/index.ts'

/** A SHA-256 implementation: 32-byte digest of `data`. Anything else gives roots nobody can verify. */
export type HashFn = (data: Uint8Array) => Uint8Array

/**
 * SHA-256 of `data` written to out[offset .. offset+32). The state tree hashes through this form so
 * a backend can skip allocating a fresh 32-byte buffer per call: with node:crypto, a Buffer result
 * costs an off-heap ArrayBuffer each time, about half the cost of hashing 64 bytes.
 */
export type HashIntoFn = (data: Uint8Array, out: Uint8Array, offset: number) => void

/** The optional allocation-free method a crypto backend may provide (see README). */
interface BackendWithInto {
  sha256(data: Uint8Array): Uint8Array
  sha256Into?: HashIntoFn
}

/** SHA-256 into `out` through the installed backend: its `sha256Into` when it has one. */
export function sha256Into(data: Uint8Array, out: Uint8Array, offset: number): void {
  const b = cryptoBackend() as BackendWithInto
  if (b.sha256Into !== undefined) b.sha256Into(data, out, offset)
  else out.set(b.sha256(data), offset)
}

/** The HashIntoFn of a plain HashFn. */
export function hashIntoOf(hash: HashFn): HashIntoFn {
  return (data, out, offset) => {
    const h = hash(data)
    if (!(h instanceof Uint8Array) || h.length !== 32) {
      throw new PulseError('STATE_BAD_HASH', 'the hash function must return 32 bytes')
    }
    out.set(h, offset)
  }
}
