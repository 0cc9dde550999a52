/**
 * Active-set selection for the Proof of Emotion profile: validators ranked by stake × score.
 * Pure and deterministic: integer weights (bigint), total order by
 *   weight desc, then stake desc, then address asc (plain string order),
 * so every node picks the same set from the same inputs whatever order they arrive in. Zero-score
 * validators stay in the ranking (after every positive weight, by stake) so that an epoch without
 * attestations (e.g. the first) still yields a full set: liveness must not depend on biometrics.
 */
import { PulseError } from '@pulsemesh/core'

export interface ActiveSetCandidate {
  address: string
  stake: bigint
  /** 0..1000 (score × 10, or a multiplier per mille: any non-negative integer scale). */
  scorePermille: number
}
export interface RankedValidator extends ActiveSetCandidate {
  weight: bigint
}

export function rankActiveSet(candidates: readonly ActiveSetCandidate[], size: number): RankedValidator[] {
  if (!Number.isSafeInteger(size) || size < 0)
    throw new PulseError('EMOTION_BAD_RANKING_INPUT', 'size must be a non-negative integer')
  const seen = new Set<string>()
  const ranked: RankedValidator[] = candidates.map((c) => {
    if (typeof c.address !== 'string' || c.address.length === 0)
      throw new PulseError('EMOTION_BAD_RANKING_INPUT', 'address must be a non-empty string')
    if (seen.has(c.address))
      throw new PulseError('EMOTION_BAD_RANKING_INPUT', 'duplicate candidate', { address: c.address })
    seen.add(c.address)
    if (typeof c.stake !== 'bigint' || c.stake < 0n)
      throw new PulseError('EMOTION_BAD_RANKING_INPUT', 'stake must be a non-negative bigint', {
        address: c.address,
      })
    if (!Number.isSafeInteger(c.scorePermille) || c.scorePermille < 0)
      throw new PulseError('EMOTION_BAD_RANKING_INPUT', 'scorePermille must be a non-negative integer', {
        address: c.address,
      })
    return { ...c, weight: c.stake * BigInt(c.scorePermille) }
  })
  ranked.sort((a, b) => {
    if (a.weight !== b.weight) return a.weight > b.weight ? -1 : 1
    if (a.stake !== b.stake) return a.stake > b.stake ? -1 : 1
    return a.address < b.address ? -1 : a.address > b.address ? 1 : 0
  })
  return ranked.slice(0, size)
}
