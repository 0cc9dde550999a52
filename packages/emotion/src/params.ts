/**
 * Every tunable of feature extraction, scoring, eligibility and anti-gaming, in one object with
 * defaults. Governance changes these. Format constants (units, device scales, band edges, limits)
 * live with their formats; every threshold and weight lives here.
 * A range [x0, x1] maps x linearly onto 0..100 (0 at x0, 100 at x1; decreasing when x0 > x1).
 * Weights are per mille and each group must sum to 1000.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { DEFAULT_EDA, type EdaParams } from './features/eda.ts'
import { DEFAULT_RR_ARTIFACT, type RrArtifactParams } from './features/hrv.ts'
import type { DeviceTier } from './window.ts'

export type Range = readonly [number, number]

export interface EmotionParams {
  readonly rrArtifact: RrArtifactParams
  readonly eda: EdaParams
  /** Sample-entropy tolerance r = sampEnRPermille/1000 · SDNN. */
  readonly sampEnRPermille: number
  /** EEG channels below this quality are left out of band powers. */
  readonly minChannelQuality: number
  /** Signal-quality rules (features/quality.ts). */
  readonly quality: {
    /** |EEG| above this many µV is not brain signal (blinks reach a few hundred µV). */
    eegMaxUv: number
    /** A flat EEG run is fs / eegFlatRunDivisor identical samples (16 -> 1/16 s). */
    eegFlatRunDivisor: number
    /** Plausible skin conductance, pS, and the flat-run length for EDA, seconds. */
    edaMinPs: number
    edaMaxPs: number
    edaFlatRunS: number
  }
  /** Heart rate taken as "at rest" for elevation (a per-validator baseline can be passed in). */
  readonly restingHrCentiBpm: number
  readonly stress: {
    hrElevationCentiBpm: Range
    rmssdUs: Range
    scrPerMinCenti: Range
    weights: readonly [number, number, number]
  }
  readonly focus: { engagementMilli: Range }
  readonly arousal: {
    edaTonicNanoS: Range
    scrPerMinCenti: Range
    hrElevationCentiBpm: Range
    weights: readonly [number, number, number]
  }
  readonly valence: { faaMilliNp: Range }
  readonly fatigue: { thetaAlphaMilli: Range; rmssdDeclineBp: Range; weights: readonly [number, number] }
  readonly confidence: { weights: { rr: number; eeg: number; eda: number } }
  readonly authenticity: { sampEnMilli: Range; sdnnUs: Range }
  /** Score used for a component whose modality is absent (neutral). */
  readonly missingScore: number
  /**
   * The EmotionalChain shape: 0.2·(100 − stress) + 0.2·focus + 0.2·authenticity +
   * 0.1·(valence + arousal + (100 − fatigue) + confidence), as per-mille weights.
   */
  readonly scoreWeights: {
    calm: number
    focus: number
    authenticity: number
    valence: number
    arousal: number
    rested: number
    confidence: number
  }
  readonly minScore: number
  readonly minAuthenticity: number
  readonly tierCap: Readonly<Record<DeviceTier, number>>
  readonly detect: {
    /** RR needs at least this many accepted beats for entropy/variability checks. */
    minBeats: number
    tooRegularSampEnMilli: number
    zeroVariabilitySdnnUs: number
    flatEdaRangeNanoS: number
    flatEegBp: number
    hrCentiBpm: Range
    maxRmssdUs: number
    edaTonicNanoS: Range
    maxEegTotalUv2: number
    /** Near-identical: every compared field within tolerancePermille (relative) + its absolute slack. */
    nearTolerancePermille: number
    nearMinFields: number
    /** Absolute slack per compared field, in the field's unit. */
    nearSlack: {
      hrCentiBpm: number
      rmssdUs: number
      sdnnUs: number
      pnn50Bp: number
      sampEnMilli: number
      edaTonicNanoS: number
      edaRangeNanoS: number
      scrCount: number
      bandBp: number
      faaMilliNp: number
    }
  }
}

export const DEFAULT_EMOTION_PARAMS: EmotionParams = {
  rrArtifact: DEFAULT_RR_ARTIFACT,
  eda: DEFAULT_EDA,
  sampEnRPermille: 200,
  minChannelQuality: 50,
  quality: { eegMaxUv: 500, eegFlatRunDivisor: 16, edaMinPs: 10_000, edaMaxPs: 100_000_000, edaFlatRunS: 8 },
  restingHrCentiBpm: 6_500,
  stress: {
    hrElevationCentiBpm: [0, 3_000],
    rmssdUs: [60_000, 15_000],
    scrPerMinCenti: [100, 1_000],
    weights: [350, 350, 300],
  },
  focus: { engagementMilli: [100, 600] },
  arousal: {
    edaTonicNanoS: [1_000, 15_000],
    scrPerMinCenti: [100, 1_000],
    hrElevationCentiBpm: [0, 3_000],
    weights: [400, 300, 300],
  },
  valence: { faaMilliNp: [-400, 400] },
  fatigue: { thetaAlphaMilli: [800, 2_500], rmssdDeclineBp: [0, 3_000], weights: [600, 400] },
  confidence: { weights: { rr: 400, eeg: 400, eda: 200 } },
  authenticity: { sampEnMilli: [300, 800], sdnnUs: [2_000, 8_000] },
  missingScore: 50,
  scoreWeights: {
    calm: 200,
    focus: 200,
    authenticity: 200,
    valence: 100,
    arousal: 100,
    rested: 100,
    confidence: 100,
  },
  minScore: 70,
  minAuthenticity: 70,
  tierCap: { consumer: 85, professional: 95, medical: 100 },
  detect: {
    minBeats: 30,
    tooRegularSampEnMilli: 300,
    zeroVariabilitySdnnUs: 1_000,
    flatEdaRangeNanoS: 0,
    flatEegBp: 5_000,
    hrCentiBpm: [3_000, 22_000],
    maxRmssdUs: 300_000,
    edaTonicNanoS: [10, 100_000],
    maxEegTotalUv2: 50_000,
    nearTolerancePermille: 10,
    nearMinFields: 5,
    nearSlack: {
      hrCentiBpm: 10,
      rmssdUs: 200,
      sdnnUs: 200,
      pnn50Bp: 20,
      sampEnMilli: 10,
      edaTonicNanoS: 5,
      edaRangeNanoS: 5,
      scrCount: 0,
      bandBp: 10,
      faaMilliNp: 5,
    },
  },
}

function bad(what: string): never {
  throw new PulseError('EMOTION_PARAMS_INVALID', `invalid emotion params: ${what}`, { what })
}

function int(v: unknown, what: string, lo = 0, hi = Number.MAX_SAFE_INTEGER): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) bad(what)
}

function range(r: Range, what: string, lo = -1e12, hi = 1e12): void {
  if (!Array.isArray(r) || r.length !== 2) bad(what)
  int(r[0], what, lo, hi)
  int(r[1], what, lo, hi)
}

function sum1000(ws: readonly number[], what: string): void {
  let s = 0
  for (const w of ws) {
    int(w, what, 0, 1000)
    s += w
  }
  if (s !== 1000) bad(`${what} must sum to 1000`)
}

/** Throws PulseError EMOTION_PARAMS_INVALID unless every field is a sane integer. */
export function validateParams(p: EmotionParams): EmotionParams {
  int(p.rrArtifact.minRrUs, 'rrArtifact.minRrUs', 1, 10_000_000)
  int(p.rrArtifact.maxRrUs, 'rrArtifact.maxRrUs', p.rrArtifact.minRrUs, 10_000_000)
  int(p.rrArtifact.maxChangePermille, 'rrArtifact.maxChangePermille', 1, 10_000)
  int(p.rrArtifact.resetAfter, 'rrArtifact.resetAfter', 1, 1000)
  int(p.eda.tonicWindowS, 'eda.tonicWindowS', 1, 120)
  int(p.eda.scrThresholdPs, 'eda.scrThresholdPs', 1, 10_000_000)
  int(p.eda.riseMaxS, 'eda.riseMaxS', 1, 60)
  int(p.sampEnRPermille, 'sampEnRPermille', 1, 2000)
  int(p.minChannelQuality, 'minChannelQuality', 0, 100)
  int(p.quality.eegMaxUv, 'quality.eegMaxUv', 1, 10_000)
  int(p.quality.eegFlatRunDivisor, 'quality.eegFlatRunDivisor', 1, 512)
  int(p.quality.edaMinPs, 'quality.edaMinPs', 0, 1_000_000_000)
  int(p.quality.edaMaxPs, 'quality.edaMaxPs', p.quality.edaMinPs, 1_000_000_000)
  int(p.quality.edaFlatRunS, 'quality.edaFlatRunS', 1, 300)
  int(p.restingHrCentiBpm, 'restingHrCentiBpm', 2_000, 20_000)
  range(p.stress.hrElevationCentiBpm, 'stress.hrElevationCentiBpm')
  range(p.stress.rmssdUs, 'stress.rmssdUs')
  range(p.stress.scrPerMinCenti, 'stress.scrPerMinCenti')
  sum1000(p.stress.weights, 'stress.weights')
  range(p.focus.engagementMilli, 'focus.engagementMilli')
  range(p.arousal.edaTonicNanoS, 'arousal.edaTonicNanoS')
  range(p.arousal.scrPerMinCenti, 'arousal.scrPerMinCenti')
  range(p.arousal.hrElevationCentiBpm, 'arousal.hrElevationCentiBpm')
  sum1000(p.arousal.weights, 'arousal.weights')
  range(p.valence.faaMilliNp, 'valence.faaMilliNp')
  range(p.fatigue.thetaAlphaMilli, 'fatigue.thetaAlphaMilli')
  range(p.fatigue.rmssdDeclineBp, 'fatigue.rmssdDeclineBp')
  sum1000(p.fatigue.weights, 'fatigue.weights')
  sum1000([p.confidence.weights.rr, p.confidence.weights.eeg, p.confidence.weights.eda], 'confidence.weights')
  range(p.authenticity.sampEnMilli, 'authenticity.sampEnMilli')
  range(p.authenticity.sdnnUs, 'authenticity.sdnnUs')
  int(p.missingScore, 'missingScore', 0, 100)
  const w = p.scoreWeights
  sum1000([w.calm, w.focus, w.authenticity, w.valence, w.arousal, w.rested, w.confidence], 'scoreWeights')
  int(p.minScore, 'minScore', 0, 100)
  int(p.minAuthenticity, 'minAuthenticity', 0, 100)
  for (const t of ['consumer', 'professional', 'medical'] as const) int(p.tierCap[t], `tierCap.${t}`, 0, 100)
  const d = p.detect
  int(d.minBeats, 'detect.minBeats', 4, 2000)
  int(d.tooRegularSampEnMilli, 'detect.tooRegularSampEnMilli', 0, 20_000)
  int(d.zeroVariabilitySdnnUs, 'detect.zeroVariabilitySdnnUs', 0, 1_000_000)
  int(d.flatEdaRangeNanoS, 'detect.flatEdaRangeNanoS', 0, 1_000_000)
  int(d.flatEegBp, 'detect.flatEegBp', 0, 10_000)
  range(d.hrCentiBpm, 'detect.hrCentiBpm', 0, 100_000)
  int(d.maxRmssdUs, 'detect.maxRmssdUs', 0, 10_000_000)
  range(d.edaTonicNanoS, 'detect.edaTonicNanoS', 0, 10_000_000)
  int(d.maxEegTotalUv2, 'detect.maxEegTotalUv2', 0, 0xffffffff)
  int(d.nearTolerancePermille, 'detect.nearTolerancePermille', 0, 1000)
  int(d.nearMinFields, 'detect.nearMinFields', 1, 14)
  for (const [k, v] of Object.entries(d.nearSlack)) int(v, `detect.nearSlack.${k}`, 0, 1_000_000)
  return p
}

/** Defaults with some groups replaced (shallow per group). */
export function withParams(overrides: Partial<EmotionParams>): EmotionParams {
  return validateParams({ ...DEFAULT_EMOTION_PARAMS, ...overrides })
}
