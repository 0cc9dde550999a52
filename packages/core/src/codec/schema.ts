/**
 * SSZ schemas of everything that is hashed or signed (DESIGN §4). The TypeScript shapes used by the
 * rest of the code are in ../types.ts and ./tx.ts; the functions in ./index.ts convert between them.
 */
import {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
} from '@chainsafe/ssz'
import { LIMITS } from '../limits.ts'

export const Bytes32 = new ByteVectorType(32)
export const Bytes20 = new ByteVectorType(20)
export const Uint8 = new UintNumberType(1)
export const Uint16 = new UintNumberType(2)
export const Uint32 = new UintNumberType(4)
export const Uint64 = new UintBigintType(8)
export const Uint128 = new UintBigintType(16)
export const NetworkIdSSZ = new ByteListType(LIMITS.networkIdBytesMax)
export const AssetIdSSZ = new ByteListType(LIMITS.assetIdBytesMax)

export const PublicKeySSZ = new ContainerType({
  /** KEY_SCHEME_BYTE: 1 = ed25519, 2 = secp256k1 */
  scheme: Uint8,
  bytes: new ByteListType(LIMITS.publicKeyBytesMax),
})

export const TxBodySSZ = new ContainerType({
  networkId: NetworkIdSSZ,
  sender: PublicKeySSZ,
  nonce: Uint64,
  /** Paid in the network's fee asset, whatever the tx does. */
  fee: Uint128,
  /** Last height at which the tx may be included. */
  expiresAt: Uint64,
  /** Module-assigned tx kind; `payload` is that kind's own SSZ encoding. */
  kind: Uint16,
  payload: new ByteListType(LIMITS.txPayloadBytesMax),
  memo: new ByteListType(LIMITS.txMemoBytesMax),
})

export const SignedTxSSZ = new ContainerType({
  body: TxBodySSZ,
  signature: new ByteListType(LIMITS.signatureBytesMax),
})

export const CommitSigSSZ = new ContainerType({
  validatorIndex: Uint16,
  timestampMs: Uint64,
  extension: new ByteListType(LIMITS.voteExtensionBytesMax),
  signature: new ByteListType(LIMITS.signatureBytesMax),
})

export const CommitSSZ = new ContainerType({
  height: Uint64,
  round: Uint32,
  blockHash: Bytes32,
  signatures: new ListCompositeType(CommitSigSSZ, LIMITS.validatorsMax),
})

/** What a validator signs for a vote (the signature itself travels beside it). */
export const VoteSignDocSSZ = new ContainerType({
  networkId: NetworkIdSSZ,
  type: Uint8,
  height: Uint64,
  round: Uint32,
  blockHash: Bytes32,
  timestampMs: Uint64,
  extension: new ByteListType(LIMITS.voteExtensionBytesMax),
})

export const VoteSSZ = new ContainerType({
  type: Uint8,
  height: Uint64,
  round: Uint32,
  blockHash: Bytes32,
  timestampMs: Uint64,
  validatorIndex: Uint16,
  extension: new ByteListType(LIMITS.voteExtensionBytesMax),
  signature: new ByteListType(LIMITS.signatureBytesMax),
})

export const ProposalSignDocSSZ = new ContainerType({
  networkId: NetworkIdSSZ,
  height: Uint64,
  round: Uint32,
  /** polRound + 1, so that -1 (none) encodes as 0. */
  polRoundPlusOne: Uint32,
  blockHash: Bytes32,
  timestampMs: Uint64,
})

export const ValidatorSSZ = new ContainerType({
  publicKey: Bytes32,
  votingPower: Uint64,
})

export const HeaderSSZ = new ContainerType({
  networkId: NetworkIdSSZ,
  height: Uint64,
  /** BFT time in ms since the Unix epoch. */
  timeMs: Uint64,
  prevHash: Bytes32,
  /** Hash of the commit certificate of the previous block carried in this block. */
  lastCommitHash: Bytes32,
  txRoot: Bytes32,
  txCount: Uint32,
  /** State root after executing this block's txs. */
  stateRoot: Bytes32,
  /** Merkle root of the encoded TxResult of each tx, in block order. */
  resultsRoot: Bytes32,
  validatorsHash: Bytes32,
  nextValidatorsHash: Bytes32,
  evidenceHash: Bytes32,
  /** Consensus public key of the proposer. */
  proposer: Bytes32,
})

export const BlockSSZ = new ContainerType({
  header: HeaderSSZ,
  txs: new ListCompositeType(new ByteListType(LIMITS.txBytesMax), LIMITS.blockTxsMax),
  lastCommit: CommitSSZ,
  evidence: new ListCompositeType(new ByteListType(LIMITS.evidenceBytesMax), LIMITS.evidenceMax),
})

export const AttributeSSZ = new ContainerType({
  key: new ByteListType(LIMITS.eventKeyBytesMax),
  value: new ByteListType(LIMITS.eventValueBytesMax),
})
export const EventSSZ = new ContainerType({
  type: new ByteListType(LIMITS.eventKeyBytesMax),
  attributes: new ListCompositeType(AttributeSSZ, LIMITS.eventAttributesMax),
})
export const TxResultSSZ = new ContainerType({
  /** Empty on success, else the stable error code (e.g. INSUFFICIENT_FUNDS). */
  error: new ByteListType(LIMITS.errorCodeBytesMax),
  events: new ListCompositeType(EventSSZ, LIMITS.eventsPerTxMax),
})

/** The SSZ type constructors, so modules define payload schemas without depending on the library directly. */
export {
  ByteListType,
  ByteVectorType,
  ContainerType,
  ListBasicType,
  ListCompositeType,
  UintBigintType,
  UintNumberType,
} from '@chainsafe/ssz'
