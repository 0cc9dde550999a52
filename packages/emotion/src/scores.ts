/**
 * Scores (0..100 integers) from QuantizedFeatures alone, so the app module recomputes exactly what
 * the validator's agent computed. Formulas (all ranges/weights in EmotionParams; lin = linScore):
 *   hrElev     = hrCentiBpm − restingHrCentiBpm
 *   stress     = w·[lin(hrElev), lin(RMSSD, 60→15 ms, decreasing), lin(SCR/min, 1→10)]
 *   focus      = lin(engagement beta/(alpha+theta), 0.1→0.6)
 *   arousal    = w·[lin(SCL, 1→15 µS), lin(SCR/min), lin(hrElev)]
 *   valence    = lin(FAA, −0.4→+0.4 Np)  (50 = symmetric)
 *   fatigue    = w·[lin(theta/alpha, 0.8→2.5), lin(RMSSD decline vs previous window, 0→30%)]
 *   confidence = Σ quality_m · w_m over RR / EEG / EDA (absent modality = 0)
 *   authenticity = 0 without RR or with any anomaly, else min(lin(SampEn, 0.3→0.8),
 *                  lin(SDNN, 2→8 ms))
 * Weighted groups skip absent components and renormalise the remaining weights; a group with no
 * component present gets `missingScore` (50). Then
 *   score×1000 = Σ w_i·s_i with (100 − stress), focus, authenticity, valence, arousal,
 *                (100 − fatigue), confidence; score = round half up(/1000), capped by the tier.
 *   eligible   = score >= minScore && authenticity >= minAuthenticity && no anomaly.
 */
import type { Anomaly } from './detectors.ts'
import { linScore, roundDiv } from './math/int.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'
import { DEFAULT_EMOTION_PARAMS, type EmotionParams, validateParams } from './params.ts'
import {
  MOD_EDA,
  MOD_EEG,
  MOD_FAA,
  MOD_RR,
  type QuantizedFeatures,
  checkQuantizedFeatures,
} from './quantized.ts'
import { DEVICE_TIERS, type DeviceTier } from './window.ts'

export interface EmotionScores {
  readonly stress: number
  readonly focus: number
  readonly arousal: number
  readonly valence: number
  readonly fatigue: number
  readonly confidence: number
  readonly authenticity: number
  /** Before the tier cap. */
  readonly rawScore: number
  /** After the tier cap: the number consensus weighting uses. */
  readonly score: number
  readonly eligible: boolean
  /** Why not eligible (sorted): LOW_SCORE, LOW_AUTHENTICITY, ANOMALY. */
  readonly ineligibleReasons: readonly string[]
}

export interface ScoreContext {
  readonly tier: DeviceTier
  readonly anomalies?: readonly Anomaly[]
  /** The same validator's previous window (for the fatigue trend). */
  readonly previous?: QuantizedFeatures
  /** Per-validator resting HR baseline; defaults to params.restingHrCentiBpm. */
  readonly restingHrCentiBpm?: number
}

/** Weighted mean (half up) of the present components; missing when none present. */
function weighted(parts: readonly (readonly [number | null, number])[], missing: number): number {
  let num = 0
  let den = 0
  for (const [v, w] of parts) {
    if (v === null) continue
    num += v * w
    den += w
  }
  return den === 0 ? missing : roundDiv(num, den)
}

/**
 * Scores one record. Throws PulseError EMOTION_QF_RANGE for a malformed record and
 * EMOTION_PARAMS_INVALID for malformed params (both are checked on every call: they are cheap and
 * this is what the chain runs on untrusted input).
 */
export function scoreFeatures(
  q: QuantizedFeatures,
  ctx: ScoreContext,
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): EmotionScores {
  checkQuantizedFeatures(q)
  if (ctx.previous !== undefined) checkQuantizedFeatures(ctx.previous)
  validateParams(p)
  if (!DEVICE_TIERS.includes(ctx.tier))
    throw new PulseError('EMOTION_BAD_TIER', 'unknown device tier', { tier: ctx.tier })
  const baseline = ctx.restingHrCentiBpm
  if (baseline !== undefined && (!Number.isSafeInteger(baseline) || baseline < 2_000 || baseline > 20_000)) {
    throw new PulseError('EMOTION_BAD_BASELINE', 'restingHrCentiBpm must be 2000..20000')
  }
  const hasRr = (q.modalities & MOD_RR) !== 0 && q.beats > 0
  const hasEda = (q.modalities & MOD_EDA) !== 0
  const hasEeg = (q.modalities & MOD_EEG) !== 0 && q.eegChannels > 0
  const hasFaa = (q.modalities & MOD_FAA) !== 0
  const rest = ctx.restingHrCentiBpm ?? p.restingHrCentiBpm
  const hrElev = hasRr ? q.hrCentiBpm - rest : 0

  const stress = weighted(
    [
      [hasRr ? linScore(hrElev, ...p.stress.hrElevationCentiBpm) : null, p.stress.weights[0]],
      [hasRr ? linScore(q.rmssdUs, ...p.stress.rmssdUs) : null, p.stress.weights[1]],
      [hasEda ? linScore(q.scrPerMinCenti, ...p.stress.scrPerMinCenti) : null, p.stress.weights[2]],
    ],
    p.missingScore,
  )
  const focus = hasEeg ? linScore(q.engagementMilli, ...p.focus.engagementMilli) : p.missingScore
  const arousal = weighted(
    [
      [hasEda ? linScore(q.edaTonicNanoS, ...p.arousal.edaTonicNanoS) : null, p.arousal.weights[0]],
      [hasEda ? linScore(q.scrPerMinCenti, ...p.arousal.scrPerMinCenti) : null, p.arousal.weights[1]],
      [hasRr ? linScore(hrElev, ...p.arousal.hrElevationCentiBpm) : null, p.arousal.weights[2]],
    ],
    p.missingScore,
  )
  const valence = hasFaa ? linScore(q.faaMilliNp, ...p.valence.faaMilliNp) : p.missingScore
  const prev = ctx.previous
  const declineBp =
    hasRr && prev && (prev.modalities & MOD_RR) !== 0 && prev.rmssdUs > 0
      ? Math.max(0, roundDiv(10_000 * (prev.rmssdUs - q.rmssdUs), prev.rmssdUs))
      : null
  const fatigue = weighted(
    [
      [hasEeg ? linScore(q.thetaAlphaMilli, ...p.fatigue.thetaAlphaMilli) : null, p.fatigue.weights[0]],
      [declineBp !== null ? linScore(declineBp, ...p.fatigue.rmssdDeclineBp) : null, p.fatigue.weights[1]],
    ],
    p.missingScore,
  )
  const cw = p.confidence.weights
  const confidence = roundDiv(
    (hasRr ? q.rrQuality * cw.rr : 0) +
      ((q.modalities & MOD_EEG) !== 0 ? q.eegQuality * cw.eeg : 0) +
      (hasEda ? q.edaQuality * cw.eda : 0),
    1000,
  )
  const anomalies = ctx.anomalies ?? []
  const authenticity =
    !hasRr || anomalies.length > 0
      ? 0
      : Math.min(
          linScore(q.sampEnMilli, ...p.authenticity.sampEnMilli),
          linScore(q.sdnnUs, ...p.authenticity.sdnnUs),
        )

  const w = p.scoreWeights
  const sum =
    w.calm * (100 - stress) +
    w.focus * focus +
    w.authenticity * authenticity +
    w.valence * valence +
    w.arousal * arousal +
    w.rested * (100 - fatigue) +
    w.confidence * confidence
  const rawScore = roundDiv(sum, 1000)
  const score = Math.min(rawScore, p.tierCap[ctx.tier])
  const reasons: string[] = []
  if (anomalies.length > 0) reasons.push('ANOMALY')
  if (authenticity < p.minAuthenticity) reasons.push('LOW_AUTHENTICITY')
  if (score < p.minScore) reasons.push('LOW_SCORE')
  return {
    stress,
    focus,
    arousal,
    valence,
    fatigue,
    confidence,
    authenticity,
    rawScore,
    score,
    eligible: reasons.length === 0,
    ineligibleReasons: reasons,
  }
}
