/**
 * Signal-quality index per channel, 0..100 = the share of usable samples (floor). A sample is
 * unusable when it is missing (filled gap), sits on a rail (clipping), is outside the plausible
 * physical range, or belongs to a flat run (>= flatRunMin identical consecutive values: a
 * disconnected or frozen sensor). Flat runs, clipping and range are the classic automatic EEG/EDA
 * artefact checks; the thresholds are parameters.
 */
import { floorDiv } from '../math/int.ts'

export interface QualityRule {
  /** Identical consecutive values that make a flat run. */
  flatRunMin: number
  /** Values <= railLo or >= railHi are clipped (use ±Infinity to disable). */
  railLo: number
  railHi: number
  /** Plausible range; outside it a sample is unusable. */
  minValue: number
  maxValue: number
}

export function channelQuality(x: ArrayLike<number>, rule: QualityRule, missing = 0): number {
  const n = x.length
  if (n === 0) return 0
  let bad = 0
  let runStart = 0
  for (let i = 0; i <= n; i++) {
    if (i === n || x[i] !== x[runStart]) {
      const len = i - runStart
      if (len >= rule.flatRunMin) bad += len
      else {
        for (let k = runStart; k < i; k++) {
          const v = x[k]
          if (v <= rule.railLo || v >= rule.railHi || v < rule.minValue || v > rule.maxValue) bad += 1
        }
      }
      runStart = i
    }
  }
  const total = n
  // missing samples were filled by holding a value: they are already in x, count them as bad
  const good = Math.max(0, total - Math.min(total, bad + missing))
  return floorDiv(100 * good, total)
}
