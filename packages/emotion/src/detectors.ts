/**
 * Anti-gaming detectors: pure functions over quantized features (what the chain sees) with stable
 * reason codes. None of them proves cheating; each flags a window that a live human wearing a
 * working sensor is very unlikely to produce.
 *
 *   ZERO_VARIABILITY          RR with SDNN below ~1 ms or zero successive differences, EDA whose
 *                             smoothed range is zero, or EEG mostly in flat runs: a frozen sensor or a
 *                             constant injected signal.
 *   OUT_OF_RANGE_PHYSIOLOGY   mean HR outside 30..220 bpm, RMSSD over 300 ms, skin conductance
 *                             outside 0.01..100 µS, EEG power beyond a living scalp's.
 *   TOO_REGULAR               RR sample entropy below the threshold (default 0.3): real heartbeats
 *                             are irregular (typically SampEn 1–2), a generated sine/loop is not.
 *   IDENTICAL_FEATURES        the same record as one this validator submitted before (a replay
 *                             with a fresh salt, or a stuck pipeline).
 *   NEAR_IDENTICAL_ACROSS_VALIDATORS  another validator's record in the same epoch agrees on every
 *                             compared field within 1% (+ per-field slack): one body, two validators.
 *   REPLAYED_COMMITMENT       the raw-window commitment was seen before.
 */
import { toHex } from '@pulsemesh/core/bytes.ts'
import { DEFAULT_EMOTION_PARAMS, type EmotionParams } from './params.ts'
import {
  MOD_EDA,
  MOD_EEG,
  MOD_FAA,
  MOD_RR,
  type QuantizedFeatures,
  encodeQuantizedFeatures,
} from './quantized.ts'
import { equalBytes } from '@pulsemesh/core/bytes.ts'

export type AnomalyCode =
  | 'ZERO_VARIABILITY'
  | 'OUT_OF_RANGE_PHYSIOLOGY'
  | 'TOO_REGULAR'
  | 'IDENTICAL_FEATURES'
  | 'NEAR_IDENTICAL_ACROSS_VALIDATORS'
  | 'REPLAYED_COMMITMENT'

export const ANOMALY_CODES: readonly AnomalyCode[] = [
  'IDENTICAL_FEATURES',
  'NEAR_IDENTICAL_ACROSS_VALIDATORS',
  'OUT_OF_RANGE_PHYSIOLOGY',
  'REPLAYED_COMMITMENT',
  'TOO_REGULAR',
  'ZERO_VARIABILITY',
]

export interface Anomaly {
  readonly code: AnomalyCode
  /** Short machine-readable detail, e.g. "rr.sdnn" or the peer's id. */
  readonly detail: string
}

export function detectZeroVariability(
  q: QuantizedFeatures,
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): Anomaly[] {
  const out: Anomaly[] = []
  if (
    q.modalities & MOD_RR &&
    q.beats >= 2 &&
    (q.sdnnUs <= p.detect.zeroVariabilitySdnnUs || q.rmssdUs === 0)
  )
    out.push({ code: 'ZERO_VARIABILITY', detail: 'rr' })
  if (q.modalities & MOD_EDA && q.edaRangeNanoS <= p.detect.flatEdaRangeNanoS)
    out.push({ code: 'ZERO_VARIABILITY', detail: 'eda' })
  if (q.modalities & MOD_EEG && q.eegFlatBp >= p.detect.flatEegBp)
    out.push({ code: 'ZERO_VARIABILITY', detail: 'eeg' })
  return out
}

export function detectOutOfRange(q: QuantizedFeatures, p: EmotionParams = DEFAULT_EMOTION_PARAMS): Anomaly[] {
  const d = p.detect
  const out: Anomaly[] = []
  if (q.modalities & MOD_RR && q.beats > 0) {
    if (q.hrCentiBpm < d.hrCentiBpm[0] || q.hrCentiBpm > d.hrCentiBpm[1])
      out.push({ code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'rr.hr' })
    if (q.rmssdUs > d.maxRmssdUs) out.push({ code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'rr.rmssd' })
  }
  if (
    q.modalities & MOD_EDA &&
    (q.edaTonicNanoS < d.edaTonicNanoS[0] || q.edaTonicNanoS > d.edaTonicNanoS[1])
  ) {
    out.push({ code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'eda.tonic' })
  }
  if (q.modalities & MOD_EEG && q.eegTotalUv2 > d.maxEegTotalUv2)
    out.push({ code: 'OUT_OF_RANGE_PHYSIOLOGY', detail: 'eeg.power' })
  return out
}

export function detectTooRegular(q: QuantizedFeatures, p: EmotionParams = DEFAULT_EMOTION_PARAMS): Anomaly[] {
  if (!(q.modalities & MOD_RR) || q.beats < p.detect.minBeats) return []
  return q.sampEnMilli < p.detect.tooRegularSampEnMilli ? [{ code: 'TOO_REGULAR', detail: 'rr.sampen' }] : []
}

export function detectIdenticalFeatures(
  q: QuantizedFeatures,
  previous: readonly QuantizedFeatures[],
): Anomaly[] {
  const mine = encodeQuantizedFeatures(q)
  for (let i = 0; i < previous.length; i++) {
    if (equalBytes(mine, encodeQuantizedFeatures(previous[i])))
      return [{ code: 'IDENTICAL_FEATURES', detail: `previous#${i}` }]
  }
  return []
}

type SlackKey = keyof EmotionParams['detect']['nearSlack']

/** Fields compared across validators, the modality they need and their slack parameter. */
const NEAR_FIELDS: readonly (readonly [keyof QuantizedFeatures, number, SlackKey])[] = [
  ['hrCentiBpm', MOD_RR, 'hrCentiBpm'],
  ['rmssdUs', MOD_RR, 'rmssdUs'],
  ['sdnnUs', MOD_RR, 'sdnnUs'],
  ['pnn50Bp', MOD_RR, 'pnn50Bp'],
  ['sampEnMilli', MOD_RR, 'sampEnMilli'],
  ['edaTonicNanoS', MOD_EDA, 'edaTonicNanoS'],
  ['edaRangeNanoS', MOD_EDA, 'edaRangeNanoS'],
  ['scrCount', MOD_EDA, 'scrCount'],
  ['deltaBp', MOD_EEG, 'bandBp'],
  ['thetaBp', MOD_EEG, 'bandBp'],
  ['alphaBp', MOD_EEG, 'bandBp'],
  ['betaBp', MOD_EEG, 'bandBp'],
  ['gammaBp', MOD_EEG, 'bandBp'],
  ['faaMilliNp', MOD_FAA, 'faaMilliNp'],
]

/** True when a and b agree on every field both carry (at least nearMinFields of them). */
export function nearIdentical(
  a: QuantizedFeatures,
  b: QuantizedFeatures,
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): boolean {
  let compared = 0
  for (const [f, mod, slackKey] of NEAR_FIELDS) {
    const slack = p.detect.nearSlack[slackKey]
    if (!(a.modalities & mod) || !(b.modalities & mod)) continue
    const x = a[f]
    const y = b[f]
    const scale = Math.max(Math.abs(x), Math.abs(y))
    if (1000 * Math.abs(x - y) > p.detect.nearTolerancePermille * scale + 1000 * slack) return false
    compared += 1
  }
  return compared >= p.detect.nearMinFields
}

export interface PeerFeatures {
  readonly validator: string
  readonly features: QuantizedFeatures
}

export function detectNearIdenticalAcrossValidators(
  q: QuantizedFeatures,
  peers: readonly PeerFeatures[],
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): Anomaly[] {
  const hits = peers.filter((peer) => nearIdentical(q, peer.features, p)).map((peer) => peer.validator)
  hits.sort()
  return hits.map((v) => ({ code: 'NEAR_IDENTICAL_ACROSS_VALIDATORS', detail: v }))
}

export function detectReplayedCommitment(
  commitment: Uint8Array,
  seen: (commitmentHex: string) => boolean,
): Anomaly[] {
  const hex = toHex(commitment)
  return seen(hex) ? [{ code: 'REPLAYED_COMMITMENT', detail: hex }] : []
}

export interface DetectionContext {
  /** This validator's earlier records (e.g. the last N epochs). */
  readonly previous?: readonly QuantizedFeatures[]
  /** Other validators' records of the same epoch. */
  readonly peers?: readonly PeerFeatures[]
  readonly commitment?: Uint8Array
  readonly seenCommitment?: (commitmentHex: string) => boolean
}

/** Runs every detector; result sorted by (code, detail) so it is canonical. */
export function detectAnomalies(
  q: QuantizedFeatures,
  ctx: DetectionContext = {},
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): Anomaly[] {
  const out = [
    ...detectZeroVariability(q, p),
    ...detectOutOfRange(q, p),
    ...detectTooRegular(q, p),
    ...detectIdenticalFeatures(q, ctx.previous ?? []),
    ...detectNearIdenticalAcrossValidators(q, ctx.peers ?? [], p),
    ...(ctx.commitment && ctx.seenCommitment
      ? detectReplayedCommitment(ctx.commitment, ctx.seenCommitment)
      : []),
  ]
  out.sort((a, b) =>
    a.code < b.code ? -1 : a.code > b.code ? 1 : a.detail < b.detail ? -1 : a.detail > b.detail ? 1 : 0,
  )
  return out
}
