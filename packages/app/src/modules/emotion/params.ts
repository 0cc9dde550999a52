/**
 * Parameters of the emotion module (EmotionalChain profile). Passed to `createEmotionModule`; the
 * shared Genesis type has no emotion section, so the profile that builds a network's genesis also
 * builds these (packages/node/src/emotion/profile.ts).
 */
import type { PublicKey } from '@pulsemesh/core'
import { DEFAULT_EMOTION_PARAMS, type EmotionParams } from '@pulsemesh/emotion'
import { PulseError } from '@pulsemesh/core'

/** A device manufacturer's root key: certificates over (device key, tier) are signed with it. */
export interface ManufacturerRoot {
  name: string
  key: PublicKey
}

export interface EmotionEconomics {
  /** The EMO asset (must exist in genesis; minted through bank's ledger `mint`). */
  asset: string
  /** Block reward at height 1, base units. */
  initialBlockReward: bigint
  /** The reward halves every this many blocks (0 = never). */
  halvingIntervalBlocks: bigint
}

export interface EmotionModuleParams {
  /** Blocks per epoch; epoch e covers heights e·B + 1 .. (e + 1)·B; its last block closes it. */
  blocksPerEpoch: bigint
  /** A nonce must be the hash of one of the last K blocks (the ring size). */
  nonceWindowBlocks: number
  /** Previous accepted records kept per validator for IDENTICAL_FEATURES. */
  historyEpochs: number
  /** Voting-power multiplier range (per mille) for a valid, eligible attestation: min + (max − min)·score/100. */
  minMultiplierPermille: number
  maxMultiplierPermille: number
  /** Multiplier without a valid eligible attestation in the last epoch. */
  floorMultiplierPermille: number
  maxDevicesPerValidator: number
  /** Devices without a manufacturer certificate are accepted (at tier 'consumer'). */
  allowUncertifiedDevices: boolean
  manufacturers: ManufacturerRoot[]
  /** Scoring and anti-gaming parameters of packages/emotion. */
  scoring: EmotionParams
  economics: EmotionEconomics
}

export const DEFAULT_EMOTION_MODULE_PARAMS: EmotionModuleParams = {
  blocksPerEpoch: 60n,
  nonceWindowBlocks: 20,
  historyEpochs: 8,
  minMultiplierPermille: 500,
  maxMultiplierPermille: 1500,
  floorMultiplierPermille: 500,
  maxDevicesPerValidator: 8,
  allowUncertifiedDevices: true,
  manufacturers: [],
  scoring: DEFAULT_EMOTION_PARAMS,
  economics: {
    asset: 'emo',
    // 50 EMO (6 decimals) per block, as EmotionalChain; halving every ~4 years of 10 s blocks.
    initialBlockReward: 50_000_000n,
    halvingIntervalBlocks: 12_614_400n,
  },
}

export function withEmotionModuleParams(p: Partial<EmotionModuleParams> = {}): EmotionModuleParams {
  const out = { ...DEFAULT_EMOTION_MODULE_PARAMS, ...p }
  validateEmotionModuleParams(out)
  return out
}

function bad(field: string, why: string): never {
  throw new PulseError('EMOTION_MODULE_PARAMS_INVALID', `emotion params.${field}: ${why}`, { field })
}
function int(v: number, field: string, lo: number, hi: number): void {
  if (!Number.isSafeInteger(v) || v < lo || v > hi) bad(field, `must be an integer in ${lo}..${hi}`)
}

export function validateEmotionModuleParams(p: EmotionModuleParams): void {
  if (typeof p.blocksPerEpoch !== 'bigint' || p.blocksPerEpoch < 1n || p.blocksPerEpoch > 1_000_000n)
    bad('blocksPerEpoch', 'must be 1..1000000')
  int(p.nonceWindowBlocks, 'nonceWindowBlocks', 1, 1024)
  int(p.historyEpochs, 'historyEpochs', 0, 64)
  int(p.minMultiplierPermille, 'minMultiplierPermille', 0, 10_000)
  int(p.maxMultiplierPermille, 'maxMultiplierPermille', p.minMultiplierPermille, 10_000)
  int(p.floorMultiplierPermille, 'floorMultiplierPermille', 0, p.maxMultiplierPermille)
  int(p.maxDevicesPerValidator, 'maxDevicesPerValidator', 1, 64)
  if (p.manufacturers.length > 64) bad('manufacturers', 'at most 64')
  const e = p.economics
  if (e.initialBlockReward < 0n || e.initialBlockReward >= 1n << 100n)
    bad('economics.initialBlockReward', 'must be 0..2^100')
  if (e.halvingIntervalBlocks < 0n) bad('economics.halvingIntervalBlocks', 'must be >= 0')
}
