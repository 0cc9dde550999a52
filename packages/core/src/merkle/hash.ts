/**
 * The hash the Merkle code uses: SHA-256 through the shared crypto layer (its backend is injected:
 * @noble by default, node:crypto in the Node runtime). Kept as one tiny module so the Merkle files
 * have a single import to change if the crypto entry point moves.
 */
export { sha256 } from '../crypto/index.ts'

/** A SHA-256 implementation: 32-byte digest of `data`. Anything else gives roots nobody can verify. */
export type HashFn = (data: Uint8Array) => Uint8Array
