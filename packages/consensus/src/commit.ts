/**
 * Commit certificates: > 2/3 of a height's voting power precommitted one block in one round.
 * `verifyCommit` checks every signature (full nodes, block sync); `verifyCommitTrusting` checks that
 * more than `trustLevel` (default 1/3) of an older, trusted set signed (light-client skipping).
 */
import { equalBytes, toHex } from '@pulsemesh/core/bytes.ts'
import { type Commit, type Vote, VoteType } from '@pulsemesh/core/types.ts'
import { ConsensusError } from './errors.ts'
import type { ConsensusVerifier, UnsignedVote } from './types.ts'
import { checkCommitSigShape, HASH_BYTES, isNilHash, MAX_HEIGHT } from './validate.ts'
import { hasTwoThirds, indexOfAddress, type ValidatorSet } from './validator-set.ts'

/** Extensions larger than this never verify (matches the engine's default limit). */
const MAX_EXTENSION_BYTES = 64 * 1024

export interface CommitTally {
  signedPower: bigint
  totalPower: bigint
}

/** The precommit a commit signature stands for. */
export function commitSigToVote(commit: Commit, i: number): UnsignedVote {
  const s = commit.signatures[i]
  return {
    type: VoteType.Precommit,
    height: commit.height,
    round: commit.round,
    blockHash: commit.blockHash,
    timestampMs: s.timestampMs,
    validatorIndex: s.validatorIndex,
    extension: s.extension,
  }
}

/** Build a commit from precommits for one block (sorted by validator index). */
export function commitFromVotes(height: bigint, round: number, blockHash: Uint8Array, votes: Vote[]): Commit {
  const signatures = votes
    .filter((v) => v.type === VoteType.Precommit && equalBytes(v.blockHash, blockHash) && v.round === round)
    .sort((a, b) => a.validatorIndex - b.validatorIndex)
    .map((v) => ({
      validatorIndex: v.validatorIndex,
      timestampMs: v.timestampMs,
      extension: v.extension,
      signature: v.signature,
    }))
  return { height, round, blockHash, signatures }
}

function checkCommitShape(commit: Commit): void {
  if (typeof commit !== 'object' || commit === null)
    throw new ConsensusError('COMMIT_MALFORMED', 'not an object')
  if (typeof commit.height !== 'bigint' || commit.height < 1n || commit.height > MAX_HEIGHT)
    throw new ConsensusError('COMMIT_MALFORMED', 'height out of range')
  if (!Number.isSafeInteger(commit.round) || commit.round < 0 || commit.round > 0x7fffffff)
    throw new ConsensusError('COMMIT_MALFORMED', 'round out of range')
  if (
    !(commit.blockHash instanceof Uint8Array) ||
    commit.blockHash.length !== HASH_BYTES ||
    isNilHash(commit.blockHash)
  )
    throw new ConsensusError('COMMIT_MALFORMED', 'blockHash must be a non-nil 32-byte hash')
  if (!Array.isArray(commit.signatures))
    throw new ConsensusError('COMMIT_MALFORMED', 'signatures must be an array')
  for (let i = 0; i < commit.signatures.length; i++) {
    const why = checkCommitSigShape(commit.signatures[i], MAX_EXTENSION_BYTES)
    if (why) throw new ConsensusError('COMMIT_MALFORMED', `signature ${i}: ${why}`, { index: i })
  }
}

/**
 * Verify that > 2/3 of `validatorSet`'s power signed precommits for `commit.blockHash` at
 * `commit.height`/`commit.round`. Every signature present must be valid and from a distinct known index.
 * `expect` pins the height (and optionally the block) the caller is verifying.
 */
export function verifyCommit(
  commit: Commit,
  validatorSet: ValidatorSet,
  verifier: Pick<ConsensusVerifier, 'voteSignBytes' | 'verify'>,
  expect: { height: bigint; blockHash?: Uint8Array },
): CommitTally {
  checkCommitShape(commit)
  if (commit.height !== expect.height)
    throw new ConsensusError('COMMIT_WRONG_HEIGHT', 'commit is for another height', {
      got: commit.height,
      want: expect.height,
    })
  if (expect.blockHash && !equalBytes(expect.blockHash, commit.blockHash))
    throw new ConsensusError('COMMIT_WRONG_BLOCK', 'commit is for another block', {
      got: toHex(commit.blockHash),
    })
  if (commit.signatures.length > validatorSet.validators.length)
    throw new ConsensusError('COMMIT_MALFORMED', 'more signatures than validators')
  const seen = new Uint8Array(validatorSet.validators.length)
  let signed = 0n
  for (let i = 0; i < commit.signatures.length; i++) {
    const s = commit.signatures[i]
    const v = validatorSet.validators[s.validatorIndex]
    if (!v)
      throw new ConsensusError('COMMIT_UNKNOWN_VALIDATOR', 'unknown validator index', {
        index: s.validatorIndex,
      })
    if (seen[s.validatorIndex])
      throw new ConsensusError('COMMIT_DUPLICATE_SIGNATURE', 'two signatures from one validator', {
        index: s.validatorIndex,
      })
    seen[s.validatorIndex] = 1
    if (!verifier.verify(v.publicKey, verifier.voteSignBytes(commitSigToVote(commit, i)), s.signature))
      throw new ConsensusError('COMMIT_INVALID_SIGNATURE', 'invalid precommit signature', {
        index: s.validatorIndex,
      })
    signed += v.votingPower
  }
  const total = validatorSet.totalVotingPower
  if (!hasTwoThirds(signed, total))
    throw new ConsensusError(
      'COMMIT_INSUFFICIENT_POWER',
      'commit has not more than 2/3 of the voting power',
      {
        signed,
        total,
      },
    )
  return { signedPower: signed, totalPower: total }
}

/**
 * Light-client skipping check (CometBFT VerifyCommitLightTrusting): strictly more than
 * `trustLevel` (default 1/3) of the TRUSTED set's power signed this commit. Signers are found by
 * address through `signerSet` (the commit's own validator set) and must carry the same key in the
 * trusted set. This does not check the commit against its own set: do that with verifyCommit.
 */
export function verifyCommitTrusting(
  commit: Commit,
  signerSet: ValidatorSet,
  trustedSet: ValidatorSet,
  verifier: Pick<ConsensusVerifier, 'voteSignBytes' | 'verify'>,
  trustLevel: { numerator: bigint; denominator: bigint } = { numerator: 1n, denominator: 3n },
): CommitTally {
  checkCommitShape(commit)
  const { numerator, denominator } = trustLevel
  if (numerator * 3n < denominator || numerator > denominator || denominator === 0n)
    throw new ConsensusError('COMMIT_BAD_TRUST_LEVEL', 'trust level must be within [1/3, 1]')
  const seen = new Uint8Array(signerSet.validators.length)
  let tallied = 0n
  for (let i = 0; i < commit.signatures.length; i++) {
    const s = commit.signatures[i]
    const sv = signerSet.validators[s.validatorIndex]
    if (!sv)
      throw new ConsensusError('COMMIT_UNKNOWN_VALIDATOR', 'unknown validator index', {
        index: s.validatorIndex,
      })
    if (seen[s.validatorIndex])
      throw new ConsensusError('COMMIT_DUPLICATE_SIGNATURE', 'two signatures from one validator', {
        index: s.validatorIndex,
      })
    seen[s.validatorIndex] = 1
    const ti = indexOfAddress(trustedSet, sv.address)
    if (ti < 0) continue
    const tv = trustedSet.validators[ti]
    if (!equalBytes(tv.publicKey, sv.publicKey)) continue
    if (!verifier.verify(tv.publicKey, verifier.voteSignBytes(commitSigToVote(commit, i)), s.signature))
      throw new ConsensusError('COMMIT_INVALID_SIGNATURE', 'invalid precommit signature', {
        index: s.validatorIndex,
      })
    tallied += tv.votingPower
  }
  const total = trustedSet.totalVotingPower
  if (tallied * denominator <= total * numerator)
    throw new ConsensusError('COMMIT_INSUFFICIENT_POWER', 'not enough trusted voting power signed', {
      signed: tallied,
      total,
    })
  return { signedPower: tallied, totalPower: total }
}
