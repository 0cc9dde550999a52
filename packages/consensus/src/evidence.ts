/**
 * Duplicate-vote evidence: one validator signed two votes of the same type at the same height and
 * round for different blocks (nil counts as a block id). Both signatures must verify.
 */
import { compareBytes } from '@pulsemesh/core/bytes.ts'
import type { Vote } from '@pulsemesh/core/types.ts'
import { ConsensusError } from './errors.ts'
import type { ConsensusVerifier, DuplicateVoteEvidence, EngineLimits } from './types.ts'
import { DEFAULT_LIMITS } from './params.ts'
import { checkVoteShape } from './validate.ts'
import type { ValidatorSet } from './validator-set.ts'

const unsigned = (v: Vote) => ({
  type: v.type,
  height: v.height,
  round: v.round,
  blockHash: v.blockHash,
  timestampMs: v.timestampMs,
  validatorIndex: v.validatorIndex,
  extension: v.extension,
})

/** Evidence from two conflicting votes, in canonical order. */
export function makeDuplicateVoteEvidence(
  a: Vote,
  b: Vote,
  validatorSet: ValidatorSet,
): DuplicateVoteEvidence {
  const [voteA, voteB] = compareBytes(a.blockHash, b.blockHash) < 0 ? [a, b] : [b, a]
  return {
    voteA,
    voteB,
    validatorPower: validatorSet.validators[a.validatorIndex].votingPower,
    totalVotingPower: validatorSet.totalVotingPower,
  }
}

/** Throws a ConsensusError (EVIDENCE_*) unless `ev` proves equivocation by a member of `validatorSet`. */
export function verifyDuplicateVoteEvidence(
  ev: DuplicateVoteEvidence,
  validatorSet: ValidatorSet,
  verifier: Pick<ConsensusVerifier, 'voteSignBytes' | 'verify'>,
  limits: EngineLimits = DEFAULT_LIMITS,
): void {
  if (typeof ev !== 'object' || ev === null) throw new ConsensusError('EVIDENCE_MALFORMED', 'not an object')
  for (const [name, v] of [
    ['voteA', ev.voteA],
    ['voteB', ev.voteB],
  ] as const) {
    const why = checkVoteShape(v, limits)
    if (why) throw new ConsensusError('EVIDENCE_MALFORMED', `${name}: ${why}`)
  }
  const { voteA: a, voteB: b } = ev
  if (
    a.type !== b.type ||
    a.height !== b.height ||
    a.round !== b.round ||
    a.validatorIndex !== b.validatorIndex
  )
    throw new ConsensusError('EVIDENCE_NOT_CONFLICTING', 'votes differ in type, height, round or validator')
  const order = compareBytes(a.blockHash, b.blockHash)
  if (order === 0) throw new ConsensusError('EVIDENCE_NOT_CONFLICTING', 'votes are for the same block')
  if (order > 0)
    throw new ConsensusError('EVIDENCE_MALFORMED', 'votes not in canonical order (voteA < voteB)')
  const val = validatorSet.validators[a.validatorIndex]
  if (!val) throw new ConsensusError('EVIDENCE_UNKNOWN_VALIDATOR', 'validator index not in the set')
  if (ev.validatorPower !== val.votingPower || ev.totalVotingPower !== validatorSet.totalVotingPower)
    throw new ConsensusError('EVIDENCE_WRONG_POWER', 'evidence powers do not match the validator set')
  for (const v of [a, b])
    if (!verifier.verify(val.publicKey, verifier.voteSignBytes(unsigned(v)), v.signature))
      throw new ConsensusError('EVIDENCE_INVALID_SIGNATURE', 'a vote signature does not verify')
}
