// EDA tonic level and SCR detection on constructed signals, and the per-channel quality index.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { edaFeatures } from '../src/features/eda.ts'
import { channelQuality } from '../src/features/quality.ts'

const HZ = 4

function signal(seconds: number, tonicPs: number, scrAt: number[], ampPs: number): number[] {
  const x: number[] = []
  for (let i = 0; i < seconds * HZ; i++) {
    let v = tonicPs
    for (const t of scrAt) {
      const age = i - t * HZ
      if (age < 0) continue
      // rise over 2 s, then exponential-ish decay
      v += age < 8 ? Math.floor((ampPs * (age + 1)) / 8) : Math.floor(ampPs * 0.85 ** (age - 7))
    }
    x.push(v)
  }
  return x
}

test('three 0.1 µS responses on a 2 µS level: count 3, tonic ≈ 2 µS, amplitude ≈ 0.1 µS', () => {
  const f = edaFeatures(signal(60, 2_000_000, [10, 30, 45], 100_000), HZ)
  assert.equal(f.scrCount, 3)
  assert.equal(f.scrPerMinCenti, 300)
  assert.ok(Math.abs(f.tonicPs - 2_000_000) < 20_000, `tonic ${f.tonicPs}`)
  assert.ok(f.scrMeanAmplitudePs > 80_000 && f.scrMeanAmplitudePs <= 100_000, `amp ${f.scrMeanAmplitudePs}`)
})

test('responses below the 0.01 µS threshold and slow drifts are not counted', () => {
  assert.equal(edaFeatures(signal(60, 2_000_000, [10, 30], 8_000), HZ).scrCount, 0)
  const drift = Array.from({ length: 240 }, (_, i) => 2_000_000 + i * 100) // +0.024 µS over 60 s, slower than the 4 s rise limit
  assert.equal(edaFeatures(drift, HZ).scrCount, 0)
  const flat = edaFeatures(new Array(240).fill(3_000_000), HZ)
  assert.equal(flat.rangePs, 0)
  assert.equal(flat.scrCount, 0)
  assert.equal(edaFeatures([], HZ).samples, 0)
})

test('quality: flat runs, rails, out-of-range values and missing samples lower the index', () => {
  const rule = { flatRunMin: 4, railLo: -2048, railHi: 2047, minValue: -1000, maxValue: 1000 }
  const good = Array.from({ length: 100 }, (_, i) => (i * 37) % 200)
  assert.equal(channelQuality(good, rule), 100)
  const withFlat = good.slice()
  for (let i = 10; i < 30; i++) withFlat[i] = 5
  assert.equal(channelQuality(withFlat, rule), 80)
  const withRail = good.slice()
  for (let i = 0; i < 10; i++) withRail[i] = i % 2 ? 2047 : -2048
  assert.equal(channelQuality(withRail, rule), 90)
  const withRange = good.slice()
  withRange[50] = 1500
  assert.equal(channelQuality(withRange, rule), 99)
  assert.equal(channelQuality(good, rule, 25), 75)
  assert.equal(channelQuality([], rule), 0)
  assert.equal(channelQuality(new Array(100).fill(0), rule), 0)
})
