/**
 * Plain data types shared by consensus, app and node. Their canonical binary encodings live in
 * ./codec (SSZ); these interfaces are what code passes around. All hashes are 32 bytes.
 */

/** Signature schemes an account or validator key may use. */
export type KeyScheme = 'ed25519' | 'secp256k1'

export interface PublicKey {
  scheme: KeyScheme
  /** 32 bytes (ed25519) or 33 bytes compressed SEC1 (secp256k1). */
  bytes: Uint8Array
}

/** Vote steps of Tendermint. Numeric values are part of the signed encoding. */
export const VoteType = { Prevote: 1, Precommit: 2 } as const
export type VoteType = (typeof VoteType)[keyof typeof VoteType]

/** An all-zero 32-byte block id means "nil" (no block). */
export interface Vote {
  type: VoteType
  height: bigint
  round: number
  /** Hash of the block voted for, or 32 zero bytes for nil. */
  blockHash: Uint8Array
  /** Proposer-independent BFT time contribution, ms since epoch (only meaningful in precommits). */
  timestampMs: bigint
  validatorIndex: number
  /** Optional application data attached to precommits (oracle prices, emotion scores); signed. */
  extension: Uint8Array
  signature: Uint8Array
}

export interface Proposal {
  height: bigint
  round: number
  /** -1 when not re-proposing a valid block from an earlier round. */
  polRound: number
  blockHash: Uint8Array
  timestampMs: bigint
  signature: Uint8Array
}

/** The > 2/3 precommits that make a block final. One signature per validator index (absent = empty). */
export interface CommitSig {
  validatorIndex: number
  timestampMs: bigint
  extension: Uint8Array
  signature: Uint8Array
}
export interface Commit {
  height: bigint
  round: number
  blockHash: Uint8Array
  signatures: CommitSig[]
}

export interface Validator {
  /** Consensus key (ed25519). */
  publicKey: Uint8Array
  votingPower: bigint
}
