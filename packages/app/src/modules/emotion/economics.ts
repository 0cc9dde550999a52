/**
 * EMO issuance and block-reward split (integer only).
 *
 *   reward(h)   = initialBlockReward >> floor((h − 1) / halvingIntervalBlocks)   (h >= 1)
 *                 clamped to what the asset's maxSupply still allows
 *   each block  : mint reward(h) to REWARD_POOL (bank ledger `mint`, the only way supply grows),
 *                 pay validator i  floor(reward · w_i / W)  with w_i = stake_i × score_i from the
 *                 running epoch's reward table, and move the remainder (rounding dust, or
 *                 everything when W = 0) to the community pool. The reward pool is empty after
 *                 every block.
 * Hence: supply == Σ balances (pools are accounts), and supply − genesis supply == Σ reward(h).
 */
import type { ChainEvent } from '@pulsemesh/core'
import { fromHex } from '@pulsemesh/core'
import type { BlockContext } from '../../module.ts'
import type { KVStore } from '../../state/kv.ts'
import { getAsset, getSupply, mint, transfer } from '../bank/ledger.ts'
import { COMMUNITY_POOL } from '../staking/state.ts'
import type { EmotionEconomics } from './params.ts'
import { getEmoIssuance, getRewardTable, putEmoIssuance, REWARD_POOL } from './state.ts'

export function blockReward(e: EmotionEconomics, height: bigint): bigint {
  if (height < 1n) return 0n
  const halvings = e.halvingIntervalBlocks === 0n ? 0n : (height - 1n) / e.halvingIntervalBlocks
  return halvings >= 128n ? 0n : e.initialBlockReward >> halvings
}

/** Σ reward(h) for h = 1..height, in closed form per halving era (no cap). */
export function scheduledIssuance(e: EmotionEconomics, height: bigint): bigint {
  if (height < 1n) return 0n
  if (e.halvingIntervalBlocks === 0n) return e.initialBlockReward * height
  let total = 0n
  let start = 1n
  for (let era = 0n; era < 128n && start <= height; era++) {
    const end = start + e.halvingIntervalBlocks - 1n
    const blocks = (end < height ? end : height) - start + 1n
    total += blocks * (e.initialBlockReward >> era)
    start = end + 1n
  }
  return total
}

export interface RewardOutcome {
  minted: bigint
  distributed: bigint
  toCommunity: bigint
}

/** Mints and splits this block's reward. No-op (zeros) when the asset does not exist. */
export function distributeBlockReward(
  store: KVStore,
  ctx: BlockContext,
  e: EmotionEconomics,
  emit: (ev: ChainEvent) => void,
): RewardOutcome {
  const info = getAsset(store, e.asset)
  if (info === undefined) return { minted: 0n, distributed: 0n, toCommunity: 0n }
  let amount = blockReward(e, ctx.height)
  if (info.maxSupply > 0n) {
    const room = info.maxSupply - getSupply(store, e.asset)
    if (amount > room) amount = room > 0n ? room : 0n
  }
  if (amount === 0n) return { minted: 0n, distributed: 0n, toCommunity: 0n }
  mint(store, REWARD_POOL, e.asset, amount)
  const table = getRewardTable(store)
  let total = 0n
  for (const [, w] of table) total += w
  let paid = 0n
  if (total > 0n) {
    for (const [op, w] of table) {
      const share = (amount * w) / total
      if (share === 0n) continue
      transfer(store, REWARD_POOL, fromHex(op), e.asset, share)
      paid += share
    }
  }
  const rest = amount - paid
  if (rest > 0n) transfer(store, REWARD_POOL, COMMUNITY_POOL, e.asset, rest)
  const t = getEmoIssuance(store)
  putEmoIssuance(store, {
    minted: t.minted + amount,
    distributed: t.distributed + paid,
    toCommunity: t.toCommunity + rest,
  })
  emit({
    type: 'emotion_rewards',
    attributes: [
      { key: 'height', value: ctx.height.toString() },
      { key: 'minted', value: amount.toString() },
      { key: 'distributed', value: paid.toString() },
      { key: 'community', value: rest.toString() },
      { key: 'recipients', value: String(table.length) },
    ],
  })
  return { minted: amount, distributed: paid, toCommunity: rest }
}
