/**
 * EEG band powers by Welch's method (Welch 1967) with a fixed-point FFT, and frontal alpha
 * asymmetry.
 *
 * Per segment (length N = a power of two, default one second of samples, 50% overlap):
 *   1-2. remove the segment mean exactly and apply a periodic Hann window in Q14 (w[n] = 0.5 −
 *      0.5·cos(2πn/N), from the integer trig table) in one rounding: v = round(((x·N − Σx)·w) / N)
 *      (a rounded integer mean would leak up to half a count of DC into the delta bins through the
 *      Hann sidelobe). |x − mean| <= 2^16 counts, so |v| <= 2^30, the FFT's exact-input bound;
 *   3. fixed-point FFT (output DFT/N, see math/fft.ts), then each component is scaled by 2^-5
 *      (half up) before squaring so |X'|² <= 2^51 and a segment's sum over bins stays < 2^53
 *      (Parseval);
 *   4. per band, the sum of |X'_k|² over its bins is accumulated over segments exactly (in a double
 *      while below 2^52, then carried into a bigint).
 * One-sided band power (scipy's "density" scaling integrated over the band):
 *   P = 2·Σ|X_k|² / (N·Σw²) counts² = N · 2^11 · Σ|X'_k|² / S, where S = Σ(w_Q14)²,
 * averaged over the M segments and converted to physical units with the device's exact µV/count
 * ratio: result in milli-µV² (µV² · 1000), rounded half up.
 * A bin k (frequency k·fs/N) belongs to band [lo, hi) when lo·N <= k·fs < hi·N.
 *
 * Frontal alpha asymmetry (Davidson 1992; Coan & Allen 2004): FAA = ln(alpha_AF8) − ln(alpha_AF7),
 * in milli-nepers from the integer logarithm. Alpha power is inversely related to cortical activity,
 * so positive FAA = relatively more left-frontal activity (approach / positive affect).
 */
import { FFT_INPUT_MAX, fftFixed } from '../math/fft.ts'
import { lnRatioMilli, pow2, roundDivBig } from '../math/int.ts'
import { trigTable } from '../math/trig.ts'

export const EEG_BAND_NAMES = ['delta', 'theta', 'alpha', 'beta', 'gamma'] as const
export type EegBandName = (typeof EEG_BAND_NAMES)[number]
/** Band edges in Hz, half-open [lo, hi). Gamma stops at 45 Hz to stay clear of 50/60 Hz mains. */
export const EEG_BANDS: Readonly<Record<EegBandName, readonly [number, number]>> = {
  delta: [1, 4],
  theta: [4, 8],
  alpha: [8, 13],
  beta: [13, 30],
  gamma: [30, 45],
}

export interface UvPerCount {
  readonly num: number
  readonly den: number
}

export interface BandPowers {
  /** milli-µV² per band, and their sum. */
  readonly delta: number
  readonly theta: number
  readonly alpha: number
  readonly beta: number
  readonly gamma: number
  readonly total: number
  readonly segments: number
}

const HANN_Q = 14
const ACC_FLUSH = 2251799813685248 // 2^51
const POWER_SHIFT = 32 // 2^5
const hannCache = new Map<number, { w: Float64Array; sumSq: bigint }>()

export function hannQ14(n: number): { w: Float64Array; sumSq: bigint } {
  const hit = hannCache.get(n)
  if (hit) return hit
  const t = trigTable(n, HANN_Q + 1)
  const w = new Float64Array(n)
  let s = 0n
  for (let i = 0; i < n; i++) {
    // Q14 of 0.5·(1 − cos) = (2^15 − cos_Q15) / 4, half up
    w[i] = Math.floor((pow2(HANN_Q + 1) - t.cos[i] + 2) / 4)
    s += BigInt(w[i]) * BigInt(w[i])
  }
  const r = { w, sumSq: s }
  hannCache.set(n, r)
  return r
}

/** Band index (0..4) of each bin 0..N/2, or -1. */
function bandOfBins(n: number, fs: number): Int8Array {
  const out = new Int8Array(n / 2 + 1).fill(-1)
  for (let k = 1; k < n / 2; k++) {
    EEG_BAND_NAMES.forEach((name, b) => {
      const [lo, hi] = EEG_BANDS[name]
      if (lo * n <= k * fs && k * fs < hi * n) out[k] = b
    })
  }
  return out
}

export interface WelchScratch {
  re: Float64Array
  im: Float64Array
}

/**
 * Welch band powers of one channel of centered integer counts (|x| <= 2^15). `segment` must be a
 * power of two (8..4096); returns null when the series is shorter than one segment.
 */
export function welchBandPowers(
  x: ArrayLike<number>,
  fs: number,
  uv: UvPerCount,
  segment: number,
): BandPowers | null {
  const n = segment
  if (x.length < n) return null
  const { w, sumSq } = hannQ14(n)
  const bins = bandOfBins(n, fs)
  const re = new Float64Array(n)
  const im = new Float64Array(n)
  const hop = n / 2
  const invN = 1 / n // n is a power of two: multiplying by 1/n is exact
  const invShift = 1 / POWER_SHIFT
  const totals = [0n, 0n, 0n, 0n, 0n]
  // exact integer sums kept in doubles while they are far below 2^53, flushed to bigint otherwise
  const acc = [0, 0, 0, 0, 0]
  let m = 0
  for (let start = 0; start + n <= x.length; start += hop) {
    let sum = 0
    for (let i = 0; i < n; i++) sum += x[start + i]
    for (let i = 0; i < n; i++) {
      // exact mean removal: ((x·N − Σx)·w + N/2) / N, floor by a power of two (|product| <= 2^42)
      const v = Math.floor(((x[start + i] * n - sum) * w[i] + n / 2) * invN)
      if (v > FFT_INPUT_MAX || v < -FFT_INPUT_MAX) throw new RangeError('EEG sample out of the 16-bit range')
      re[i] = v
      im[i] = 0
    }
    fftFixed(re, im)
    for (let k = 1; k < n / 2; k++) {
      const b = bins[k]
      if (b < 0) continue
      const r = Math.floor((re[k] + POWER_SHIFT / 2) * invShift)
      const q = Math.floor((im[k] + POWER_SHIFT / 2) * invShift)
      acc[b] += r * r + q * q // per segment < 2^51 (Parseval), see the header
    }
    for (let b = 0; b < 5; b++) {
      if (acc[b] >= ACC_FLUSH) {
        totals[b] += BigInt(acc[b])
        acc[b] = 0
      }
    }
    m += 1
  }
  for (let b = 0; b < 5; b++) totals[b] += BigInt(acc[b])
  // P[milli-µV²] = N · 2^11 · Σ / (S · M) · (num/den)² · 1000
  const scaleNum = BigInt(n) * 2048n * BigInt(uv.num) * BigInt(uv.num) * 1000n
  const scaleDen = sumSq * BigInt(m) * BigInt(uv.den) * BigInt(uv.den)
  const p = totals.map((t) => Number(roundDivBig(t * scaleNum, scaleDen)))
  return {
    delta: p[0],
    theta: p[1],
    alpha: p[2],
    beta: p[3],
    gamma: p[4],
    total: p[0] + p[1] + p[2] + p[3] + p[4],
    segments: m,
  }
}

/** FAA = ln(right alpha) − ln(left alpha) in milli-nepers (powers clamped to >= 1). */
export function frontalAlphaAsymmetryMilli(leftAlpha: number, rightAlpha: number): number {
  return lnRatioMilli(BigInt(Math.max(1, rightAlpha)), BigInt(Math.max(1, leftAlpha)))
}
