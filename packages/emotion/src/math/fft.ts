/**
 * Fixed-point radix-2 FFT (iterative decimation in time) on integers held in Float64Arrays.
 *
 * Scaling, chosen so that no intermediate ever exceeds 2^53 (so every + - * is exact and the
 * result is bit-identical on every engine):
 * - input: real integers with |x| <= 2^30 (FFT_INPUT_MAX);
 * - twiddles: cos/sin in Q21 from the integer trig table;
 * - every butterfly stage halves its outputs (half-up rounding), so the output is DFT(x)/N and
 *   every component stays within the input magnitude bound (|(a ± w·b)/2| <= max(|a|, |b|)):
 *   the twiddle products are <= 2^30 · 2^21 = 2^51 and their sum <= 2^52.
 * Error: each stage adds at most ~1 LSB of rounding, so |out - DFT/N| <= ~log2(N) LSB per component
 * (checked against a float DFT in the tests).
 */
import { pow2 } from './int.ts'
import { trigTable } from './trig.ts'

export const FFT_TWIDDLE_Q = 21
export const FFT_INPUT_MAX = 1073741824 // 2^30
export const FFT_SIZE_MIN = 8
export const FFT_SIZE_MAX = 4096

const TW_ROUND = pow2(FFT_TWIDDLE_Q - 1)
const TW_INV = pow2(-FFT_TWIDDLE_Q)

interface Plan {
  n: number
  rev: Uint32Array
  cos: Float64Array // cos(2πk/N) Q21, k < N/2
  sin: Float64Array
}
const plans = new Map<number, Plan>()

/** Bit-reversal permutation for size n (shared with the benchmark's float reference). */
export function bitReversal(n: number): Uint32Array {
  return plan(n).rev
}

function plan(n: number): Plan {
  const hit = plans.get(n)
  if (hit) return hit
  if (!Number.isInteger(n) || n < FFT_SIZE_MIN || n > FFT_SIZE_MAX || (n & (n - 1)) !== 0) {
    throw new RangeError(`fft size must be a power of two in ${FFT_SIZE_MIN}..${FFT_SIZE_MAX}`)
  }
  let bits = 0
  while (1 << bits < n) bits++
  const rev = new Uint32Array(n)
  for (let i = 0; i < n; i++) {
    let r = 0
    for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b)
    rev[i] = r
  }
  const t = trigTable(n, FFT_TWIDDLE_Q)
  const cos = new Float64Array(n / 2)
  const sin = new Float64Array(n / 2)
  for (let k = 0; k < n / 2; k++) {
    cos[k] = t.cos[k]
    sin[k] = t.sin[k]
  }
  const p = { n, rev, cos, sin }
  plans.set(n, p)
  return p
}

/**
 * In-place forward FFT of (re, im), both length N (power of two, 8..4096), integer entries with
 * |value| <= 2^30. Output: round(DFT/N) per stage as described above; X_k = Σ x_n e^{-2πikn/N}.
 */
export function fftFixed(re: Float64Array, im: Float64Array): void {
  const n = re.length
  if (im.length !== n) throw new RangeError('fft: re and im lengths differ')
  const { rev, cos, sin } = plan(n)
  for (let i = 0; i < n; i++) {
    const j = rev[i]
    if (j > i) {
      const tr = re[i]
      re[i] = re[j]
      re[j] = tr
      const ti = im[i]
      im[i] = im[j]
      im[j] = ti
    }
  }
  for (let size = 2; size <= n; size *= 2) {
    const half = size / 2
    const step = n / size
    for (let start = 0; start < n; start += size) {
      // j = 0: the twiddle is exactly 1 (cos = 2^21, sin = 0), and round(b·2^21 / 2^21) = b, so the
      // product is skipped without changing a bit
      {
        const a = start
        const b = a + half
        const tr = re[b]
        const ti = im[b]
        const ar = re[a]
        const ai = im[a]
        re[a] = Math.floor((ar + tr + 1) * 0.5)
        im[a] = Math.floor((ai + ti + 1) * 0.5)
        re[b] = Math.floor((ar - tr + 1) * 0.5)
        im[b] = Math.floor((ai - ti + 1) * 0.5)
      }
      for (let j = 1; j < half; j++) {
        const wr = cos[j * step]
        const wi = -sin[j * step] // e^{-iθ}
        const a = start + j
        const b = a + half
        const br = re[b]
        const bi = im[b]
        // multiplying by 2^-21 is exact (a power of two) and cheaper than dividing
        const tr = Math.floor((br * wr - bi * wi + TW_ROUND) * TW_INV)
        const ti = Math.floor((br * wi + bi * wr + TW_ROUND) * TW_INV)
        const ar = re[a]
        const ai = im[a]
        re[a] = Math.floor((ar + tr + 1) * 0.5)
        im[a] = Math.floor((ai + ti + 1) * 0.5)
        re[b] = Math.floor((ar - tr + 1) * 0.5)
        im[b] = Math.floor((ai - ti + 1) * 0.5)
      }
    }
  }
}
