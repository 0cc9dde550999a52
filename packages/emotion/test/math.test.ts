// Integer math: exactness against bigint, logarithms and trig tables against floats (tests only).
import assert from 'node:assert/strict'
import { test } from 'node:test'
import fc from 'fast-check'
import {
  pow2,
  floorDiv,
  isqrt,
  linScore,
  lnMilli,
  lnRatioMilli,
  log2Q16,
  roundDiv,
  roundSqrtRatio,
} from '../src/math/int.ts'
import { trigTable } from '../src/math/trig.ts'

test('floorDiv and roundDiv are exact for safe integers (vs bigint)', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: -(2 ** 50), max: 2 ** 50 }),
      fc.integer({ min: 1, max: 2 ** 40 }),
      (a, b) => {
        const A = BigInt(a)
        const B = BigInt(b)
        const fl = A / B - (A % B !== 0n && A < 0n ? 1n : 0n)
        assert.equal(floorDiv(a, b), Number(fl))
        const n = 2n * A + B
        const d = 2n * B
        const rd = n / d - (n % d !== 0n && n < 0n ? 1n : 0n)
        assert.equal(roundDiv(a, b), Number(rd))
      },
    ),
    { numRuns: 2000 },
  )
  assert.equal(roundDiv(5, 2), 3) // half up
  assert.equal(roundDiv(-5, 2), -2) // half up = towards +infinity
})

test('isqrt and roundSqrtRatio are exact', () => {
  fc.assert(
    fc.property(fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }), (n) => {
      const r = isqrt(n)
      assert.ok(BigInt(r) * BigInt(r) <= BigInt(n) && BigInt(r + 1) * BigInt(r + 1) > BigInt(n))
    }),
    { numRuns: 1000 },
  )
  assert.equal(roundSqrtRatio(625n, 4n), 13n) // sqrt(156.25) = 12.5 -> 13 (half up)
  assert.equal(roundSqrtRatio(624n, 4n), 12n) // sqrt(156) = 12.49
  assert.equal(roundSqrtRatio(0n, 7n), 0n)
})

test('log2Q16 and lnMilli track the float functions', () => {
  fc.assert(
    fc.property(fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }), (x) => {
      const exact = Math.log2(x) * 65536
      const got = log2Q16(x)
      assert.ok(got <= exact + 1e-6 && exact - got < 2, `log2Q16(${x}) = ${got}, float ${exact}`)
      assert.ok(Math.abs(lnMilli(x) - Math.log(x) * 1000) <= 1, `lnMilli(${x})`)
    }),
    { numRuns: 2000 },
  )
  assert.equal(log2Q16(1), 0)
  assert.equal(log2Q16(1024), 10 * 65536)
  assert.equal(lnRatioMilli(2n, 1n), 693)
  assert.equal(lnRatioMilli(1n, 2n), -693)
  assert.equal(lnRatioMilli(10n ** 30n, 10n ** 29n), 2303) // big values are shifted, ratio kept
})

test('integer trig tables are within 1 LSB of Math.sin/cos', () => {
  for (const [n, q] of [
    [256, 21],
    [4096, 14],
    [512, 15],
  ] as const) {
    const t = trigTable(n, q)
    for (let k = 0; k < n; k++) {
      assert.ok(Math.abs(t.sin[k] - Math.sin((2 * Math.PI * k) / n) * 2 ** q) <= 0.5 + 1e-6, `sin ${n}/${k}`)
      assert.ok(Math.abs(t.cos[k] - Math.cos((2 * Math.PI * k) / n) * 2 ** q) <= 0.5 + 1e-6, `cos ${n}/${k}`)
    }
  }
  assert.throws(() => trigTable(6, 10), RangeError)
})

test('linScore maps ranges onto 0..100, increasing and decreasing', () => {
  assert.equal(linScore(5, 10, 20), 0)
  assert.equal(linScore(15, 10, 20), 50)
  assert.equal(linScore(25, 10, 20), 100)
  assert.equal(linScore(15, 20, 10), 50)
  assert.equal(linScore(10, 20, 10), 100)
  assert.equal(linScore(21, 20, 10), 0)
  assert.equal(linScore(7, 7, 7), 100)
})

test('pow2 is exact without Math.pow', () => {
  assert.equal(pow2(0), 1)
  assert.equal(pow2(52), 4503599627370496)
  assert.equal(pow2(-21) * 2097152, 1)
  assert.equal(pow2(-1074), Number.MIN_VALUE)
  assert.throws(() => pow2(1024), RangeError)
})
