/**
 * Double-sign guard (CometBFT privval LastSignState rules): sign only at a strictly later
 * (height, round, step); at the same (height, round, step) re-send the message already signed, whatever
 * the engine now wants; at an earlier one sign nothing.
 */
import { fromHex, toHex } from '@pulsemesh/core/bytes.ts'
import { ConsensusError } from './errors.ts'
import { SignStep, type SignState, type UnsignedProposal, type UnsignedVote } from './types.ts'

export const EMPTY_SIGN_STATE: SignState = Object.freeze({
  height: 0n,
  round: -1,
  step: SignStep.None,
  proposal: null,
  vote: null,
  prevote: null,
  precommit: null,
  lockedRound: -1,
  lockedBlockHash: null,
  lockedBlockTimeMs: 0n,
  lockProof: [],
}) as SignState

/** Order of (height, round, step) against the last signed one: -1 earlier, 0 same, 1 later. */
export function compareHrs(s: SignState, height: bigint, round: number, step: SignStep): -1 | 0 | 1 {
  if (height !== s.height) return height > s.height ? 1 : -1
  if (round !== s.round) return round > s.round ? 1 : -1
  if (step !== s.step) return step > s.step ? 1 : -1
  return 0
}

export type GuardResult<M> =
  | { kind: 'sign'; message: M }
  | { kind: 'resend'; message: M }
  | { kind: 'refuse' }

/**
 * Decide what to do with a proposal the engine wants signed: sign only at a later (height, round, step);
 * if one was already signed at this height and round, re-send it; otherwise sign nothing.
 */
export function guardProposal(s: SignState, p: UnsignedProposal): GuardResult<UnsignedProposal> {
  if (s.proposal && s.proposal.height === p.height && s.proposal.round === p.round)
    return { kind: 'resend', message: s.proposal }
  return compareHrs(s, p.height, p.round, SignStep.Proposal) > 0
    ? { kind: 'sign', message: p }
    : { kind: 'refuse' }
}

/**
 * The blocks a shell must keep with record `s` (a lock without its block can halt a network whose
 * holders of it all restart; a signed proposal without its block cannot be re-sent): the block it is
 * locked on and the block of its proposal at its height, each once.
 */
export function blocksNamedBy(s: SignState): Uint8Array[] {
  const out: Uint8Array[] = []
  for (const h of [s.lockedBlockHash, s.proposal?.height === s.height ? s.proposal.blockHash : null])
    if (h && !out.some((x) => toHex(x) === toHex(h))) out.push(h)
  return out
}

/** The latest signed vote of a type (from the per-type field, or the last vote for older records). */
export function lastSignedVote(s: SignState, type: 1 | 2): UnsignedVote | null {
  const own = type === 1 ? s.prevote : s.precommit
  if (own) return own
  return s.vote && s.vote.type === type ? s.vote : null
}

export function guardVote(s: SignState, v: UnsignedVote): GuardResult<UnsignedVote> {
  const prior = lastSignedVote(s, v.type)
  if (prior && prior.height === v.height && prior.round === v.round) return { kind: 'resend', message: prior }
  const step = v.type === 1 ? SignStep.Prevote : SignStep.Precommit
  return compareHrs(s, v.height, v.round, step) > 0 ? { kind: 'sign', message: v } : { kind: 'refuse' }
}

const copyVote = (v: UnsignedVote | null): UnsignedVote | null =>
  v ? { ...v, blockHash: v.blockHash.slice(), extension: v.extension.slice() } : null

/** Deep copy so the shell can persist the record without aliasing engine state. */
export function cloneSignState(s: SignState): SignState {
  return {
    height: s.height,
    round: s.round,
    step: s.step,
    proposal: s.proposal ? { ...s.proposal, blockHash: s.proposal.blockHash.slice() } : null,
    vote: copyVote(s.vote),
    prevote: copyVote(s.prevote ?? null),
    precommit: copyVote(s.precommit ?? null),
    lockedRound: s.lockedRound,
    lockedBlockHash: s.lockedBlockHash ? s.lockedBlockHash.slice() : null,
    lockedBlockTimeMs: s.lockedBlockTimeMs ?? 0n,
    lockProof: (s.lockProof ?? []).map((v) => ({
      ...v,
      blockHash: v.blockHash.slice(),
      extension: v.extension.slice(),
      signature: v.signature.slice(),
    })),
  }
}

/** Canonical JSON text of a SignState (what a shell writes to disk). */
export function encodeSignState(s: SignState): string {
  const vote = (v: UnsignedVote | null | undefined) =>
    v
      ? {
          type: v.type,
          height: v.height.toString(),
          round: v.round,
          blockHash: toHex(v.blockHash),
          timestampMs: v.timestampMs.toString(),
          validatorIndex: v.validatorIndex,
          extension: toHex(v.extension),
        }
      : null
  const p = s.proposal
  return JSON.stringify({
    v: 1,
    height: s.height.toString(),
    round: s.round,
    step: s.step,
    proposal: p
      ? {
          height: p.height.toString(),
          round: p.round,
          polRound: p.polRound,
          blockHash: toHex(p.blockHash),
          timestampMs: p.timestampMs.toString(),
        }
      : null,
    vote: vote(s.vote),
    prevote: vote(s.prevote),
    precommit: vote(s.precommit),
    lockedRound: s.lockedRound,
    lockedBlockHash: s.lockedBlockHash ? toHex(s.lockedBlockHash) : null,
    lockedBlockTimeMs: (s.lockedBlockTimeMs ?? 0n).toString(),
    lockProof: (s.lockProof ?? []).map((v) => ({ ...vote(v), signature: toHex(v.signature) })),
  })
}

/** Parse encodeSignState output; throws SIGN_STATE_CORRUPT on anything else (never guess: do not sign). */
export function decodeSignState(text: string): SignState {
  const fail = (why: string): never => {
    throw new ConsensusError('SIGN_STATE_CORRUPT', `bad SignState: ${why}`)
  }
  let j: Record<string, unknown>
  try {
    j = JSON.parse(text)
  } catch {
    return fail('not JSON')
  }
  if (typeof j !== 'object' || j === null || j.v !== 1) return fail('unknown version')
  const int = (x: unknown, f: string, min: number): number =>
    typeof x === 'number' && Number.isSafeInteger(x) && x >= min ? x : fail(f)
  const big = (x: unknown, f: string): bigint =>
    typeof x === 'string' && /^\d{1,20}$/.test(x) ? BigInt(x) : fail(f)
  const hex = (x: unknown, f: string, len?: number): Uint8Array => {
    if (typeof x !== 'string' || !/^([0-9a-f]{2})*$/.test(x)) return fail(f)
    const b = fromHex(x)
    return len === undefined || b.length === len ? b : fail(f)
  }
  const vote = (x: unknown, f: string): UnsignedVote | null => {
    if (x === null || x === undefined) return null
    const o = x as Record<string, unknown>
    const type = int(o.type, `${f}.type`, 1)
    if (type !== 1 && type !== 2) return fail(`${f}.type`)
    return {
      type,
      height: big(o.height, `${f}.height`),
      round: int(o.round, `${f}.round`, 0),
      blockHash: hex(o.blockHash, `${f}.blockHash`, 32),
      timestampMs: big(o.timestampMs, `${f}.timestampMs`),
      validatorIndex: int(o.validatorIndex, `${f}.validatorIndex`, 0),
      extension: hex(o.extension, `${f}.extension`),
    }
  }
  const p = j.proposal as Record<string, unknown> | null
  const step = int(j.step, 'step', 0)
  if (step > 3) return fail('step')
  return {
    height: big(j.height, 'height'),
    round: int(j.round, 'round', -1),
    step: step as SignStep,
    proposal: p
      ? {
          height: big(p.height, 'proposal.height'),
          round: int(p.round, 'proposal.round', 0),
          polRound: int(p.polRound, 'proposal.polRound', -1),
          blockHash: hex(p.blockHash, 'proposal.blockHash', 32),
          timestampMs: big(p.timestampMs, 'proposal.timestampMs'),
        }
      : null,
    vote: vote(j.vote, 'vote'),
    prevote: vote(j.prevote, 'prevote'),
    precommit: vote(j.precommit, 'precommit'),
    lockedRound: int(j.lockedRound, 'lockedRound', -1),
    lockedBlockHash: j.lockedBlockHash === null ? null : hex(j.lockedBlockHash, 'lockedBlockHash', 32),
    lockedBlockTimeMs: j.lockedBlockTimeMs === undefined ? 0n : big(j.lockedBlockTimeMs, 'lockedBlockTimeMs'),
    lockProof: (Array.isArray(j.lockProof)
      ? j.lockProof
      : j.lockProof === undefined
        ? []
        : fail('lockProof')
    ).map((x: Record<string, unknown>, i: number) => ({
      ...(vote(x, `lockProof.${i}`) ?? fail(`lockProof.${i}`)),
      signature: hex(x?.signature, `lockProof.${i}.signature`),
    })),
  }
}
