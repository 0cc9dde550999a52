/** Merkle trees and proofs: RFC 6962 list roots (txs, events) and the authenticated state tree. */
export type { HashFn, HashIntoFn } from './hash.ts'
export {
  decodeMerkleProof,
  encodeMerkleProof,
  MERKLE_MAX_LEAVES,
  MERKLE_MAX_PROOF_SIBLINGS,
  MERKLE_PROOF_MAX_BYTES,
  type MerkleProof,
  merkleLeafHash,
  merkleNodeHash,
  merkleProof,
  merkleRoot,
  verifyMerkleProof,
} from './tx-root.ts'
export {
  emptyStateRoot,
  STATE_INLINE_VALUE_MAX_BYTES,
  STATE_KEY_MAX_BYTES,
  STATE_MAX_DEPTH,
  STATE_VALUE_MAX_BYTES,
} from './state-hashing.ts'
export {
  decodeStateProof,
  encodeStateProof,
  STATE_PROOF_MAX_BYTES,
  type StateProof,
  type StateProofLeaf,
  type StateProofLevel,
  verifyStateProof,
} from './state-proof.ts'
export {
  STATE_JOURNAL_MAX_ENTRIES_DEFAULT,
  STATE_SNAPSHOTS_MAX_DEFAULT,
  StateTree,
  type StateTreeOptions,
} from './state-tree.ts'
