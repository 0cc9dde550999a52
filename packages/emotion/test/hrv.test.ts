// RR artifact correction and time-domain HRV. Reference values are hand-computed from the Task Force
// (ESC/NASPE 1996) definitions: RMSSD = sqrt(mean(ΔRR²)), SDNN = sample standard deviation (n − 1),
// pNN50 = share of |ΔRR| > 50 ms; and cross-checked against a float implementation (test only).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import { cleanRr, hrvFeatures } from '../src/features/hrv.ts'
import { sampleEntropyMilli } from '../src/features/sampen.ts'

const ms = (xs: number[]) => xs.map((x) => x * 1000)

test('hand-computed example: RR 800, 810, 790, 820, 805 ms', () => {
  const f = hrvFeatures(ms([800, 810, 790, 820, 805]))
  // ΔRR = 10, -20, 30, -15 ms; mean(Δ²) = (100 + 400 + 900 + 225) / 4 = 406.25 ms²; sqrt = 20.1556 ms
  assert.equal(f.rmssdUs, 20_156)
  // mean 805; deviations -5, 5, -15, 15, 0; Σ = 500 ms²; /4 = 125; sqrt = 11.1803 ms
  assert.equal(f.sdnnUs, 11_180)
  assert.equal(f.meanRrUs, 805_000)
  assert.equal(f.hrCentiBpm, 7_453) // 60000 / 805 = 74.534 bpm
  assert.equal(f.pnn50Bp, 0)
  assert.equal(f.pairs, 4)
})

test('pNN50 counts |Δ| strictly above 50 ms', () => {
  const f = hrvFeatures(ms([800, 851, 800, 850, 900]))
  // Δ = 51 (yes), -51 (yes), 50 (no), 50 (no) -> 2/4 = 5000 bp
  assert.equal(f.pnn50Bp, 5_000)
})

test('artifacts: range, Malik 20% rule against the last accepted beat, adjacency for differences', () => {
  const rr = ms([800, 810, 500, 1120, 805, 2500, 250, 815])
  const c = cleanRr(rr)
  // 500 (-38%) ectopic and 1120 (+38%) compensatory rejected; 2500 and 250 out of range
  assert.deepEqual([...c.accepted], [1, 1, 0, 0, 1, 0, 0, 1])
  const f = hrvFeatures(rr)
  assert.equal(f.beats, 4)
  assert.equal(f.rejected, 4)
  // only (800, 810) were adjacent and both accepted: RMSSD = 10 ms
  assert.equal(f.pairs, 1)
  assert.equal(f.rmssdUs, 10_000)
})

test('a genuine step change is re-acquired after resetAfter rejections', () => {
  const rr = ms([800, 800, 800, 1100, 1100, 1100, 1100, 1100, 1100, 1100])
  const c = cleanRr(rr)
  assert.deepEqual([...c.accepted], [1, 1, 1, 0, 0, 0, 0, 0, 1, 1])
})

function floatHrv(rr: number[]) {
  const n = rr.length
  const mean = rr.reduce((a, b) => a + b, 0) / n
  const sd = Math.sqrt(rr.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1))
  let s = 0
  for (let i = 1; i < n; i++) s += (rr[i] - rr[i - 1]) ** 2
  return { rmssd: Math.sqrt(s / (n - 1)), sdnn: sd, hr: 6e9 / mean }
}

test('integer HRV equals the float computation to within rounding (no artifacts)', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 700_000, max: 800_000 }), { minLength: 3, maxLength: 300 }),
      (rr) => {
        const f = hrvFeatures(rr)
        const r = floatHrv(rr)
        assert.equal(f.beats, rr.length)
        assert.ok(Math.abs(f.rmssdUs - r.rmssd) <= 0.5 + 1e-6)
        assert.ok(Math.abs(f.sdnnUs - r.sdnn) <= 0.5 + 1e-6)
        assert.ok(Math.abs(f.hrCentiBpm - r.hr) <= 0.5 + 1e-6)
      },
    ),
    { numRuns: 300 },
  )
})

function floatSampEn(x: number[], r: number, m = 2): number {
  const t = x.length - m
  let b = 0
  let a = 0
  for (let i = 0; i < t - 1; i++)
    for (let j = i + 1; j < t; j++) {
      let ok = true
      for (let k = 0; k < m; k++) if (Math.abs(x[i + k] - x[j + k]) > r) ok = false
      if (!ok) continue
      b++
      if (Math.abs(x[i + m] - x[j + m]) <= r) a++
    }
  return Math.log(b / a)
}

test('sample entropy matches the float definition (Richman & Moorman 2000) within 1 milli-nat', () => {
  fc.assert(
    fc.property(
      fc.array(fc.integer({ min: 700, max: 900 }), { minLength: 40, maxLength: 120 }),
      fc.integer({ min: 5, max: 60 }),
      (x, r) => {
        const got = sampleEntropyMilli(x, r)
        const want = floatSampEn(x, r)
        if (!Number.isFinite(want) || want === 0) return
        assert.ok(got !== null && Math.abs(got - want * 1000) <= 1, `got ${got}, want ${want * 1000}`)
      },
    ),
    { numRuns: 200 },
  )
  assert.equal(sampleEntropyMilli([800, 800, 800, 800, 800, 800], 0), 0) // constant: every template matches
  assert.equal(sampleEntropyMilli([1, 2, 3], 0), null) // too short
  // a period-4 pattern is perfectly predictable
  const periodic = Array.from({ length: 80 }, (_, i) => [800, 850, 800, 750][i % 4] * 1000)
  assert.equal(sampleEntropyMilli(periodic, 10_000), 0)
})
