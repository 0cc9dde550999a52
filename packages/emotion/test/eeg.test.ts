// Fixed-point FFT and Welch band powers, checked against a straightforward floating-point DFT and
// a float Welch (scipy "density" scaling, periodic Hann, 50% overlap) written here, in the test only.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  EEG_BANDS,
  EEG_BAND_NAMES,
  frontalAlphaAsymmetryMilli,
  hannQ14,
  welchBandPowers,
} from '../src/features/eeg.ts'
import { FFT_INPUT_MAX, fftFixed } from '../src/math/fft.ts'

function dft(x: number[]): { re: number[]; im: number[] } {
  const n = x.length
  const re: number[] = []
  const im: number[] = []
  for (let k = 0; k < n; k++) {
    let r = 0
    let i = 0
    for (let t = 0; t < n; t++) {
      const a = (-2 * Math.PI * k * t) / n
      r += x[t] * Math.cos(a)
      i += x[t] * Math.sin(a)
    }
    re.push(r)
    im.push(i)
  }
  return { re, im }
}

// Error model: each of the log2(N) stages adds <= 1 LSB of rounding, and the Q21 twiddles add a
// relative error <= 2^-21 per stage on values bounded by the input magnitude M.
test('fixed-point FFT = DFT/N within log2(N)·(1 + M·2^-20) + 1 LSB per component', () => {
  for (const n of [8, 64, 256, 1024]) {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: -FFT_INPUT_MAX, max: FFT_INPUT_MAX }), { minLength: n, maxLength: n }),
        (x) => {
          const re = Float64Array.from(x)
          const im = new Float64Array(n)
          fftFixed(re, im)
          const ref = dft(x)
          const m = Math.max(1, ...x.map(Math.abs))
          const tol = Math.log2(n) * (1 + m * 2 ** -20) + 1
          for (let k = 0; k < n; k++) {
            assert.ok(Math.abs(re[k] - ref.re[k] / n) <= tol, `re[${k}] n=${n}: ${re[k]} vs ${ref.re[k] / n}`)
            assert.ok(Math.abs(im[k] - ref.im[k] / n) <= tol, `im[${k}] n=${n}`)
            assert.ok(Number.isSafeInteger(re[k]) && Number.isSafeInteger(im[k]))
          }
        },
      ),
      { numRuns: n >= 1024 ? 2 : 10 },
    )
  }
  assert.throws(() => fftFixed(new Float64Array(12), new Float64Array(12)), RangeError)
})

function floatWelch(x: number[], fs: number, n: number, uvPerCount: number) {
  const w = Array.from({ length: n }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / n))
  const s2 = w.reduce((a, b) => a + b * b, 0)
  const out: Record<string, number> = { delta: 0, theta: 0, alpha: 0, beta: 0, gamma: 0 }
  let m = 0
  for (let st = 0; st + n <= x.length; st += n / 2) {
    const seg = x.slice(st, st + n)
    const mean = seg.reduce((a, b) => a + b, 0) / n
    const { re, im } = dft(seg.map((v, i) => (v - mean) * w[i]))
    for (let k = 1; k < n / 2; k++) {
      const f = (k * fs) / n
      for (const name of EEG_BAND_NAMES) {
        const [lo, hi] = EEG_BANDS[name]
        if (f >= lo && f < hi) out[name] += (2 * (re[k] ** 2 + im[k] ** 2)) / (n * s2)
      }
    }
    m++
  }
  for (const k of Object.keys(out)) out[k] = (out[k] / m) * uvPerCount ** 2 * 1000 // milli-µV²
  return out
}

test('Welch band powers match a float Welch within 0.1% (+1 unit)', () => {
  const fs = 256
  const n = 256
  // 10 Hz alpha of 40 counts, 20 Hz beta of 15 counts, 6 Hz theta of 20 counts, pseudo-random noise
  let seed = 12345
  const noise = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0
    return ((seed >>> 16) % 21) - 10
  }
  const x = Array.from(
    { length: fs * 4 },
    (_, t) =>
      Math.round(
        40 * Math.sin((2 * Math.PI * 10 * t) / fs) +
          15 * Math.sin((2 * Math.PI * 20 * t) / fs) +
          20 * Math.sin((2 * Math.PI * 6 * t) / fs + 1),
      ) + noise(),
  )
  const got = welchBandPowers(Int32Array.from(x), fs, { num: 125, den: 256 }, n)
  assert.ok(got)
  assert.equal(got.segments, 7)
  const want = floatWelch(x, fs, n, 125 / 256)
  for (const name of EEG_BAND_NAMES) {
    assert.ok(
      Math.abs(got[name] - want[name]) <= want[name] * 0.001 + 1,
      `${name}: ${got[name]} vs ${want[name]}`,
    )
  }
  // a pure 10 Hz sine of amplitude A has power A²/2: 40 counts = 19.53 µV -> 190.7 µV² (+ noise share)
  assert.ok(got.alpha > 185_000 && got.alpha < 200_000, `alpha ${got.alpha}`)
  assert.equal(got.total, got.delta + got.theta + got.alpha + got.beta + got.gamma)
})

test('extreme int16 input stays exact; short input gives null', () => {
  const x = Int32Array.from({ length: 1024 }, (_, i) => (i % 2 ? 32767 : -32768))
  const p = welchBandPowers(x, 512, { num: 225, den: 1024 }, 512)
  assert.ok(p && Number.isSafeInteger(p.total))
  assert.equal(welchBandPowers(new Int32Array(100), 256, { num: 1, den: 1 }, 256), null)
  const h = hannQ14(256)
  assert.equal(h.w[0], 0)
  assert.equal(h.w[128], 16384)
})

test('frontal alpha asymmetry = ln(right) − ln(left) in milli-nepers', () => {
  assert.equal(frontalAlphaAsymmetryMilli(1000, 2000), 693)
  assert.equal(frontalAlphaAsymmetryMilli(2000, 1000), -693)
  assert.equal(frontalAlphaAsymmetryMilli(5000, 5000), 0)
  assert.equal(frontalAlphaAsymmetryMilli(0, 0), 0)
  fc.assert(
    fc.property(fc.integer({ min: 1, max: 2 ** 40 }), fc.integer({ min: 1, max: 2 ** 40 }), (l, r) => {
      assert.ok(Math.abs(frontalAlphaAsymmetryMilli(l, r) - 1000 * (Math.log(r) - Math.log(l))) <= 1.5)
    }),
  )
})
