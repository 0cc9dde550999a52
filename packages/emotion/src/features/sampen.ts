/**
 * Sample entropy (Richman & Moorman 2000, Am J Physiol 278:H2039) of an integer series, with an
 * integer tolerance r (same unit as the series; default r = 0.2 · SDNN, rounded half up) and m = 2.
 * B = template pairs of length m within r (Chebyshev distance), A = the same for m + 1, both over
 * the N − m templates; SampEn = ln(B / A), reported in milli-nepers via the integer logarithm.
 * When A = 0 the value is undefined; we report the conservative upper estimate ln(B) (A taken as 1),
 * or ln(all pairs) when B = 0 too — "very irregular", never "too regular". Returns null for series
 * shorter than m + 2.
 */
import { lnMilli, lnRatioMilli } from '../math/int.ts'

export function sampleEntropyMilli(x: readonly number[], r: number, m = 2): number | null {
  const n = x.length
  if (n < m + 2) return null
  const templates = n - m
  let b = 0
  let a = 0
  for (let i = 0; i < templates - 1; i++) {
    for (let j = i + 1; j < templates; j++) {
      let k = 0
      while (k < m && Math.abs(x[i + k] - x[j + k]) <= r) k++
      if (k < m) continue
      b += 1
      if (Math.abs(x[i + m] - x[j + m]) <= r) a += 1
    }
  }
  if (b === 0) return lnMilli((templates * (templates - 1)) / 2)
  if (a === 0) return lnMilli(b)
  return lnRatioMilli(BigInt(b), BigInt(a))
}
