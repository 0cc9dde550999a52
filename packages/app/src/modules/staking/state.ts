/**
 * Staking state (module prefix 0x02). Records are small JSON documents with a fixed key order and
 * bigints as decimal strings, so their bytes (and the state root) are deterministic.
 *
 *   02 01 <operator 20>            -> Validator
 *   02 02 <consensus address 20>   -> ConsKeyRecord (current and rotated-out keys, for evidence)
 *   02 03 <operator 20>            -> Delegations of the validator: [[delegator hex, amount]], sorted
 *   02 04                          -> Unbonding queue: UnbondingEntry[], by completion height then seq
 *   02 05                          -> Totals { bonded, unbonding, seq }
 *   02 06                          -> Active set as last reported to consensus: [[consensus key hex, power]]
 *   02 07                          -> Validator operators, sorted hex
 *   02 08 <operator 20>            -> EmotionStrikes (only with params.emotion)
 */
import { fromHex, fromUtf8, toHex, utf8 } from '@pulsemesh/core'
import { accountIdOf } from '../../accounts.ts'
import { TxError } from '../../errors.ts'
import type { KVStore } from '../../state/kv.ts'

export const STAKING_PREFIX = 0x02

/** Escrow of every bonded and unbonding token (a module account nobody holds a key for). */
export const STAKING_POOL = accountFromTag(0x5b)
/** Where slashed tokens go (not burned: governance may spend them later). */
export const COMMUNITY_POOL = accountFromTag(0xc0)

function accountFromTag(tag: number): Uint8Array {
  const a = new Uint8Array(20)
  a[0] = 0xff
  a[1] = STAKING_PREFIX
  a[19] = tag
  return a
}

export interface Fraction {
  numerator: bigint
  denominator: bigint
}

export interface StakingParams {
  /** Asset that is staked (default: the network's fee asset). */
  bondAsset?: string
  /** Size of the active set (EmotionalChain uses 21). */
  maxValidators: number
  /** Blocks an undelegation waits before paying out; evidence is punishable this long. */
  unbondingBlocks: bigint
  /** Smallest self-delegation a validator needs to be active or unjailed. */
  minSelfStake: bigint
  /** Tokens per unit of voting power. */
  powerReduction: bigint
  slashDoubleSign: Fraction
  slashDowntime: Fraction
  /** Downtime: more than `maxMissed` of the last `signedWindow` blocks missed jails the validator. */
  signedWindow: number
  maxMissed: number
  /** Blocks a downtime-jailed validator must wait before it may unjail. */
  downtimeJailBlocks: bigint
  /**
   * Proof of Emotion weighting (EmotionalChain profile; absent = plain stake). Requires the emotion
   * module in the same App (its weights.ts interface is read from the store).
   */
  emotion?: EmotionStakingParams
}

/** How staking uses the emotion module's multipliers and anti-gaming violations. */
export interface EmotionStakingParams {
  /** The emotion module's epoch length: violations are counted when an epoch has closed. */
  blocksPerEpoch: bigint
  /** This many anti-gaming violations within `violationWindowEpochs` epochs jail and slash. */
  violationsToJail: number
  violationWindowEpochs: bigint
  slashViolations: Fraction
  /** Blocks a violation-jailed validator must wait before it may unjail. */
  violationJailBlocks: bigint
}

export const DEFAULT_EMOTION_STAKING_PARAMS: Omit<EmotionStakingParams, 'blocksPerEpoch'> = {
  violationsToJail: 3,
  violationWindowEpochs: 6n,
  // Between downtime (1/10 000) and double-signing (1/20): gaming costs more than being offline.
  slashViolations: { numerator: 1n, denominator: 100n },
  violationJailBlocks: 360n,
}

export const DEFAULT_STAKING_PARAMS: StakingParams = {
  maxValidators: 21,
  unbondingBlocks: 1000n,
  minSelfStake: 1n,
  powerReduction: 1n,
  slashDoubleSign: { numerator: 1n, denominator: 20n },
  slashDowntime: { numerator: 1n, denominator: 10_000n },
  signedWindow: 100,
  maxMissed: 50,
  downtimeJailBlocks: 100n,
}

export const STAKING_ERROR_CODES = [
  'VALIDATOR_EXISTS',
  'UNKNOWN_VALIDATOR',
  'NOT_JAILED',
  'STILL_JAILED',
  'TOMBSTONED',
  'CONSENSUS_KEY_IN_USE',
  'SELF_STAKE_TOO_LOW',
  'INSUFFICIENT_DELEGATION',
] as const
export type StakingErrorCode = (typeof STAKING_ERROR_CODES)[number]

/** A staking tx failure: a TxError (the executor fails the tx, keeps its fee) with a staking code. */
export class StakingError extends TxError {
  constructor(code: StakingErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code, message, meta)
    this.name = 'StakingError'
  }
}

export interface Validator {
  operator: Uint8Array
  consensusKey: Uint8Array
  /** Bonded tokens = sum of its delegations (self-delegation included). */
  tokens: bigint
  jailed: boolean
  /** Height from which an unjail tx is accepted. */
  jailedUntil: bigint
  tombstoned: boolean
  /** Heights of recently missed blocks (within the signed window). */
  missed: bigint[]
}

export interface ConsKeyRecord {
  operator: Uint8Array
  /** Height the key stopped being the validator's key (0 = current key). */
  retiredAt: bigint
}

export interface UnbondingEntry {
  delegator: Uint8Array
  validator: Uint8Array
  amount: bigint
  creationHeight: bigint
  completionHeight: bigint
  seq: bigint
}

export interface Totals {
  bonded: bigint
  unbonding: bigint
  seq: bigint
}

const key = (sub: number, rest: Uint8Array = new Uint8Array()) => {
  const k = new Uint8Array(2 + rest.length)
  k[0] = STAKING_PREFIX
  k[1] = sub
  k.set(rest, 2)
  return k
}

function getJson(store: KVStore, k: Uint8Array): unknown {
  const v = store.get(k)
  return v === undefined ? undefined : JSON.parse(fromUtf8(v))
}
function putJson(store: KVStore, k: Uint8Array, v: unknown): void {
  store.set(k, utf8(JSON.stringify(v)))
}

export function consAddress(consensusKey: Uint8Array): Uint8Array {
  return accountIdOf({ scheme: 'ed25519', bytes: consensusKey })
}

export function getValidator(store: KVStore, operator: Uint8Array): Validator | undefined {
  const j = getJson(store, key(0x01, operator)) as Record<string, unknown> | undefined
  if (!j) return undefined
  return {
    operator: fromHex(j.operator as string),
    consensusKey: fromHex(j.consensusKey as string),
    tokens: BigInt(j.tokens as string),
    jailed: j.jailed as boolean,
    jailedUntil: BigInt(j.jailedUntil as string),
    tombstoned: j.tombstoned as boolean,
    missed: (j.missed as string[]).map(BigInt),
  }
}
export function putValidator(store: KVStore, v: Validator): void {
  putJson(store, key(0x01, v.operator), {
    operator: toHex(v.operator),
    consensusKey: toHex(v.consensusKey),
    tokens: v.tokens.toString(),
    jailed: v.jailed,
    jailedUntil: v.jailedUntil.toString(),
    tombstoned: v.tombstoned,
    missed: v.missed.map(String),
  })
  const ops = listOperators(store)
  const h = toHex(v.operator)
  if (!ops.includes(h)) {
    ops.push(h)
    ops.sort()
    putJson(store, key(0x07), ops)
  }
}
export function listOperators(store: KVStore): string[] {
  return (getJson(store, key(0x07)) as string[] | undefined) ?? []
}
export function allValidators(store: KVStore): Validator[] {
  return listOperators(store).map((h) => getValidator(store, fromHex(h))!)
}

export function getConsKey(store: KVStore, address: Uint8Array): ConsKeyRecord | undefined {
  const j = getJson(store, key(0x02, address)) as { operator: string; retiredAt: string } | undefined
  return j ? { operator: fromHex(j.operator), retiredAt: BigInt(j.retiredAt) } : undefined
}
export function putConsKey(store: KVStore, address: Uint8Array, r: ConsKeyRecord): void {
  putJson(store, key(0x02, address), { operator: toHex(r.operator), retiredAt: r.retiredAt.toString() })
}

/** Delegations of one validator, sorted by delegator. */
export function getDelegations(store: KVStore, operator: Uint8Array): Map<string, bigint> {
  const j = (getJson(store, key(0x03, operator)) as [string, string][] | undefined) ?? []
  return new Map(j.map(([d, a]) => [d, BigInt(a)]))
}
export function putDelegations(store: KVStore, operator: Uint8Array, m: Map<string, bigint>): void {
  const rows = [...m.entries()]
    .filter(([, a]) => a > 0n)
    .sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))
  if (rows.length === 0) store.delete(key(0x03, operator))
  else
    putJson(
      store,
      key(0x03, operator),
      rows.map(([d, a]) => [d, a.toString()]),
    )
}

export function getUnbondings(store: KVStore): UnbondingEntry[] {
  const j = (getJson(store, key(0x04)) as Record<string, string>[] | undefined) ?? []
  return j.map((e) => ({
    delegator: fromHex(e.delegator),
    validator: fromHex(e.validator),
    amount: BigInt(e.amount),
    creationHeight: BigInt(e.creationHeight),
    completionHeight: BigInt(e.completionHeight),
    seq: BigInt(e.seq),
  }))
}
export function putUnbondings(store: KVStore, q: UnbondingEntry[]): void {
  const live = q.filter((e) => e.amount > 0n)
  live.sort((a, b) =>
    a.completionHeight !== b.completionHeight
      ? a.completionHeight < b.completionHeight
        ? -1
        : 1
      : a.seq < b.seq
        ? -1
        : a.seq > b.seq
          ? 1
          : 0,
  )
  if (live.length === 0) store.delete(key(0x04))
  else
    putJson(
      store,
      key(0x04),
      live.map((e) => ({
        delegator: toHex(e.delegator),
        validator: toHex(e.validator),
        amount: e.amount.toString(),
        creationHeight: e.creationHeight.toString(),
        completionHeight: e.completionHeight.toString(),
        seq: e.seq.toString(),
      })),
    )
}

export function getTotals(store: KVStore): Totals {
  const j = getJson(store, key(0x05)) as Record<string, string> | undefined
  return j
    ? { bonded: BigInt(j.bonded), unbonding: BigInt(j.unbonding), seq: BigInt(j.seq) }
    : { bonded: 0n, unbonding: 0n, seq: 0n }
}
export function putTotals(store: KVStore, t: Totals): void {
  putJson(store, key(0x05), {
    bonded: t.bonded.toString(),
    unbonding: t.unbonding.toString(),
    seq: t.seq.toString(),
  })
}

/** Emotion violations staking has already counted, and the epochs of those still in the window. */
export interface EmotionStrikes {
  /** `emotionViolations(..).total` when last looked at. */
  seen: number
  /** Epochs of counted violations (one entry per violation), oldest first. */
  epochs: bigint[]
}
export function getEmotionStrikes(store: KVStore, operator: Uint8Array): EmotionStrikes {
  const j = getJson(store, key(0x08, operator)) as { seen: number; epochs: string[] } | undefined
  return j ? { seen: j.seen, epochs: j.epochs.map(BigInt) } : { seen: 0, epochs: [] }
}
export function putEmotionStrikes(store: KVStore, operator: Uint8Array, s: EmotionStrikes): void {
  putJson(store, key(0x08, operator), { seen: s.seen, epochs: s.epochs.map(String) })
}

/** The active set last reported to consensus, by consensus key hex. */
export function getActiveSet(store: KVStore): Map<string, bigint> {
  const j = (getJson(store, key(0x06)) as [string, string][] | undefined) ?? []
  return new Map(j.map(([k, p]) => [k, BigInt(p)]))
}
export function putActiveSet(store: KVStore, m: Map<string, bigint>): void {
  putJson(
    store,
    key(0x06),
    [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([k, p]) => [k, p.toString()]),
  )
}
