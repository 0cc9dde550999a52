/**
 * Double-sign guard (CometBFT privval LastSignState rules): sign only at a strictly later
 * (height, round, step); at the same (height, round, step) re-send the message already signed, whatever
 * the engine now wants; at an earlier one sign nothing.
 */
import { equalBytes } from '@pulsemesh/core/bytes.ts'
import { SignStep, type SignState, type UnsignedProposal, type UnsignedVote } from './types.ts'

export const EMPTY_SIGN_STATE: SignState = Object.freeze({
  height: 0n,
  round: -1,
  step: SignStep.None,
  proposal: null,
  vote: null,
  lockedRound: -1,
  lockedBlockHash: null,
}) as SignState

/** Order of (height, round, step) against the last signed one: -1 earlier, 0 same, 1 later. */
export function compareHrs(s: SignState, height: bigint, round: number, step: SignStep): -1 | 0 | 1 {
  if (height !== s.height) return height > s.height ? 1 : -1
  if (round !== s.round) return round > s.round ? 1 : -1
  if (step !== s.step) return step > s.step ? 1 : -1
  return 0
}

export type GuardResult<M> = { kind: 'sign'; message: M } | { kind: 'resend'; message: M } | { kind: 'refuse' }

/** Decide what to do with a proposal the engine wants signed. */
export function guardProposal(s: SignState, p: UnsignedProposal): GuardResult<UnsignedProposal> {
  const c = compareHrs(s, p.height, p.round, SignStep.Proposal)
  if (c > 0) return { kind: 'sign', message: p }
  if (c === 0 && s.proposal) return { kind: 'resend', message: s.proposal }
  return { kind: 'refuse' }
}

export function guardVote(s: SignState, v: UnsignedVote): GuardResult<UnsignedVote> {
  const step = v.type === 1 ? SignStep.Prevote : SignStep.Precommit
  const c = compareHrs(s, v.height, v.round, step)
  if (c > 0) return { kind: 'sign', message: v }
  if (c === 0 && s.vote) return { kind: 'resend', message: s.vote }
  return { kind: 'refuse' }
}

/** Deep copy so the shell can persist the record without aliasing engine state. */
export function cloneSignState(s: SignState): SignState {
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    proposal: s.proposal ? { ...s.proposal, blockHash: s.proposal.blockHash.slice() } : null,
    vote: s.vote ? { ...s.vote, blockHash: s.vote.blockHash.slice(), extension: s.vote.extension.slice() } : null,
    lockedRound: s.lockedRound,
    lockedBlockHash: s.lockedBlockHash ? s.lockedBlockHash.slice() : null,
  }
}

export function sameSignState(a: SignState, b: SignState): boolean {
  return (
    a.height === b.height &&
    a.round === b.round &&
    a.step === b.step &&
    a.lockedRound === b.lockedRound &&
    (a.lockedBlockHash === null) === (b.lockedBlockHash === null) &&
    (a.lockedBlockHash === null || equalBytes(a.lockedBlockHash, b.lockedBlockHash!))
  )
}
