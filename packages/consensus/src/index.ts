/**
 * @pulsemesh/consensus: the Tendermint BFT engine (pure: events in, actions out), proposer selection,
 * commit certificates, evidence and BFT time. The deterministic simulator lives in ./sim.
 */
export { cometbftWeightedMedian, medianTime, type WeightedTime, weightedMedian } from './bft-time.ts'
export {
  type CommitTally,
  commitFromVotes,
  commitSigToVote,
  verifyCommit,
  verifyCommitTrusting,
} from './commit.ts'
export { type EngineOptions, type EngineSnapshot, type EngineStep, TendermintEngine } from './engine.ts'
export { ConsensusError, type ConsensusErrorCode } from './errors.ts'
export { makeDuplicateVoteEvidence, verifyDuplicateVoteEvidence } from './evidence.ts'
export { DEFAULT_LIMITS, DEFAULT_TIMEOUTS, timeoutMs } from './params.ts'
export { makeSignBytes } from './sign-bytes.ts'
export {
  blocksNamedBy,
  compareHrs,
  decodeSignState,
  EMPTY_SIGN_STATE,
  encodeSignState,
  guardProposal,
  guardVote,
  lastSignedVote,
} from './sign-state.ts'
export * from './types.ts'
export { checkProposalShape, checkVoteShape, isNilHash } from './validate.ts'
export {
  advanceValidatorSet,
  applyValidatorChanges,
  type ConsensusValidator,
  createValidatorSet,
  hasOneThird,
  hasTwoThirds,
  incrementProposerPriority,
  indexOfAddress,
  MAX_TOTAL_VOTING_POWER,
  proposerIndexForRound,
  type ValidatorChange,
  type ValidatorSet,
  validatorSetFromParts,
} from './validator-set.ts'
