/**
 * Consensus-local types: what the engine takes in (events), what it asks the shell to do (actions),
 * and the records the shell must persist. Shared wire types (Vote, Proposal, Commit) come from core.
 */
import type { Commit, Proposal, Vote } from '@pulsemesh/core/types.ts'
import type { ValidatorSet } from './validator-set.ts'

export type UnsignedVote = Omit<Vote, 'signature'>
export type UnsignedProposal = Omit<Proposal, 'signature'>

/**
 * How signed consensus messages are turned into bytes and checked. Injected so the engine stays pure:
 * the node passes an OpenSSL-backed verifier (with a cache), browsers @noble, the simulator a fast
 * deterministic scheme. `voteSignBytes`/`proposalSignBytes` must bind the chain id and a type tag.
 */
export interface ConsensusVerifier {
  voteSignBytes(vote: UnsignedVote): Uint8Array
  proposalSignBytes(proposal: UnsignedProposal): Uint8Array
  /** Never throws; false for any malformed key or signature. */
  verify(publicKey: Uint8Array, message: Uint8Array, signature: Uint8Array): boolean
}

/** Steps a validator signs at, in the order it signs them within one round. */
export const SignStep = { None: 0, Proposal: 1, Prevote: 2, Precommit: 3 } as const
export type SignStep = (typeof SignStep)[keyof typeof SignStep]

/**
 * The double-sign guard's memory. The shell MUST write it durably (fsync) before it signs and sends the
 * message an action carries; after a restart it hands the last persisted record back to the engine.
 * (height, round, step) is the last thing signed. The latest signed message of each kind is kept whole
 * so a restart re-signs identical bytes (Ed25519 and RFC 6979 ECDSA are deterministic: the same
 * signature) instead of a conflict, and re-broadcasts them (peers may have lost them too).
 * The lock travels with it because losing the lock on restart would allow amnesia (prevoting a
 * different block after precommitting one) even without an explicit double sign.
 */
export interface SignState {
  height: bigint
  round: number
  step: SignStep
  /** The latest proposal signed. */
  proposal: UnsignedProposal | null
  /** The latest vote signed (of either type). */
  vote: UnsignedVote | null
  /**
   * The latest prevote and precommit signed (each may be from an earlier round than `round`), so a
   * restart can re-send both. Optional: a record without them still guards correctly, it only re-sends less.
   */
  prevote?: UnsignedVote | null
  precommit?: UnsignedVote | null
  /** Lock at `height` when this was signed (-1 / null = none). */
  lockedRound: number
  lockedBlockHash: Uint8Array | null
  /** BFT time of the locked block: a precommit for it after a restart must still be stamped later. */
  lockedBlockTimeMs?: bigint
  /**
   * The > 2/3 prevotes (signed, one per validator) that justified the lock. Re-ingested on restart so
   * the proof-of-lock survives even if every node that saw it crashed: without it, locked validators
   * could refuse every other block while nobody can show the polka for theirs (a liveness hole).
   * Optional for records written without it.
   */
  lockProof?: Vote[]
}

export type TimeoutStep = 'propose' | 'prevote' | 'precommit'

export type EngineEvent =
  | {
      type: 'StartHeight'
      height: bigint
      /** Validator set of this height, priorities as of round 0 (see advanceValidatorSet). */
      validatorSet: ValidatorSet
      nowMs: bigint
    }
  | { type: 'ProposalReceived'; proposal: Proposal; nowMs: bigint }
  | { type: 'VoteReceived'; vote: Vote; nowMs: bigint }
  | { type: 'TimeoutFired'; height: bigint; round: number; step: TimeoutStep; nowMs: bigint }
  /**
   * Answer to ValidateBlock: the application's verdict on a proposed block, and (if valid) the block's
   * BFT time (header time = medianTime of its last commit). Our precommit for it is stamped later.
   */
  | {
      type: 'BlockValidated'
      height: bigint
      blockHash: Uint8Array
      valid: boolean
      blockTimeMs: bigint
      nowMs: bigint
    }
  /** Answer to GetProposalBlock: the shell built (and stored) a block; it is valid by construction. */
  | {
      type: 'ProposalBlock'
      height: bigint
      round: number
      blockHash: Uint8Array
      blockTimeMs: bigint
      nowMs: bigint
    }

export interface DuplicateVoteEvidence {
  /** The two votes, ordered so voteA.blockHash < voteB.blockHash (canonical, byte order). */
  voteA: Vote
  voteB: Vote
  validatorPower: bigint
  totalVotingPower: bigint
}

export type EngineAction =
  /**
   * Persist `signState` durably, THEN sign `proposal`, broadcast it and feed it back as ProposalReceived.
   * `resend` = this is the message already signed before a restart (identical bytes).
   */
  | { type: 'SignAndBroadcastProposal'; proposal: UnsignedProposal; signState: SignState; resend: boolean }
  /** Persist `signState` durably, THEN sign `vote`, broadcast it and feed it back as VoteReceived. */
  | { type: 'SignAndBroadcastVote'; vote: UnsignedVote; signState: SignState; resend: boolean }
  | { type: 'ScheduleTimeout'; height: bigint; round: number; step: TimeoutStep; durationMs: number }
  | { type: 'GetProposalBlock'; height: bigint; round: number }
  /**
   * `round`/`polRound` of the proposal that carried the block: a block re-proposed with a POL
   * (`polRound` >= 0) was built by the proposer of an earlier round, not of `round`.
   */
  | { type: 'ValidateBlock'; height: bigint; round: number; polRound: number; blockHash: Uint8Array }
  | { type: 'Commit'; height: bigint; round: number; blockHash: Uint8Array; commit: Commit }
  | { type: 'RecordEvidence'; evidence: DuplicateVoteEvidence }
  /** A network message was dropped; `code` says why (for peer scoring and metrics). State is untouched. */
  | { type: 'MessageRejected'; code: RejectCode; detail: string }

export type RejectCode =
  | 'MSG_MALFORMED'
  | 'MSG_UNKNOWN_VALIDATOR'
  | 'MSG_BAD_SIGNATURE'
  | 'MSG_BAD_EXTENSION'
  | 'MSG_TOO_MANY_FUTURE_ROUNDS'
  | 'MSG_TOO_MANY_PROPOSALS'
  | 'MSG_TOO_MANY_CONFLICTING_VOTES'
  | 'MSG_BUFFER_FULL'

/** Timeouts grow linearly per round: base + round * delta (the paper's timeoutX(r)). */
export interface TimeoutParams {
  proposeBaseMs: number
  proposeDeltaMs: number
  prevoteBaseMs: number
  prevoteDeltaMs: number
  precommitBaseMs: number
  precommitDeltaMs: number
}

export interface EngineLimits {
  /** Largest vote extension accepted or produced. */
  maxExtensionBytes: number
  /** Messages for the next height held until StartHeight (then re-checked). */
  maxBufferedMessages: number
  /** Rounds above the current one a single validator may occupy (CometBFT's catch-up rounds). */
  maxFutureRoundsPerValidator: number
  /** Extra (conflicting) votes kept per validator, round and type without > 1/3 support for their block. */
  maxConflictingVotesPerValidator: number
  /** Distinct proposals kept per round without vote support (an equivocating proposer gets this many). */
  maxProposalsPerRound: number
  /** Highest round number accepted (rounds are int32 on the wire). */
  maxRound: number
}
