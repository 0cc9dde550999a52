/**
 * BFT time: the time of block h+1 is the voting-power weighted median of the precommit timestamps in
 * the commit of block h (CometBFT MedianTime). Integer-only; equal timestamps keep input order.
 *
 * One deliberate difference from CometBFT, found by the simulator (seed 20387 of the default mixes):
 * CometBFT's WeightedMedian walks to floor(P/2) of the commit's power P, so with three equal-power
 * signatures it returns the SMALLEST timestamp. A single faulty validator holding exactly floor(P/2)
 * then sets the block time (there, 665 after a previous block time of 718). CometBFT masks this by
 * rejecting blocks whose time does not increase and by gathering all precommits during
 * timeout_commit. `medianTime` takes the first timestamp at which the cumulative power exceeds half
 * of P, so the result lies between correct validators' timestamps whenever the faulty power is less
 * than P/2, which always holds with faulty < 1/3 of the total and P > 2/3. Correct precommits are
 * later than the block they commit, so BFT time strictly increases.
 * `cometbftWeightedMedian` is the exact CometBFT walk, for comparison and vectors.
 */
import type { Commit } from '@pulsemesh/core/types.ts'
import type { ValidatorSet } from './validator-set.ts'

export interface WeightedTime {
  t: bigint
  w: bigint
}

function weightedTimes(commit: Commit, validatorSet: ValidatorSet): { times: WeightedTime[]; total: bigint } {
  const times: WeightedTime[] = []
  let total = 0n
  for (const sig of commit.signatures) {
    const v = validatorSet.validators[sig.validatorIndex]
    if (!v) continue
    total += v.votingPower
    times.push({ t: sig.timestampMs, w: v.votingPower })
  }
  return { times, total }
}

const byTime = (a: WeightedTime, b: WeightedTime) => (a.t < b.t ? -1 : a.t > b.t ? 1 : 0)

/** BFT time of the block that carries `commit` as its last commit. */
export function medianTime(commit: Commit, validatorSet: ValidatorSet): bigint {
  const { times, total } = weightedTimes(commit, validatorSet)
  return weightedMedian(times, total)
}

/** First timestamp (ascending) at which the cumulative power exceeds half of `totalPower`. */
export function weightedMedian(weighted: readonly WeightedTime[], totalPower: bigint): bigint {
  let acc = 0n
  for (const { t, w } of [...weighted].sort(byTime)) {
    acc += w
    if (acc * 2n > totalPower) return t
  }
  return 0n
}

/** CometBFT's WeightedMedian exactly (walk to floor(total / 2)); see the module comment. */
export function cometbftWeightedMedian(weighted: readonly WeightedTime[], totalPower: bigint): bigint {
  let median = totalPower / 2n
  for (const { t, w } of [...weighted].sort(byTime)) {
    if (median <= w) return t
    median -= w
  }
  return 0n
}
