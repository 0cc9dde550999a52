/**
 * Electrodermal activity (Boucsein, "Electrodermal Activity", 2nd ed. 2012; Society for
 * Psychophysiological Research 2012 recommendations). Input: skin conductance in picosiemens
 * (E4 µS · 10^6) at an integer rate in Hz (the E4 uses 4 Hz).
 *
 * 1. smoothing: trailing 1 s moving average (half-up rounded), which removes quantisation noise;
 * 2. tonic level (SCL): mean of the trailing moving minimum of the smoothed signal over
 *    `tonicWindowS` (default 8 s), i.e. the floor the phasic responses ride on;
 * 3. phasic responses (SCRs): a response starts when the smoothed signal rises at least
 *    `scrThresholdPs` (default 10_000 pS = 0.01 µS, the usual minimum amplitude) above the minimum
 *    of the last `riseMaxS` seconds (default 4 s, bounding the rise time) after the previous peak;
 *    its peak is confirmed when the signal has fallen `scrThresholdPs / 2` below the running
 *    maximum (or the window ends). Amplitude = peak − onset minimum.
 */
import { roundDiv } from '../math/int.ts'

export interface EdaParams {
  tonicWindowS: number
  scrThresholdPs: number
  riseMaxS: number
}

export const DEFAULT_EDA: EdaParams = { tonicWindowS: 8, scrThresholdPs: 10_000, riseMaxS: 4 }

export interface EdaFeatures {
  readonly samples: number
  readonly tonicPs: number
  /** max − min of the smoothed signal. */
  readonly rangePs: number
  readonly scrCount: number
  /** Mean SCR amplitude (0 when none). */
  readonly scrMeanAmplitudePs: number
  /** SCRs per minute × 100, from the window duration. */
  readonly scrPerMinCenti: number
}

export function smoothEda(x: readonly number[], rateHz: number): number[] {
  const w = Math.max(1, rateHz)
  const out: number[] = new Array(x.length)
  let acc = 0
  for (let i = 0; i < x.length; i++) {
    acc += x[i]
    if (i >= w) acc -= x[i - w]
    out[i] = roundDiv(acc, Math.min(i + 1, w))
  }
  return out
}

function windowMin(s: readonly number[], from: number, to: number): number {
  let m = s[from]
  for (let k = from + 1; k <= to; k++) if (s[k] < m) m = s[k]
  return m
}

export function edaFeatures(
  picoSiemens: readonly number[],
  rateHz: number,
  p: EdaParams = DEFAULT_EDA,
): EdaFeatures {
  const n = picoSiemens.length
  if (n === 0 || rateHz <= 0)
    return { samples: 0, tonicPs: 0, rangePs: 0, scrCount: 0, scrMeanAmplitudePs: 0, scrPerMinCenti: 0 }
  const s = smoothEda(picoSiemens, rateHz)
  const tonicW = Math.max(1, p.tonicWindowS * rateHz)
  let tonicSum = 0
  let lo = s[0]
  let hi = s[0]
  for (let i = 0; i < n; i++) {
    tonicSum += windowMin(s, Math.max(0, i - tonicW + 1), i)
    if (s[i] < lo) lo = s[i]
    if (s[i] > hi) hi = s[i]
  }
  const riseW = Math.max(1, p.riseMaxS * rateHz)
  let count = 0
  let ampSum = 0
  let rising = false
  let onset = 0
  let peak = 0
  let after = 0 // first index after the last confirmed peak
  for (let i = 0; i < n; i++) {
    if (!rising) {
      const from = Math.max(after, i - riseW + 1)
      const m = windowMin(s, from, i)
      if (s[i] - m >= p.scrThresholdPs) {
        rising = true
        onset = m
        peak = s[i]
      }
    } else if (s[i] > peak) peak = s[i]
    else if (2 * (peak - s[i]) >= p.scrThresholdPs) {
      count += 1
      ampSum += peak - onset
      rising = false
      after = i
    }
  }
  if (rising) {
    count += 1
    ampSum += peak - onset
  }
  return {
    samples: n,
    tonicPs: roundDiv(tonicSum, n),
    rangePs: hi - lo,
    scrCount: count,
    scrMeanAmplitudePs: count > 0 ? roundDiv(ampSum, count) : 0,
    scrPerMinCenti: roundDiv(count * 6000 * rateHz, n),
  }
}
