/**
 * The staking module (prefix 0x02, tx kinds 0x0201..0x0205): validators with self-stake and
 * delegations, an unbonding period, an active-set size limit, validator-set updates for consensus,
 * slashing (duplicate votes: slash, jail, tombstone; downtime: smaller slash, jail), unjail, and
 * consensus key rotation.
 *
 * Token flow: every bonded or unbonding token sits in the STAKING_POOL account; slashed tokens
 * move to COMMUNITY_POOL. Hence bank supply == user balances + bonded + unbonding + community pool
 * (the conservation property the tests check).
 *
 * Consensus interplay (CometBFT semantics): `validatorUpdates` at the end of block H changes the set
 * that signs from H+2; the node passes the previous block's commit signers and verified duplicate-vote
 * evidence in through `beginBlock`.
 *
 * Proof of Emotion (`params.emotion`, EmotionalChain): voting power = ⌊tokens × multiplier / 1000⌋ /
 * powerReduction with the emotion module's multiplier (which changes only when an epoch closes), the
 * active set ranked by tokens × multiplier (`rankActiveSet`); in the first block of each epoch,
 * `violationsToJail` anti-gaming violations within `violationWindowEpochs` epochs slash
 * `slashViolations` and jail. BFT safety is untouched: only weights change.
 */
import { type ChainEvent, fromHex, ssz, toHex } from '@pulsemesh/core'
import { formatAddress } from '../../accounts.ts'
import type { BeginBlockInfo, ConsensusHooks, ValidatorUpdate } from '../../executor.ts'
import type { Genesis } from '../../genesis.ts'
import type { AppModule, BlockContext, TxKind } from '../../module.ts'
import type { KVStore } from '../../state/kv.ts'
import { mint, transfer } from '../bank/ledger.ts'
import { rankActiveSet } from '../emotion/ranking.ts'
import { emotionMultiplierPermille, emotionViolations, emotionVotingPower } from '../emotion/weights.ts'
import {
  allValidators,
  COMMUNITY_POOL,
  consAddress,
  DEFAULT_STAKING_PARAMS,
  type Fraction,
  getActiveSet,
  getConsKey,
  getDelegations,
  getEmotionStrikes,
  getTotals,
  getUnbondings,
  getValidator,
  putActiveSet,
  putConsKey,
  putDelegations,
  putEmotionStrikes,
  putTotals,
  putUnbondings,
  putValidator,
  STAKING_POOL,
  STAKING_PREFIX,
  StakingError,
  type StakingParams,
  type Validator,
} from './state.ts'

export * from './state.ts'

export const STAKING_KIND = {
  createValidator: 0x0201,
  delegate: 0x0202,
  undelegate: 0x0203,
  unjail: 0x0204,
  rotateKey: 0x0205,
} as const

const { ContainerType } = ssz
export const CreateValidatorSSZ = new ContainerType({ consensusKey: ssz.Bytes32, amount: ssz.Uint128 })
export const DelegateSSZ = new ContainerType({ validator: ssz.Bytes20, amount: ssz.Uint128 })
export const UnjailSSZ = new ContainerType({ operator: ssz.Bytes20 })
export const RotateKeySSZ = new ContainerType({ newKey: ssz.Bytes32 })

export interface CreateValidatorPayload {
  consensusKey: Uint8Array
  amount: bigint
}
export interface DelegatePayload {
  validator: Uint8Array
  amount: bigint
}
export interface UnjailPayload {
  operator: Uint8Array
}
export interface RotateKeyPayload {
  newKey: Uint8Array
}

const U64_MAX = (1n << 64n) - 1n

/** Pure staking logic over a KVStore; the tx kinds and hooks below call into it. */
export class StakingKeeper {
  readonly params: StakingParams
  constructor(params: Partial<StakingParams> = {}) {
    this.params = { ...DEFAULT_STAKING_PARAMS, ...params }
  }

  bondAsset(ctx: { params: { feeAsset: string } }): string {
    return this.params.bondAsset ?? ctx.params.feeAsset
  }

  selfStake(store: KVStore, v: Validator): bigint {
    return getDelegations(store, v.operator).get(toHex(v.operator)) ?? 0n
  }

  createValidator(
    store: KVStore,
    ctx: BlockContext,
    operator: Uint8Array,
    consensusKey: Uint8Array,
    amount: bigint,
  ) {
    if (getValidator(store, operator))
      throw new StakingError('VALIDATOR_EXISTS', 'this account already runs a validator')
    if (getConsKey(store, consAddress(consensusKey)))
      throw new StakingError('CONSENSUS_KEY_IN_USE', 'consensus key is (or was) used by a validator')
    if (amount < this.params.minSelfStake || amount <= 0n)
      throw new StakingError('SELF_STAKE_TOO_LOW', `self-stake must be at least ${this.params.minSelfStake}`)
    transfer(store, operator, STAKING_POOL, this.bondAsset(ctx), amount)
    putValidator(store, {
      operator,
      consensusKey,
      tokens: amount,
      jailed: false,
      jailedUntil: 0n,
      tombstoned: false,
      missed: [],
    })
    putConsKey(store, consAddress(consensusKey), { operator, retiredAt: 0n })
    putDelegations(store, operator, new Map([[toHex(operator), amount]]))
    const t = getTotals(store)
    putTotals(store, { ...t, bonded: t.bonded + amount })
  }

  delegate(store: KVStore, ctx: BlockContext, delegator: Uint8Array, operator: Uint8Array, amount: bigint) {
    const v = this.requireValidator(store, operator)
    if (v.tombstoned) throw new StakingError('TOMBSTONED', 'validator is tombstoned')
    if (amount <= 0n) throw new StakingError('INSUFFICIENT_DELEGATION', 'amount must be positive')
    transfer(store, delegator, STAKING_POOL, this.bondAsset(ctx), amount)
    const d = getDelegations(store, operator)
    d.set(toHex(delegator), (d.get(toHex(delegator)) ?? 0n) + amount)
    putDelegations(store, operator, d)
    putValidator(store, { ...v, tokens: v.tokens + amount })
    const t = getTotals(store)
    putTotals(store, { ...t, bonded: t.bonded + amount })
  }

  undelegate(store: KVStore, ctx: BlockContext, delegator: Uint8Array, operator: Uint8Array, amount: bigint) {
    const v = this.requireValidator(store, operator)
    const d = getDelegations(store, operator)
    const have = d.get(toHex(delegator)) ?? 0n
    if (amount <= 0n || amount > have)
      throw new StakingError('INSUFFICIENT_DELEGATION', `delegation is ${have}, cannot undelegate ${amount}`)
    d.set(toHex(delegator), have - amount)
    putDelegations(store, operator, d)
    putValidator(store, { ...v, tokens: v.tokens - amount })
    const t = getTotals(store)
    const q = getUnbondings(store)
    q.push({
      delegator,
      validator: operator,
      amount,
      creationHeight: ctx.height,
      completionHeight: ctx.height + this.params.unbondingBlocks,
      seq: t.seq,
    })
    putUnbondings(store, q)
    putTotals(store, { bonded: t.bonded - amount, unbonding: t.unbonding + amount, seq: t.seq + 1n })
  }

  unjail(store: KVStore, ctx: BlockContext, operator: Uint8Array) {
    const v = this.requireValidator(store, operator)
    if (v.tombstoned) throw new StakingError('TOMBSTONED', 'a tombstoned validator can never unjail')
    if (!v.jailed) throw new StakingError('NOT_JAILED', 'validator is not jailed')
    if (ctx.height < v.jailedUntil)
      throw new StakingError('STILL_JAILED', `jailed until height ${v.jailedUntil}`, {
        until: v.jailedUntil.toString(),
      })
    if (this.selfStake(store, v) < this.params.minSelfStake)
      throw new StakingError('SELF_STAKE_TOO_LOW', 'self-stake is below the minimum')
    putValidator(store, { ...v, jailed: false, missed: [] })
  }

  /** New consensus key from the next validator-set update (H+2); the old one stays punishable. */
  rotateKey(store: KVStore, ctx: BlockContext, operator: Uint8Array, newKey: Uint8Array) {
    const v = this.requireValidator(store, operator)
    if (v.tombstoned) throw new StakingError('TOMBSTONED', 'validator is tombstoned')
    if (getConsKey(store, consAddress(newKey)))
      throw new StakingError('CONSENSUS_KEY_IN_USE', 'consensus key is (or was) used by a validator')
    putConsKey(store, consAddress(v.consensusKey), { operator, retiredAt: ctx.height })
    putConsKey(store, consAddress(newKey), { operator, retiredAt: 0n })
    putValidator(store, { ...v, consensusKey: newKey })
  }

  private requireValidator(store: KVStore, operator: Uint8Array): Validator {
    const v = getValidator(store, operator)
    if (!v) throw new StakingError('UNKNOWN_VALIDATOR', 'no validator with this operator address')
    return v
  }

  /**
   * Takes `fraction` of the validator's delegations and of its unbonding entries created at or after
   * `infractionHeight` (they were at stake when it misbehaved) into the community pool. Floors per
   * entry, so the amount taken is exact and never exceeds the fraction. Returns the amount slashed.
   */
  slash(store: KVStore, asset: string, v: Validator, fraction: Fraction, infractionHeight: bigint): bigint {
    const cut = (a: bigint) => (a * fraction.numerator) / fraction.denominator
    let bonded = 0n
    const d = getDelegations(store, v.operator)
    for (const [k, a] of d) {
      const c = cut(a)
      d.set(k, a - c)
      bonded += c
    }
    putDelegations(store, v.operator, d)
    let unbonding = 0n
    const q = getUnbondings(store)
    for (const e of q) {
      if (toHex(e.validator) !== toHex(v.operator) || e.creationHeight < infractionHeight) continue
      const c = cut(e.amount)
      e.amount -= c
      unbonding += c
    }
    putUnbondings(store, q)
    const total = bonded + unbonding
    if (total > 0n) transfer(store, STAKING_POOL, COMMUNITY_POOL, asset, total)
    const t = getTotals(store)
    putTotals(store, { ...t, bonded: t.bonded - bonded, unbonding: t.unbonding - unbonding })
    v.tokens -= bonded
    return total
  }

  beginBlock(store: KVStore, ctx: BlockContext, info: BeginBlockInfo, emit: (e: ChainEvent) => void) {
    const asset = this.bondAsset(ctx)
    const prefix = ctx.params.addressPrefix
    for (const ev of info.misbehaviour) {
      const rec = getConsKey(store, consAddress(ev.consensusKey))
      if (!rec) continue
      // Evidence is punishable for an unbonding period after the infraction and after a key's retirement.
      if (ev.height + this.params.unbondingBlocks < ctx.height) continue
      if (rec.retiredAt > 0n && rec.retiredAt + this.params.unbondingBlocks < ctx.height) continue
      const v = getValidator(store, rec.operator)
      if (!v || v.tombstoned) continue
      const amount = this.slash(store, asset, v, this.params.slashDoubleSign, ev.height)
      putValidator(store, { ...v, jailed: true, tombstoned: true, jailedUntil: U64_MAX })
      emit({
        type: 'slash',
        attributes: [
          { key: 'validator', value: formatAddress(v.operator, prefix) },
          { key: 'reason', value: 'double_sign' },
          { key: 'amount', value: amount.toString() },
          { key: 'jailed', value: 'true' },
          { key: 'tombstoned', value: 'true' },
        ],
      })
    }
    const windowStart = ctx.height - BigInt(this.params.signedWindow)
    for (const vote of info.lastCommitVotes) {
      const rec = getConsKey(store, consAddress(vote.consensusKey))
      if (!rec) continue
      const v = getValidator(store, rec.operator)
      if (!v || v.jailed) continue
      const missed = v.missed.filter((h) => h > windowStart)
      if (!vote.signed) missed.push(ctx.height - 1n)
      if (missed.length > this.params.maxMissed) {
        const amount = this.slash(store, asset, v, this.params.slashDowntime, ctx.height - 1n)
        putValidator(store, {
          ...v,
          missed: [],
          jailed: true,
          jailedUntil: ctx.height + this.params.downtimeJailBlocks,
        })
        emit({
          type: 'slash',
          attributes: [
            { key: 'validator', value: formatAddress(v.operator, prefix) },
            { key: 'reason', value: 'downtime' },
            { key: 'amount', value: amount.toString() },
            { key: 'jailed', value: 'true' },
          ],
        })
      } else if (missed.length !== v.missed.length || !vote.signed) putValidator(store, { ...v, missed })
    }
    const e = this.params.emotion
    if (e !== undefined && ctx.height > 1n && (ctx.height - 1n) % e.blocksPerEpoch === 0n)
      this.punishEmotionViolations(store, ctx, (ctx.height - 2n) / e.blocksPerEpoch, emit)
  }

  /**
   * Runs in the first block after epoch `closed` ended (the emotion module flags at attestation txs
   * and at the epoch's last block, which ran after our hooks there). Counts each validator's new
   * violations into its window; `violationsToJail` of them slash and jail it, and the window restarts.
   */
  punishEmotionViolations(store: KVStore, ctx: BlockContext, closed: bigint, emit: (e: ChainEvent) => void) {
    const e = this.params.emotion!
    const asset = this.bondAsset(ctx)
    for (const v of allValidators(store)) {
      const viol = emotionViolations(store, v.operator)
      const strikes = getEmotionStrikes(store, v.operator)
      if (viol.total === strikes.seen) continue
      const fresh = Math.max(0, viol.total - strikes.seen)
      // Violations while jailed are not counted again: the validator is already out of the set.
      let epochs = v.jailed || v.tombstoned ? [] : [...strikes.epochs]
      if (!v.jailed && !v.tombstoned) for (let i = 0; i < fresh; i++) epochs.push(viol.lastEpoch ?? closed)
      epochs = epochs.filter((x) => x + e.violationWindowEpochs > closed)
      if (epochs.length >= e.violationsToJail) {
        const amount = this.slash(store, asset, v, e.slashViolations, ctx.height - 1n)
        putValidator(store, {
          ...v,
          missed: [],
          jailed: true,
          jailedUntil: ctx.height + e.violationJailBlocks,
        })
        emit({
          type: 'slash',
          attributes: [
            { key: 'validator', value: formatAddress(v.operator, ctx.params.addressPrefix) },
            { key: 'reason', value: 'emotion_violations' },
            { key: 'amount', value: amount.toString() },
            { key: 'jailed', value: 'true' },
            { key: 'violations', value: String(epochs.length) },
            { key: 'epoch', value: closed.toString() },
            { key: 'reasons', value: viol.lastReasons.join(',') },
          ],
        })
        epochs = []
      }
      putEmotionStrikes(store, v.operator, { seen: viol.total, epochs })
    }
  }

  /** Pays out matured undelegations. */
  endBlock(store: KVStore, ctx: BlockContext): void {
    const q = getUnbondings(store)
    if (q.length === 0 || q[0].completionHeight > ctx.height) return
    const asset = this.bondAsset(ctx)
    let paid = 0n
    const rest = []
    for (const e of q) {
      if (e.completionHeight <= ctx.height) {
        if (e.amount > 0n) transfer(store, STAKING_POOL, e.delegator, asset, e.amount)
        paid += e.amount
      } else rest.push(e)
    }
    putUnbondings(store, rest)
    const t = getTotals(store)
    putTotals(store, { ...t, unbonding: t.unbonding - paid })
  }

  /**
   * The active set by stake (top maxValidators), diffed against the last reported one. With
   * `params.emotion`: ranked by tokens × emotion multiplier, power = that weight / 1000 / powerReduction.
   */
  validatorUpdates(store: KVStore): ValidatorUpdate[] {
    const p = this.params
    const candidates = allValidators(store).filter(
      (v) => !v.jailed && !v.tombstoned && this.selfStake(store, v) >= p.minSelfStake,
    )
    const eligible = p.emotion
      ? this.emotionWeighted(store, candidates)
      : candidates
          .map((v) => ({ v, power: v.tokens / p.powerReduction }))
          .filter((x) => x.power > 0n)
          .sort((a, b) =>
            a.power !== b.power
              ? a.power > b.power
                ? -1
                : 1
              : toHex(a.v.operator) < toHex(b.v.operator)
                ? -1
                : 1,
          )
          .slice(0, p.maxValidators)
    const next = new Map(eligible.map((x) => [toHex(x.v.consensusKey), x.power]))
    const prev = getActiveSet(store)
    const updates: ValidatorUpdate[] = []
    for (const k of prev.keys()) if (!next.has(k)) updates.push({ publicKey: fromHexKey(k), power: 0n })
    for (const [k, power] of next)
      if (prev.get(k) !== power) updates.push({ publicKey: fromHexKey(k), power })
    if (updates.length === 0) return updates
    if (next.size === 0) return [] // never report an empty set: consensus would halt; keep the last one
    putActiveSet(store, next)
    return updates.sort((a, b) => (toHex(a.publicKey) < toHex(b.publicKey) ? -1 : 1))
  }

  /**
   * The top maxValidators by `rankActiveSet` (tokens × multiplier desc, tokens desc, operator asc),
   * with power ⌊tokens × multiplier / 1000⌋ / powerReduction; zero powers cannot sign and are left out.
   */
  private emotionWeighted(store: KVStore, candidates: Validator[]): { v: Validator; power: bigint }[] {
    const byOp = new Map(candidates.map((v) => [toHex(v.operator), v]))
    const ranked = rankActiveSet(
      candidates.map((v) => ({
        address: toHex(v.operator),
        stake: v.tokens,
        scorePermille: emotionMultiplierPermille(store, v.operator),
      })),
      this.params.maxValidators,
    )
    return ranked
      .map((r) => ({
        v: byOp.get(r.address)!,
        power: emotionVotingPower(r.stake, r.scorePermille) / this.params.powerReduction,
      }))
      .filter((x) => x.power > 0n)
  }

  initGenesis(store: KVStore, genesis: Genesis): void {
    const asset = this.params.bondAsset ?? genesis.params.feeAsset
    const active = new Map<string, bigint>()
    let bonded = 0n
    for (const gv of genesis.validators) {
      const operator = consAddress(gv.publicKey)
      const tokens = gv.power * this.params.powerReduction
      mint(store, STAKING_POOL, asset, tokens)
      putValidator(store, {
        operator,
        consensusKey: gv.publicKey,
        tokens,
        jailed: false,
        jailedUntil: 0n,
        tombstoned: false,
        missed: [],
      })
      putConsKey(store, operator, { operator, retiredAt: 0n })
      putDelegations(store, operator, new Map([[toHex(operator), tokens]]))
      active.set(toHex(gv.publicKey), gv.power)
      bonded += tokens
    }
    putActiveSet(store, active)
    putTotals(store, { bonded, unbonding: 0n, seq: 0n })
  }
}

const fromHexKey = (k: string): Uint8Array => fromHex(k)

function validatorJson(store: KVStore, keeper: StakingKeeper, v: Validator, prefix: string) {
  return {
    operator: formatAddress(v.operator, prefix),
    consensusKey: toHex(v.consensusKey),
    tokens: v.tokens.toString(),
    selfStake: keeper.selfStake(store, v).toString(),
    power: (v.tokens / keeper.params.powerReduction).toString(),
    jailed: v.jailed,
    jailedUntil: v.jailedUntil.toString(),
    tombstoned: v.tombstoned,
    missedBlocks: v.missed.length,
  }
}

export type StakingModule = AppModule & ConsensusHooks & { keeper: StakingKeeper }

/** The staking module with `params` (defaults: DEFAULT_STAKING_PARAMS, bond asset = fee asset). */
export function createStakingModule(params: Partial<StakingParams> = {}): StakingModule {
  const k = new StakingKeeper(params)
  const createValidator: TxKind<CreateValidatorPayload> = {
    kind: STAKING_KIND.createValidator,
    name: 'staking/create-validator',
    decode: (p) => CreateValidatorSSZ.deserialize(p),
    encode: (p) => CreateValidatorSSZ.serialize(p),
    execute(store, ctx, p) {
      k.createValidator(store, ctx, ctx.sender, p.consensusKey, p.amount)
      ctx.emit({
        type: 'create_validator',
        attributes: [
          { key: 'operator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
          { key: 'consensus_key', value: toHex(p.consensusKey) },
          { key: 'amount', value: p.amount.toString() },
        ],
      })
    },
  }
  const delegate: TxKind<DelegatePayload> = {
    kind: STAKING_KIND.delegate,
    name: 'staking/delegate',
    decode: (p) => DelegateSSZ.deserialize(p),
    encode: (p) => DelegateSSZ.serialize(p),
    execute(store, ctx, p) {
      k.delegate(store, ctx, ctx.sender, p.validator, p.amount)
      ctx.emit({
        type: 'delegate',
        attributes: [
          { key: 'delegator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
          { key: 'validator', value: formatAddress(p.validator, ctx.params.addressPrefix) },
          { key: 'amount', value: p.amount.toString() },
        ],
      })
    },
  }
  const undelegate: TxKind<DelegatePayload> = {
    kind: STAKING_KIND.undelegate,
    name: 'staking/undelegate',
    decode: (p) => DelegateSSZ.deserialize(p),
    encode: (p) => DelegateSSZ.serialize(p),
    execute(store, ctx, p) {
      k.undelegate(store, ctx, ctx.sender, p.validator, p.amount)
      ctx.emit({
        type: 'undelegate',
        attributes: [
          { key: 'delegator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
          { key: 'validator', value: formatAddress(p.validator, ctx.params.addressPrefix) },
          { key: 'amount', value: p.amount.toString() },
          { key: 'completion_height', value: (ctx.height + k.params.unbondingBlocks).toString() },
        ],
      })
    },
  }
  const unjail: TxKind<UnjailPayload> = {
    kind: STAKING_KIND.unjail,
    name: 'staking/unjail',
    decode: (p) => UnjailSSZ.deserialize(p),
    encode: (p) => UnjailSSZ.serialize(p),
    execute(store, ctx, p) {
      if (toHex(p.operator) !== toHex(ctx.sender))
        throw new StakingError('UNKNOWN_VALIDATOR', 'only the operator may unjail its validator')
      k.unjail(store, ctx, ctx.sender)
      ctx.emit({
        type: 'unjail',
        attributes: [{ key: 'validator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) }],
      })
    },
  }
  const rotateKey: TxKind<RotateKeyPayload> = {
    kind: STAKING_KIND.rotateKey,
    name: 'staking/rotate-key',
    decode: (p) => RotateKeySSZ.deserialize(p),
    encode: (p) => RotateKeySSZ.serialize(p),
    execute(store, ctx, p) {
      k.rotateKey(store, ctx, ctx.sender, p.newKey)
      ctx.emit({
        type: 'rotate_key',
        attributes: [
          { key: 'validator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
          { key: 'new_key', value: toHex(p.newKey) },
        ],
      })
    },
  }
  return {
    name: 'staking',
    prefix: STAKING_PREFIX,
    keeper: k,
    txKinds: [createValidator, delegate, undelegate, unjail, rotateKey],
    initGenesis: (store, genesis) => k.initGenesis(store, genesis),
    beginBlock: (store, ctx, info, emit) => k.beginBlock(store, ctx, info, emit),
    endBlock: (store, ctx) => k.endBlock(store, ctx),
    validatorUpdates: (store) => k.validatorUpdates(store),
    queries: {
      validators: (store, _args, q) =>
        allValidators(store).map((v) => validatorJson(store, k, v, q.params.addressPrefix)),
      totals: (store) => {
        const t = getTotals(store)
        return { bonded: t.bonded.toString(), unbonding: t.unbonding.toString() }
      },
    },
  }
}

export const stakingModule = createStakingModule()
