/**
 * The interface the staking/consensus side reads (DESIGN §6: "voting power for the next epoch =
 * stake × bounded multiplier of the score"). Read-only functions over the module's state; they
 * never throw for an unknown validator.
 *
 *   emotionMultiplierPermille(store, operator)  multiplier for the running epoch, per mille
 *       (params min..max for a valid eligible attestation in the last closed epoch, the floor
 *       otherwise, also for validators the module has never seen). It changes only when an epoch
 *       closes (the last block of each epoch), so staking can read it at any block.
 *   emotionVotingPower(stake, multiplierPermille)  floor(stake × m / 1000): a convenience so both
 *       sides round the same way.
 *   emotionViolations(store, operator)  anti-gaming flags so far (total, latest epoch and reasons),
 *       for staking to jail or slash after repeated violations (its policy, not ours).
 *
 * `operator` is the validator's 20-byte operator account id (staking's Validator.operator; for
 * genesis validators the account id of the consensus key), which is also the attestation tx's
 * signer. BFT safety is unchanged: these only change weights, quorum is still > 2/3 of the
 * (weighted) power.
 */
import type { KVStore } from '../../state/kv.ts'
import { DEFAULT_EMOTION_MODULE_PARAMS } from './params.ts'
import { getFloorMultiplier, getValidatorEmotion } from './state.ts'

export function emotionMultiplierPermille(store: KVStore, operator: Uint8Array): number {
  const v = getValidatorEmotion(store, operator)
  if (v !== undefined) return v.multiplierPermille
  return getFloorMultiplier(store) ?? DEFAULT_EMOTION_MODULE_PARAMS.floorMultiplierPermille
}

export function emotionVotingPower(stake: bigint, multiplierPermille: number): bigint {
  return (stake * BigInt(multiplierPermille)) / 1000n
}

export interface EmotionViolations {
  total: number
  /** Epoch of the latest violation, null if none. */
  lastEpoch: bigint | null
  /** Reason codes of the latest violation, sorted. */
  lastReasons: string[]
}

export function emotionViolations(store: KVStore, operator: Uint8Array): EmotionViolations {
  const v = getValidatorEmotion(store, operator)
  if (v === undefined || v.violations === 0) return { total: 0, lastEpoch: null, lastReasons: [] }
  return { total: v.violations, lastEpoch: v.lastViolationEpoch, lastReasons: [...v.lastReasons] }
}
