/**
 * The emotion module (prefix 0x05, tx kinds 0x0501..0x0503): Proof of Emotion for the
 * EmotionalChain profile (DESIGN §6).
 *
 *  - register-device / revoke-device: a validator binds device keys (Ed25519 or secp256k1) to
 *    itself, optionally certified by a genesis manufacturer root (needed for tiers above consumer).
 *  - attest: once per epoch, a quantized feature record (packages/emotion QuantizedFeatures), a
 *    salted commitment to the raw window, a recent block hash as nonce, signed by a registered
 *    device and (as the tx) by the validator. Hard failures (signature, device, nonce, epoch,
 *    ranges, second attestation) fail the tx: nothing of the module changes. Anti-gaming hits
 *    (packages/emotion detectors) are *flags*: the tx succeeds, only the validator's violation
 *    count/reasons and its "attested this epoch" mark change, and an `emotion_flagged` event
 *    carries the reason codes.
 *  - end of epoch (last block): the cross-validator near-identity check over all pending
 *    attestations of the epoch, then deterministic integer scores (scoreFeatures), next epoch's
 *    multipliers (weights.ts) and the reward table (stake × score).
 *  - every block: EMO issuance and reward split (economics.ts); begin of block: the nonce ring.
 */
import {
  type ChainEvent,
  DecodeError,
  equalBytes,
  fromHex,
  PulseError,
  publicKeyIsWellFormed,
  toHex,
  verify,
} from '@pulsemesh/core'
import {
  type Anomaly,
  decodeQuantizedFeatures,
  detectAnomalies,
  nearIdentical,
  type QuantizedFeatures,
  scoreFeatures,
} from '@pulsemesh/emotion'
import { accountIdOf, formatAddress, parseAccount } from '../../accounts.ts'
import type { BeginBlockInfo, ConsensusHooks } from '../../executor.ts'
import type { AppModule, BlockContext, TxContext, TxKind } from '../../module.ts'
import type { KVStore } from '../../state/kv.ts'
import { getValidator } from '../staking/state.ts'
import { blockReward, distributeBlockReward, scheduledIssuance } from './economics.ts'
import { type EmotionModuleParams, withEmotionModuleParams } from './params.ts'
import {
  type AttestPayload,
  attestationSignBytes,
  decodeAttest,
  decodeRegisterDevice,
  decodeRevokeDevice,
  deviceCertificateSignBytes,
  encodeAttest,
  encodeRegisterDevice,
  encodeRevokeDevice,
  NO_MANUFACTURER,
  type RegisterDevicePayload,
  type RevokeDevicePayload,
} from './payloads.ts'
import { rankActiveSet } from './ranking.ts'
import {
  ANTI_GAMING_LOG_MAX,
  type AntiGamingEntry,
  ATTESTATION_LOG_MAX,
  addEmotionOperator,
  appendAntiGamingLog,
  appendAttestationLog,
  commitmentSeen,
  getAntiGamingLog,
  getAttestationLog,
  EmotionError,
  emptyValidatorEmotion,
  getDevice,
  getEmoIssuance,
  getLastAttestation,
  getNonceRing,
  getValidatorEmotion,
  listEmotionOperators,
  markCommitment,
  putEmotionConfig,
  putDevice,
  putLastAttestation,
  putRewardTable,
  putNonceRing,
  putValidatorEmotion,
  EMOTION_TIERS,
  type Tier,
  type ValidatorEmotion,
} from './state.ts'
import { emotionMultiplierPermille, emotionViolations, emotionVotingPower } from './weights.ts'

export * from './economics.ts'
export * from './params.ts'
export * from './payloads.ts'
export * from './ranking.ts'
export * from './state.ts'
export * from './weights.ts'

export const EMOTION_KIND = { registerDevice: 0x0501, revokeDevice: 0x0502, attest: 0x0503 } as const

/**
 * Who counts as a validator and with how much stake (undefined = not a validator). The default reads
 * the staking module's state (jailed or tombstoned validators have stake 0 for rewards).
 */
export type StakeOf = (store: KVStore, operator: Uint8Array) => bigint | undefined

export const stakeFromStaking: StakeOf = (store, operator) => {
  const v = getValidator(store, operator)
  if (v === undefined) return undefined
  return v.jailed || v.tombstoned ? 0n : v.tokens
}

export interface EmotionModuleOptions {
  params?: Partial<EmotionModuleParams>
  stakeOf?: StakeOf
}

const tierRank = (t: Tier) => EMOTION_TIERS.indexOf(t)

/** Epoch of a height: epoch e covers heights e·B + 1 .. (e + 1)·B. */
export function epochOf(height: bigint, blocksPerEpoch: bigint): bigint {
  return height < 1n ? 0n : (height - 1n) / blocksPerEpoch
}

export class EmotionKeeper {
  readonly params: EmotionModuleParams
  readonly stakeOf: StakeOf
  constructor(opts: EmotionModuleOptions = {}) {
    this.params = withEmotionModuleParams(opts.params)
    this.stakeOf = opts.stakeOf ?? stakeFromStaking
  }

  epochOf(height: bigint): bigint {
    return epochOf(height, this.params.blocksPerEpoch)
  }

  record(store: KVStore, op: Uint8Array): ValidatorEmotion {
    return getValidatorEmotion(store, op) ?? emptyValidatorEmotion(this.params.floorMultiplierPermille)
  }

  multiplierFor(score: number, eligible: boolean): number {
    const p = this.params
    if (!eligible) return p.floorMultiplierPermille
    return (
      p.minMultiplierPermille +
      Math.floor(((p.maxMultiplierPermille - p.minMultiplierPermille) * score) / 100)
    )
  }

  registerDevice(store: KVStore, ctx: TxContext, p: RegisterDevicePayload): void {
    if (this.stakeOf(store, ctx.sender) === undefined)
      throw new EmotionError('NOT_A_VALIDATOR', 'only a validator operator may register devices')
    if (!publicKeyIsWellFormed(p.key))
      throw new EmotionError('BAD_DEVICE_KEY', 'device key is not a valid point')
    const id = accountIdOf(p.key)
    if (getDevice(store, id)) throw new EmotionError('DEVICE_EXISTS', 'device key is (or was) registered')
    const rec = this.record(store, ctx.sender)
    if (rec.devices.length >= this.params.maxDevicesPerValidator)
      throw new EmotionError('TOO_MANY_DEVICES', `at most ${this.params.maxDevicesPerValidator} devices`)
    if (p.manufacturer === NO_MANUFACTURER) {
      if (!this.params.allowUncertifiedDevices || p.tier !== 'consumer')
        throw new EmotionError(
          'DEVICE_CERT_REQUIRED',
          'a manufacturer certificate is required for this device',
        )
    } else {
      const root = this.params.manufacturers[p.manufacturer]
      if (
        root === undefined ||
        !verify(root.key, deviceCertificateSignBytes(ctx.networkId, p.key, p.tier), p.certificate)
      )
        throw new EmotionError('DEVICE_CERT_INVALID', 'manufacturer certificate does not verify')
    }
    putDevice(store, {
      id,
      validator: ctx.sender,
      scheme: p.key.scheme,
      key: p.key.bytes,
      tier: p.tier,
      manufacturer: p.manufacturer === NO_MANUFACTURER ? -1 : p.manufacturer,
      registeredAt: ctx.height,
      revokedAt: 0n,
    })
    rec.devices = [...rec.devices, toHex(id)].sort()
    putValidatorEmotion(store, ctx.sender, rec)
    addEmotionOperator(store, ctx.sender)
    ctx.emit({
      type: 'emotion_device_registered',
      attributes: [
        { key: 'validator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
        { key: 'device', value: toHex(id) },
        { key: 'tier', value: p.tier },
        { key: 'certified', value: String(p.manufacturer !== NO_MANUFACTURER) },
      ],
    })
  }

  revokeDevice(store: KVStore, ctx: TxContext, p: RevokeDevicePayload): void {
    const d = getDevice(store, p.device)
    if (!d) throw new EmotionError('UNKNOWN_DEVICE', 'no such device')
    if (!equalBytes(d.validator, ctx.sender))
      throw new EmotionError('DEVICE_NOT_OWNED', 'device belongs to another validator')
    if (d.revokedAt !== 0n) throw new EmotionError('DEVICE_REVOKED', 'device already revoked')
    putDevice(store, { ...d, revokedAt: ctx.height })
    const rec = this.record(store, ctx.sender)
    rec.devices = rec.devices.filter((h) => h !== toHex(p.device))
    putValidatorEmotion(store, ctx.sender, rec)
    ctx.emit({
      type: 'emotion_device_revoked',
      attributes: [
        { key: 'validator', value: formatAddress(ctx.sender, ctx.params.addressPrefix) },
        { key: 'device', value: toHex(p.device) },
      ],
    })
  }

  /** Checks that fail the tx. Returns the decoded record and the effective tier. */
  private checkAttestation(
    store: KVStore,
    ctx: TxContext,
    p: AttestPayload,
    rec: ValidatorEmotion,
  ): { q: QuantizedFeatures; tier: Tier } {
    const d = getDevice(store, p.device)
    if (!d) throw new EmotionError('UNKNOWN_DEVICE', 'device is not registered')
    if (!equalBytes(d.validator, ctx.sender))
      throw new EmotionError('DEVICE_NOT_OWNED', 'device is registered to another validator')
    if (d.revokedAt !== 0n) throw new EmotionError('DEVICE_REVOKED', 'device was revoked')
    const epoch = this.epochOf(ctx.height)
    if (p.epoch !== epoch)
      throw new EmotionError('WRONG_EPOCH', `attestation is for epoch ${p.epoch}, this is ${epoch}`, {
        epoch: epoch.toString(),
      })
    if (p.nonceHeight >= ctx.height) throw new EmotionError('NONCE_FUTURE', 'nonce block is not in the past')
    if (ctx.height - p.nonceHeight > BigInt(this.params.nonceWindowBlocks))
      throw new EmotionError('NONCE_STALE', `nonce older than ${this.params.nonceWindowBlocks} blocks`)
    const entry = getNonceRing(store).find((e) => e.height === p.nonceHeight)
    if (!entry || !equalBytes(entry.hash, p.nonceHash))
      throw new EmotionError('NONCE_UNKNOWN', 'nonce is not the hash of that recent block')
    const key = { scheme: d.scheme, bytes: d.key }
    if (!verify(key, attestationSignBytes(ctx.networkId, ctx.sender, p), p.deviceSignature))
      throw new EmotionError('BAD_DEVICE_SIGNATURE', 'device signature does not verify')
    if (rec.lastAttestedEpoch === epoch)
      throw new EmotionError('ALREADY_ATTESTED', `validator already attested in epoch ${epoch}`)
    let q: QuantizedFeatures
    try {
      q = decodeQuantizedFeatures(p.features)
    } catch (e) {
      if (!(e instanceof DecodeError)) throw e
      throw new EmotionError('FEATURES_OUT_OF_RANGE', e.message, { field: e.meta.field })
    }
    // A claim can only lower the tier the device was registered (certified) with.
    const tier = tierRank(p.tier) < tierRank(d.tier) ? p.tier : d.tier
    return { q, tier }
  }

  attest(store: KVStore, ctx: TxContext, p: AttestPayload): void {
    const rec = this.record(store, ctx.sender)
    const { q, tier } = this.checkAttestation(store, ctx, p, rec)
    const epoch = p.epoch
    const previous = rec.history.map((h) => decodeQuantizedFeatures(fromHex(h)))
    const anomalies = detectAnomalies(
      q,
      { previous, commitment: p.commitment, seenCommitment: () => commitmentSeen(store, p.commitment) },
      this.params.scoring,
    )
    const validator = formatAddress(ctx.sender, ctx.params.addressPrefix)
    rec.lastAttestedEpoch = epoch
    if (anomalies.length > 0) {
      this.flag(rec, epoch, anomalies)
      putValidatorEmotion(store, ctx.sender, rec)
      ctx.emit(flagEvent(validator, epoch, anomalies))
      return
    }
    const provisional = scoreFeatures(q, { tier, previous: previous.at(-1) }, this.params.scoring)
    putValidatorEmotion(store, ctx.sender, rec)
    markCommitment(store, p.commitment, epoch)
    putLastAttestation(store, ctx.sender, {
      epoch,
      device: p.device,
      features: p.features,
      commitment: p.commitment,
      tier,
      claimedScore: p.claimedScore,
      nonceHeight: p.nonceHeight,
      status: 'pending',
      reasons: [],
      txHash: ctx.txHash,
    })
    ctx.emit({
      type: 'emotion_attestation',
      attributes: [
        { key: 'validator', value: validator },
        { key: 'epoch', value: epoch.toString() },
        { key: 'device', value: toHex(p.device) },
        { key: 'commitment', value: toHex(p.commitment) },
        { key: 'tier', value: tier },
        { key: 'claimed_score', value: String(p.claimedScore) },
        { key: 'provisional_score', value: String(provisional.score) },
      ],
    })
  }

  private flag(rec: ValidatorEmotion, epoch: bigint, anomalies: readonly Anomaly[]): void {
    rec.violations += 1
    rec.lastViolationEpoch = epoch
    rec.lastReasons = [...new Set(anomalies.map((a) => a.code))].sort()
  }

  beginBlock(store: KVStore, ctx: BlockContext): void {
    const h = ctx.prevHash
    if (h === undefined || h.length !== 32 || ctx.height < 2n) return
    const ring = getNonceRing(store).filter((e) => e.height !== ctx.height - 1n)
    ring.push({ height: ctx.height - 1n, hash: h.slice() })
    putNonceRing(store, ring.slice(Math.max(0, ring.length - this.params.nonceWindowBlocks)))
  }

  endBlock(store: KVStore, ctx: BlockContext, emit: (e: ChainEvent) => void): void {
    distributeBlockReward(store, ctx, this.params.economics, emit)
    if (ctx.height >= 1n && ctx.height % this.params.blocksPerEpoch === 0n)
      this.closeEpoch(store, ctx, this.epochOf(ctx.height), emit)
  }

  /** Cross-validator check, scores, multipliers and the next reward table. */
  closeEpoch(store: KVStore, ctx: BlockContext, epoch: bigint, emit: (e: ChainEvent) => void): void {
    const prefix = ctx.params.addressPrefix
    const ops = listEmotionOperators(store)
    const pending: { op: string; q: QuantizedFeatures }[] = []
    const atts = new Map<string, ReturnType<typeof getLastAttestation>>()
    for (const op of ops) {
      const a = getLastAttestation(store, fromHex(op))
      atts.set(op, a)
      if (a && a.epoch === epoch && a.status === 'pending')
        pending.push({ op, q: decodeQuantizedFeatures(a.features) })
    }
    // Pairwise near-identity (symmetric: one test per pair, no per-validator peer arrays).
    const near = new Map<string, Anomaly[]>()
    for (let i = 0; i < pending.length; i++) {
      for (let j = i + 1; j < pending.length; j++) {
        if (!nearIdentical(pending[i].q, pending[j].q, this.params.scoring)) continue
        for (const [a, b] of [
          [i, j],
          [j, i],
        ]) {
          const list = near.get(pending[a].op) ?? []
          list.push({ code: 'NEAR_IDENTICAL_ACROSS_VALIDATORS', detail: pending[b].op })
          near.set(pending[a].op, list)
        }
      }
    }
    const qOf = new Map(pending.map((x) => [x.op, x.q]))
    const flags: AntiGamingEntry[] = []
    const table: [string, bigint][] = []
    let scored = 0
    let flagged = 0
    for (const op of ops) {
      const id = fromHex(op)
      const rec = this.record(store, id)
      const a = atts.get(op)
      const q = qOf.get(op)
      rec.score = 0
      rec.eligible = false
      rec.multiplierPermille = this.params.floorMultiplierPermille
      rec.scoreEpoch = epoch
      const hits = near.get(op)
      // History for the API (written here, at the epoch's end, so an attestation tx changes no more
      // than its flag): what each validator got for this epoch, and every anti-gaming flag.
      let outcome: { status: 'scored' | 'flagged' | 'missing'; reasons: string[]; tx: string | null } = {
        status: 'missing',
        reasons: [],
        tx: null,
      }
      if (a && q && hits) {
        this.flag(rec, epoch, hits)
        outcome = { status: 'flagged', reasons: ['NEAR_IDENTICAL_ACROSS_VALIDATORS'], tx: a.txHash }
        flags.push({
          epoch: epoch.toString(),
          validator: op,
          reasons: ['NEAR_IDENTICAL_ACROSS_VALIDATORS'],
          at: 'epoch_close',
          peers: hits.map((h) => h.detail).sort(),
        })
        putLastAttestation(store, id, {
          ...a,
          status: 'flagged',
          reasons: ['NEAR_IDENTICAL_ACROSS_VALIDATORS'],
        })
        flagged++
        emit(
          flagEvent(
            formatAddress(id, prefix),
            epoch,
            hits.map((h) => ({ ...h, detail: formatAddress(fromHex(h.detail), prefix) })),
          ),
        )
      } else if (a && q) {
        const previous =
          rec.history.length > 0
            ? decodeQuantizedFeatures(fromHex(rec.history[rec.history.length - 1]))
            : undefined
        const s = scoreFeatures(q, { tier: a.tier, previous }, this.params.scoring)
        rec.score = s.score
        rec.eligible = s.eligible
        rec.multiplierPermille = this.multiplierFor(s.score, s.eligible)
        if (this.params.historyEpochs > 0)
          rec.history = [...rec.history, toHex(a.features)].slice(-this.params.historyEpochs)
        putLastAttestation(store, id, { ...a, status: 'scored', reasons: [...s.ineligibleReasons] })
        outcome = { status: 'scored', reasons: [...s.ineligibleReasons], tx: a.txHash }
        scored++
        emit({
          type: 'emotion_score',
          attributes: [
            { key: 'validator', value: formatAddress(id, prefix) },
            { key: 'epoch', value: epoch.toString() },
            { key: 'score', value: String(s.score) },
            { key: 'eligible', value: String(s.eligible) },
            { key: 'reasons', value: s.ineligibleReasons.join(',') },
            { key: 'multiplier_permille', value: String(rec.multiplierPermille) },
          ],
        })
      } else if (rec.lastAttestedEpoch === epoch && rec.lastViolationEpoch === epoch) {
        // flagged by its attestation tx earlier in this epoch
        outcome = { status: 'flagged', reasons: [...rec.lastReasons], tx: null }
        flags.push({
          epoch: epoch.toString(),
          validator: op,
          reasons: [...rec.lastReasons],
          at: 'attestation',
          peers: [],
        })
      }
      appendAttestationLog(store, id, {
        epoch: epoch.toString(),
        status: outcome.status,
        score: rec.score,
        eligible: rec.eligible,
        multiplierPermille: rec.multiplierPermille,
        reasons: outcome.reasons,
        tx: outcome.tx,
      })
      putValidatorEmotion(store, id, rec)
      if (rec.eligible && rec.score > 0) {
        const stake = this.stakeOf(store, id) ?? 0n
        if (stake > 0n) table.push([op, stake * BigInt(rec.score)])
      }
    }
    appendAntiGamingLog(store, flags)
    putRewardTable(store, table)
    emit({
      type: 'emotion_epoch',
      attributes: [
        { key: 'epoch', value: epoch.toString() },
        { key: 'scored', value: String(scored) },
        { key: 'flagged', value: String(flagged) },
        { key: 'reward_recipients', value: String(table.length) },
      ],
    })
  }
}

function flagEvent(validator: string, epoch: bigint, anomalies: readonly Anomaly[]): ChainEvent {
  return {
    type: 'emotion_flagged',
    attributes: [
      { key: 'validator', value: validator },
      { key: 'epoch', value: epoch.toString() },
      { key: 'reasons', value: [...new Set(anomalies.map((a) => a.code))].sort().join(',') },
      // Details name fields or peers, never values or samples.
      {
        key: 'details',
        value: anomalies
          .map((a) => (a.code === 'REPLAYED_COMMITMENT' ? a.code : `${a.code}:${a.detail}`))
          .join(','),
      },
    ],
  }
}

export type EmotionModule = AppModule & ConsensusHooks & { keeper: EmotionKeeper }

function limitArg(v: string | undefined, max: number): number {
  if (v === undefined) return max
  if (!/^[0-9]{1,6}$/.test(v) || Number(v) < 1)
    throw new PulseError('EMOTION_BAD_QUERY', 'limit must be a positive integer')
  return Math.min(Number(v), max)
}

export function createEmotionModule(opts: EmotionModuleOptions = {}): EmotionModule {
  const k = new EmotionKeeper(opts)
  const registerDevice: TxKind<RegisterDevicePayload> = {
    kind: EMOTION_KIND.registerDevice,
    name: 'emotion/register-device',
    decode: decodeRegisterDevice,
    encode: encodeRegisterDevice,
    execute: (store, ctx, p) => k.registerDevice(store, ctx, p),
  }
  const revokeDevice: TxKind<RevokeDevicePayload> = {
    kind: EMOTION_KIND.revokeDevice,
    name: 'emotion/revoke-device',
    decode: decodeRevokeDevice,
    encode: encodeRevokeDevice,
    execute: (store, ctx, p) => k.revokeDevice(store, ctx, p),
  }
  const attest: TxKind<AttestPayload> = {
    kind: EMOTION_KIND.attest,
    name: 'emotion/attest',
    decode: decodeAttest,
    encode: encodeAttest,
    execute: (store, ctx, p) => k.attest(store, ctx, p),
  }
  const addr = (a: string | undefined, prefix: string) => parseAccount(a ?? '', prefix)
  return {
    name: 'emotion',
    prefix: 0x05,
    keeper: k,
    txKinds: [registerDevice, revokeDevice, attest],
    initGenesis: (store) => putEmotionConfig(store, k.params.floorMultiplierPermille),
    beginBlock: (store: KVStore, ctx: BlockContext, _info: BeginBlockInfo) => k.beginBlock(store, ctx),
    endBlock: (store, ctx, emit) => k.endBlock(store, ctx, emit),
    queries: {
      params: () => ({
        blocksPerEpoch: k.params.blocksPerEpoch.toString(),
        nonceWindowBlocks: k.params.nonceWindowBlocks,
        multiplierPermille: {
          min: k.params.minMultiplierPermille,
          max: k.params.maxMultiplierPermille,
          floor: k.params.floorMultiplierPermille,
        },
        manufacturers: k.params.manufacturers.map((m) => ({
          name: m.name,
          scheme: m.key.scheme,
          key: toHex(m.key.bytes),
        })),
        economics: {
          asset: k.params.economics.asset,
          initialBlockReward: k.params.economics.initialBlockReward.toString(),
          halvingIntervalBlocks: k.params.economics.halvingIntervalBlocks.toString(),
        },
      }),
      validator(store, args, q) {
        const id = addr(args.address, q.params.addressPrefix)
        const rec = getValidatorEmotion(store, id)
        const a = getLastAttestation(store, id)
        const v = emotionViolations(store, id)
        return {
          address: args.address,
          epoch: k.epochOf(q.height).toString(),
          multiplierPermille: emotionMultiplierPermille(store, id),
          score: rec?.score ?? 0,
          eligible: rec?.eligible ?? false,
          scoreEpoch: rec && rec.scoreEpoch >= 0n ? rec.scoreEpoch.toString() : null,
          devices: rec?.devices ?? [],
          violations: {
            total: v.total,
            lastEpoch: v.lastEpoch?.toString() ?? null,
            lastReasons: v.lastReasons,
          },
          lastAttestation: a
            ? {
                epoch: a.epoch.toString(),
                device: toHex(a.device),
                commitment: toHex(a.commitment),
                features: toHex(a.features),
                tier: a.tier,
                claimedScore: a.claimedScore,
                status: a.status,
                reasons: a.reasons,
                tx: a.txHash,
              }
            : null,
        }
      },
      /** Every validator known to the module: score, multiplier, stake and the voting power they give. */
      validators(store, _args, q) {
        return listEmotionOperators(store).map((op) => {
          const id = fromHex(op)
          const rec = k.record(store, id)
          const m = emotionMultiplierPermille(store, id)
          const stake = k.stakeOf(store, id)
          const v = emotionViolations(store, id)
          return {
            address: formatAddress(id, q.params.addressPrefix),
            score: rec.score,
            eligible: rec.eligible,
            scoreEpoch: rec.scoreEpoch >= 0n ? rec.scoreEpoch.toString() : null,
            multiplierPermille: m,
            stake: stake?.toString() ?? null,
            weightedStake: stake === undefined ? null : emotionVotingPower(stake, m).toString(),
            violations: v.total,
            lastReasons: v.lastReasons,
          }
        })
      },
      /** A validator's epoch outcomes, newest first (`limit`, default and max ATTESTATION_LOG_MAX). */
      attestations(store, args, q) {
        const id = addr(args.address, q.params.addressPrefix)
        return getAttestationLog(store, id).reverse().slice(0, limitArg(args.limit, ATTESTATION_LOG_MAX))
      },
      /** Anti-gaming flags, newest first; `address` filters one validator, `limit` (max ANTI_GAMING_LOG_MAX). */
      antiGaming(store, args, q) {
        const only =
          args.address === undefined ? undefined : toHex(addr(args.address, q.params.addressPrefix))
        return getAntiGamingLog(store)
          .reverse()
          .filter((e) => only === undefined || e.validator === only)
          .slice(0, limitArg(args.limit, ANTI_GAMING_LOG_MAX))
          .map((e) => ({
            epoch: e.epoch,
            validator: formatAddress(fromHex(e.validator), q.params.addressPrefix),
            reasons: e.reasons,
            at: e.at,
            peers: e.peers.map((p) => formatAddress(fromHex(p), q.params.addressPrefix)),
          }))
      },
      device(store, args) {
        if (!/^[0-9a-f]{40}$/.test(args.id ?? ''))
          throw new PulseError('EMOTION_BAD_QUERY', 'id must be a 20-byte device id in lower-case hex')
        const d = getDevice(store, fromHex(args.id))
        if (!d) return null
        return {
          id: toHex(d.id),
          validator: toHex(d.validator),
          scheme: d.scheme,
          key: toHex(d.key),
          tier: d.tier,
          certified: d.manufacturer >= 0,
          registeredAt: d.registeredAt.toString(),
          revokedAt: d.revokedAt === 0n ? null : d.revokedAt.toString(),
        }
      },
      violations(store, _args, q) {
        return listEmotionOperators(store)
          .map((op) => ({ op, v: emotionViolations(store, fromHex(op)) }))
          .filter((x) => x.v.total > 0)
          .map((x) => ({
            address: formatAddress(fromHex(x.op), q.params.addressPrefix),
            total: x.v.total,
            lastEpoch: x.v.lastEpoch?.toString() ?? null,
            lastReasons: x.v.lastReasons,
          }))
      },
      activeSet(store, args, q) {
        const size = args.size === undefined ? 21 : Number(args.size)
        const cands = listEmotionOperators(store).flatMap((op) => {
          const id = fromHex(op)
          const stake = k.stakeOf(store, id)
          if (stake === undefined) return []
          return [
            {
              address: formatAddress(id, q.params.addressPrefix),
              stake,
              scorePermille: emotionMultiplierPermille(store, id),
            },
          ]
        })
        return rankActiveSet(cands, Number.isSafeInteger(size) && size >= 0 ? size : 21).map((r) => ({
          address: r.address,
          stake: r.stake.toString(),
          multiplierPermille: r.scorePermille,
          weight: r.weight.toString(),
        }))
      },
      issuance(store, _args, q) {
        const t = getEmoIssuance(store)
        return {
          asset: k.params.economics.asset,
          blockReward: blockReward(k.params.economics, q.height + 1n).toString(),
          minted: t.minted.toString(),
          scheduled: scheduledIssuance(k.params.economics, q.height).toString(),
          distributed: t.distributed.toString(),
          toCommunity: t.toCommunity.toString(),
        }
      },
    },
  }
}
