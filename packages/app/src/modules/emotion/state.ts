/**
 * Emotion module state (prefix 0x05). Records are JSON documents built with a fixed key order
 * (bigints as decimal strings, bytes as hex), so their bytes and the state root are deterministic.
 *
 *   05 01 <device id 20>        -> DeviceRecord (id = account id of the device's public key)
 *   05 02 <operator 20>         -> ValidatorEmotion (devices, violations, history, score, multiplier)
 *   05 03 <operator 20>         -> LastAttestation (the validator's latest attestation and outcome)
 *   05 04 <commitment 32>       -> epoch (u64 BE) the raw-window commitment was first seen in
 *   05 05                       -> nonce ring: K × (height u64 BE || header hash 32), oldest first
 *   05 06                       -> operators known to the module (sorted hex JSON array)
 *   05 07                       -> reward table of the running epoch: [[operator hex, weight]]
 *   05 08                       -> issuance totals { minted, distributed, toCommunity }
 *   05 09                       -> config read by weights.ts { floorMultiplierPermille }
 *   05 0a <operator 20>         -> attestation history: the last ATTESTATION_LOG_MAX epoch outcomes
 *   05 0b                       -> anti-gaming log: the last ANTI_GAMING_LOG_MAX flags, all validators
 * No raw biometric sample is ever stored: only the 112-byte quantized record and the salted
 * commitment that the attestation carries.
 */
import { fromHex, fromUtf8, toHex, utf8 } from '@pulsemesh/core'
import { TxError, type TxErrorCode } from '../../errors.ts'
import type { KVStore } from '../../state/kv.ts'

export const EMOTION_PREFIX = 0x05

function moduleAccount(tag: number): Uint8Array {
  const a = new Uint8Array(20)
  a[0] = 0xff
  a[1] = EMOTION_PREFIX
  a[19] = tag
  return a
}
/** Block rewards are minted here, then split among validators within the same block. */
export const REWARD_POOL = moduleAccount(0x7e)

export const EMOTION_ERROR_CODES = [
  'NOT_A_VALIDATOR',
  'DEVICE_EXISTS',
  'TOO_MANY_DEVICES',
  'DEVICE_CERT_REQUIRED',
  'DEVICE_CERT_INVALID',
  'BAD_DEVICE_KEY',
  'UNKNOWN_DEVICE',
  'DEVICE_NOT_OWNED',
  'DEVICE_REVOKED',
  'BAD_DEVICE_SIGNATURE',
  'WRONG_VALIDATOR',
  'WRONG_EPOCH',
  'NONCE_FUTURE',
  'NONCE_STALE',
  'NONCE_UNKNOWN',
  'ALREADY_ATTESTED',
  'FEATURES_OUT_OF_RANGE',
  'BAD_TIER',
] as const
export type EmotionErrorCode = (typeof EMOTION_ERROR_CODES)[number]

/** An emotion tx failure: the executor fails the tx (fee paid, nonce used, no other write kept). */
export class EmotionError extends TxError {
  constructor(code: EmotionErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code as unknown as TxErrorCode, message, meta)
    this.name = 'EmotionError'
  }
}

export const EMOTION_TIERS = ['consumer', 'professional', 'medical'] as const
export type Tier = (typeof EMOTION_TIERS)[number]

export interface DeviceRecord {
  id: Uint8Array
  validator: Uint8Array
  scheme: 'ed25519' | 'secp256k1'
  key: Uint8Array
  tier: Tier
  /** Manufacturer root index, −1 = uncertified. */
  manufacturer: number
  registeredAt: bigint
  /** 0 = active. */
  revokedAt: bigint
}

export interface ValidatorEmotion {
  /** Device ids (hex), sorted. */
  devices: string[]
  violations: number
  /** Epoch of the latest violation, −1n = none. */
  lastViolationEpoch: bigint
  lastReasons: string[]
  /** Quantized records (hex) of the last accepted epochs, oldest first. */
  history: string[]
  /** Epoch of the latest attestation tx (accepted or flagged), −1n = none. */
  lastAttestedEpoch: bigint
  /** Result of the last closed epoch: score 0..100 (0 without a valid attestation). */
  score: number
  eligible: boolean
  /** Voting-power multiplier for the epoch after `scoreEpoch`. */
  multiplierPermille: number
  scoreEpoch: bigint
}

export interface LastAttestation {
  epoch: bigint
  device: Uint8Array
  features: Uint8Array
  commitment: Uint8Array
  tier: Tier
  claimedScore: number
  nonceHeight: bigint
  /** 'pending' until the epoch closes, then 'scored' or 'flagged'. */
  status: 'pending' | 'scored' | 'flagged'
  reasons: string[]
  txHash: string
}

const key = (sub: number, rest: Uint8Array = new Uint8Array()) => {
  const k = new Uint8Array(2 + rest.length)
  k[0] = EMOTION_PREFIX
  k[1] = sub
  k.set(rest, 2)
  return k
}
export const emotionDeviceKey = (id: Uint8Array) => key(0x01, id)
export const emotionValidatorKey = (op: Uint8Array) => key(0x02, op)
export const emotionAttestationKey = (op: Uint8Array) => key(0x03, op)
export const emotionCommitmentKey = (c: Uint8Array) => key(0x04, c)
export const EMOTION_RING_KEY = key(0x05)
export const EMOTION_OPERATORS_KEY = key(0x06)
export const EMOTION_REWARD_TABLE_KEY = key(0x07)
export const EMOTION_ISSUANCE_KEY = key(0x08)
export const EMOTION_CONFIG_KEY = key(0x09)
export const emotionAttestationLogKey = (op: Uint8Array) => key(0x0a, op)
export const EMOTION_ANTI_GAMING_LOG_KEY = key(0x0b)

/** Epoch outcomes kept per validator, and anti-gaming flags kept in all (bounded state). */
export const ATTESTATION_LOG_MAX = 32
export const ANTI_GAMING_LOG_MAX = 256

/** One validator's result for one closed epoch (written at the epoch's last block). */
export interface EpochOutcome {
  epoch: string
  /** scored: valid attestation; flagged: anti-gaming hit; missing: no attestation this epoch. */
  status: 'scored' | 'flagged' | 'missing'
  score: number
  eligible: boolean
  /** Multiplier for the next epoch, per mille. */
  multiplierPermille: number
  /** Ineligibility or anti-gaming reason codes. */
  reasons: string[]
  /** Attestation tx hash (scored or flagged at epoch close), null otherwise. */
  tx: string | null
}
export function getAttestationLog(store: KVStore, op: Uint8Array): EpochOutcome[] {
  const v = store.get(emotionAttestationLogKey(op))
  return v === undefined ? [] : (JSON.parse(fromUtf8(v)) as EpochOutcome[])
}
export function appendAttestationLog(store: KVStore, op: Uint8Array, o: EpochOutcome): void {
  const log = [...getAttestationLog(store, op), o].slice(-ATTESTATION_LOG_MAX)
  putJson(store, emotionAttestationLogKey(op), log)
}

/** An anti-gaming flag: reason codes and, for copies, the peers (never feature values or samples). */
export interface AntiGamingEntry {
  epoch: string
  /** Operator id, hex. */
  validator: string
  reasons: string[]
  /** 'attestation' (flagged by the tx) or 'epoch_close' (cross-validator check). */
  at: 'attestation' | 'epoch_close'
  /** Operator ids (hex) of near-identical peers. */
  peers: string[]
}
export function getAntiGamingLog(store: KVStore): AntiGamingEntry[] {
  const v = store.get(EMOTION_ANTI_GAMING_LOG_KEY)
  return v === undefined ? [] : (JSON.parse(fromUtf8(v)) as AntiGamingEntry[])
}
export function appendAntiGamingLog(store: KVStore, entries: readonly AntiGamingEntry[]): void {
  if (entries.length === 0) return
  const log = [...getAntiGamingLog(store), ...entries].slice(-ANTI_GAMING_LOG_MAX)
  putJson(store, EMOTION_ANTI_GAMING_LOG_KEY, log)
}

export function getFloorMultiplier(store: KVStore): number | undefined {
  const j = getJson(store, EMOTION_CONFIG_KEY)
  return j === undefined ? undefined : (j.floorMultiplierPermille as number)
}
export function putEmotionConfig(store: KVStore, floorMultiplierPermille: number): void {
  putJson(store, EMOTION_CONFIG_KEY, { floorMultiplierPermille })
}

function getJson(store: KVStore, k: Uint8Array): Record<string, unknown> | undefined {
  const v = store.get(k)
  return v === undefined ? undefined : (JSON.parse(fromUtf8(v)) as Record<string, unknown>)
}
function putJson(store: KVStore, k: Uint8Array, v: unknown): void {
  store.set(k, utf8(JSON.stringify(v)))
}

export function getDevice(store: KVStore, id: Uint8Array): DeviceRecord | undefined {
  const j = getJson(store, emotionDeviceKey(id))
  if (j === undefined) return undefined
  return {
    id: fromHex(j.id as string),
    validator: fromHex(j.validator as string),
    scheme: j.scheme as DeviceRecord['scheme'],
    key: fromHex(j.key as string),
    tier: j.tier as Tier,
    manufacturer: j.manufacturer as number,
    registeredAt: BigInt(j.registeredAt as string),
    revokedAt: BigInt(j.revokedAt as string),
  }
}
export function putDevice(store: KVStore, d: DeviceRecord): void {
  putJson(store, emotionDeviceKey(d.id), {
    id: toHex(d.id),
    validator: toHex(d.validator),
    scheme: d.scheme,
    key: toHex(d.key),
    tier: d.tier,
    manufacturer: d.manufacturer,
    registeredAt: d.registeredAt.toString(),
    revokedAt: d.revokedAt.toString(),
  })
}

export function emptyValidatorEmotion(floorMultiplier: number): ValidatorEmotion {
  return {
    devices: [],
    violations: 0,
    lastViolationEpoch: -1n,
    lastReasons: [],
    history: [],
    lastAttestedEpoch: -1n,
    score: 0,
    eligible: false,
    multiplierPermille: floorMultiplier,
    scoreEpoch: -1n,
  }
}

export function getValidatorEmotion(store: KVStore, op: Uint8Array): ValidatorEmotion | undefined {
  const j = getJson(store, emotionValidatorKey(op))
  if (j === undefined) return undefined
  return {
    devices: j.devices as string[],
    violations: j.violations as number,
    lastViolationEpoch: BigInt(j.lastViolationEpoch as string),
    lastReasons: j.lastReasons as string[],
    history: j.history as string[],
    lastAttestedEpoch: BigInt(j.lastAttestedEpoch as string),
    score: j.score as number,
    eligible: j.eligible as boolean,
    multiplierPermille: j.multiplierPermille as number,
    scoreEpoch: BigInt(j.scoreEpoch as string),
  }
}
export function putValidatorEmotion(store: KVStore, op: Uint8Array, v: ValidatorEmotion): void {
  putJson(store, emotionValidatorKey(op), {
    devices: v.devices,
    violations: v.violations,
    lastViolationEpoch: v.lastViolationEpoch.toString(),
    lastReasons: v.lastReasons,
    history: v.history,
    lastAttestedEpoch: v.lastAttestedEpoch.toString(),
    score: v.score,
    eligible: v.eligible,
    multiplierPermille: v.multiplierPermille,
    scoreEpoch: v.scoreEpoch.toString(),
  })
}

export function getLastAttestation(store: KVStore, op: Uint8Array): LastAttestation | undefined {
  const j = getJson(store, emotionAttestationKey(op))
  if (j === undefined) return undefined
  return {
    epoch: BigInt(j.epoch as string),
    device: fromHex(j.device as string),
    features: fromHex(j.features as string),
    commitment: fromHex(j.commitment as string),
    tier: j.tier as Tier,
    claimedScore: j.claimedScore as number,
    nonceHeight: BigInt(j.nonceHeight as string),
    status: j.status as LastAttestation['status'],
    reasons: j.reasons as string[],
    txHash: j.txHash as string,
  }
}
export function putLastAttestation(store: KVStore, op: Uint8Array, a: LastAttestation): void {
  putJson(store, emotionAttestationKey(op), {
    epoch: a.epoch.toString(),
    device: toHex(a.device),
    features: toHex(a.features),
    commitment: toHex(a.commitment),
    tier: a.tier,
    claimedScore: a.claimedScore,
    nonceHeight: a.nonceHeight.toString(),
    status: a.status,
    reasons: a.reasons,
    txHash: a.txHash,
  })
}

export function listEmotionOperators(store: KVStore): string[] {
  const v = store.get(EMOTION_OPERATORS_KEY)
  return v === undefined ? [] : (JSON.parse(fromUtf8(v)) as string[])
}
export function addEmotionOperator(store: KVStore, op: Uint8Array): void {
  const list = listEmotionOperators(store)
  const h = toHex(op)
  if (list.includes(h)) return
  list.push(h)
  list.sort()
  putJson(store, EMOTION_OPERATORS_KEY, list)
}

// ---------------------------------------------------------------- nonce ring

export interface NonceRingEntry {
  height: bigint
  hash: Uint8Array
}
export function getNonceRing(store: KVStore): NonceRingEntry[] {
  const v = store.get(EMOTION_RING_KEY)
  if (v === undefined) return []
  const out: NonceRingEntry[] = []
  const dv = new DataView(v.buffer, v.byteOffset, v.byteLength)
  for (let o = 0; o + 40 <= v.length; o += 40)
    out.push({ height: dv.getBigUint64(o), hash: v.slice(o + 8, o + 40) })
  return out
}
export function putNonceRing(store: KVStore, ring: readonly NonceRingEntry[]): void {
  const out = new Uint8Array(40 * ring.length)
  const dv = new DataView(out.buffer)
  ring.forEach((e, i) => {
    dv.setBigUint64(40 * i, e.height)
    out.set(e.hash, 40 * i + 8)
  })
  store.set(EMOTION_RING_KEY, out)
}

// ---------------------------------------------------------------- commitments

export function commitmentSeen(store: KVStore, c: Uint8Array): boolean {
  return store.get(emotionCommitmentKey(c)) !== undefined
}
export function markCommitment(store: KVStore, c: Uint8Array, epoch: bigint): void {
  const v = new Uint8Array(8)
  new DataView(v.buffer).setBigUint64(0, epoch)
  store.set(emotionCommitmentKey(c), v)
}

// ---------------------------------------------------------------- rewards

export function getRewardTable(store: KVStore): [string, bigint][] {
  const v = store.get(EMOTION_REWARD_TABLE_KEY)
  if (v === undefined) return []
  return (JSON.parse(fromUtf8(v)) as [string, string][]).map(([a, w]) => [a, BigInt(w)])
}
export function putRewardTable(store: KVStore, t: readonly [string, bigint][]): void {
  putJson(
    store,
    EMOTION_REWARD_TABLE_KEY,
    t.map(([a, w]) => [a, w.toString()]),
  )
}

export interface IssuanceTotals {
  minted: bigint
  distributed: bigint
  toCommunity: bigint
}
export function getEmoIssuance(store: KVStore): IssuanceTotals {
  const j = getJson(store, EMOTION_ISSUANCE_KEY)
  if (j === undefined) return { minted: 0n, distributed: 0n, toCommunity: 0n }
  return {
    minted: BigInt(j.minted as string),
    distributed: BigInt(j.distributed as string),
    toCommunity: BigInt(j.toCommunity as string),
  }
}
export function putEmoIssuance(store: KVStore, t: IssuanceTotals): void {
  putJson(store, EMOTION_ISSUANCE_KEY, {
    minted: t.minted.toString(),
    distributed: t.distributed.toString(),
    toCommunity: t.toCommunity.toString(),
  })
}
