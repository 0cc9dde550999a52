/**
 * BFT time (CometBFT MedianTime / WeightedMedian): the time of block h+1 is the voting-power weighted
 * median of the precommit timestamps in the commit of block h. With < 1/3 faulty power the result lies
 * between timestamps of correct validators. Integer-only; ties keep the input order (stable sort).
 */
import type { Commit } from '@pulsemesh/core/types.ts'
import type { ValidatorSet } from './validator-set.ts'

export function medianTime(commit: Commit, validatorSet: ValidatorSet): bigint {
  const weighted: { t: bigint; w: bigint }[] = []
  let total = 0n
  for (const sig of commit.signatures) {
    const v = validatorSet.validators[sig.validatorIndex]
    if (!v) continue
    total += v.votingPower
    weighted.push({ t: sig.timestampMs, w: v.votingPower })
  }
  return weightedMedian(weighted, total)
}

/** Walk timestamps in order until half the power (floor) is covered, as CometBFT does. */
export function weightedMedian(weighted: { t: bigint; w: bigint }[], totalPower: bigint): bigint {
  let median = totalPower / 2n
  const sorted = [...weighted].sort((a, b) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0))
  for (const { t, w } of sorted) {
    if (median <= w) return t
    median -= w
  }
  return 0n
}
