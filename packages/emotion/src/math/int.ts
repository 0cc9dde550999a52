/**
 * Integer arithmetic that gives the same bits on every JavaScript engine.
 *
 * Values are `number`s holding safe integers (|x| < 2^53), where +, -, * are exact as long as the
 * result stays below 2^53, and division by a power of two followed by Math.floor is exact. General
 * division is not (a/b is rounded before floor), so `floorDiv` corrects the quotient with an exact
 * remainder. Anything that could exceed 2^53 uses bigint. Every rounding is named: "half up" means
 * floor(x + 1/2), i.e. ties go towards +infinity.
 */

/** floor(a / b) for safe integers, b > 0, exact. */
export function floorDiv(a: number, b: number): number {
  let q = Math.floor(a / b)
  let r = a - q * b
  // The float quotient can be off by one near an integer; fix it with the exact remainder.
  while (r < 0) {
    q -= 1
    r += b
  }
  while (r >= b) {
    q += 1
    r -= b
  }
  return q
}

/** round(a / b) half up, b > 0, exact for |2a + b| < 2^53. */
export function roundDiv(a: number, b: number): number {
  return floorDiv(2 * a + b, 2 * b)
}

/** round(a / b) half up for bigints, b > 0. */
export function roundDivBig(a: bigint, b: bigint): bigint {
  const n = 2n * a + b
  const d = 2n * b
  const q = n / d
  // bigint division truncates towards zero; make it floor.
  return n % d !== 0n && n < 0n ? q - 1n : q
}

export function clamp(x: number, lo: number, hi: number): number {
  return Math.max(lo, Math.min(hi, x))
}

/** floor(sqrt(n)) for a safe integer n >= 0, exact whatever Math.sqrt returns. */
export function isqrt(n: number): number {
  if (n < 0) throw new RangeError('isqrt of a negative number')
  let r = Math.floor(Math.sqrt(n))
  while (r * r > n) r -= 1
  while ((r + 1) * (r + 1) <= n) r += 1
  return r
}

/** floor(sqrt(n)) for bigint n >= 0 (Newton's method). */
export function isqrtBig(n: bigint): bigint {
  if (n < 0n) throw new RangeError('isqrt of a negative number')
  if (n < 2n) return n
  let x = BigInt(Math.floor(Math.sqrt(Number(n))))
  // Newton from an estimate; converge to floor(sqrt(n)) exactly.
  for (let i = 0; i < 200; i++) {
    const y = (x + n / x) >> 1n
    if (y >= x && x * x <= n) break
    x = y
  }
  while (x * x > n) x -= 1n
  while ((x + 1n) * (x + 1n) <= n) x += 1n
  return x
}

/**
 * round(sqrt(num / den)) half up, exact: r = floor(sqrt(floor(num/den))) is floor(sqrt(num/den)),
 * and sqrt(q) >= r + 1/2 iff 4·num >= (2r + 1)^2 · den.
 */
export function roundSqrtRatio(num: bigint, den: bigint): bigint {
  if (den <= 0n || num < 0n) throw new RangeError('roundSqrtRatio: need num >= 0, den > 0')
  const r = isqrtBig(num / den)
  return 4n * num >= (2n * r + 1n) * (2n * r + 1n) * den ? r + 1n : r
}

/**
 * 2^k for an integer k in −1074..1023, by exact doublings or halvings. Used instead of `**` /
 * Math.pow, which ECMAScript only requires to be "implementation-approximated".
 */
export function pow2(k: number): number {
  if (!Number.isInteger(k) || k < -1074 || k > 1023) throw new RangeError('pow2 exponent out of range')
  let r = 1
  if (k >= 0) for (let i = 0; i < k; i++) r *= 2
  else for (let i = 0; i < -k; i++) r /= 2
  return r
}

const Q24 = 16777216 // 2^24
const Q25 = 33554432

/**
 * log2(x) in Q16 (x · 2^16) for a safe integer x >= 1, by the binary digit-by-digit method:
 * normalise x to a Q24 mantissa m in [1, 2), then square m sixteen times, each time reading one
 * fractional bit (m >= 2 -> bit 1, halve). Squares stay below 2^50, so every step is exact.
 * Truncates (error < 2^-16 plus the mantissa truncation for x >= 2^24, < 2^-23 relative).
 */
export function log2Q16(x: number): number {
  if (!Number.isSafeInteger(x) || x < 1) throw new RangeError('log2Q16 needs a safe integer >= 1')
  let e = 0
  let t = x
  while (t >= 2) {
    t = Math.floor(t / 2)
    e += 1
  }
  let m = e >= 24 ? Math.floor(x / pow2(e - 24)) : x * pow2(24 - e)
  let frac = 0
  for (let i = 15; i >= 0; i--) {
    m = Math.floor((m * m) / Q24)
    if (m >= Q25) {
      m = Math.floor(m / 2)
      frac |= 1 << i
    }
  }
  return e * 65536 + frac
}

/** ln(2) · 1000 · 2^16, rounded: converts a Q16 log2 to milli-nepers. */
const LN2_MILLI_Q16 = 45426094

/** ln(x) in thousandths (milli-nepers), half-up rounded, for a safe integer x >= 1. */
export function lnMilli(x: number): number {
  return floorDiv(log2Q16(x) * LN2_MILLI_Q16 + 2147483648, 4294967296) // + 2^31, / 2^32
}

/**
 * ln(a / b) in milli-nepers for bigints a, b >= 1 of any size: both are shifted right together until
 * they are safe integers (same shift, so the ratio is kept up to the truncation of low bits).
 */
export function lnRatioMilli(a: bigint, b: bigint): number {
  if (a < 1n || b < 1n) throw new RangeError('lnRatioMilli needs a, b >= 1')
  while (a > 0xfffffffffffffn || b > 0xfffffffffffffn) {
    a >>= 1n
    b >>= 1n
  }
  if (a < 1n) a = 1n
  if (b < 1n) b = 1n
  const d = log2Q16(Number(a)) - log2Q16(Number(b))
  return floorDiv(d * LN2_MILLI_Q16 + 2147483648, 4294967296)
}

/**
 * Piecewise-linear map of x onto 0..100: 0 at or below x0, 100 at or above x1, half-up rounded in
 * between. With x0 > x1 the map is decreasing (100 at or below x1, 0 at or above x0).
 */
export function linScore(x: number, x0: number, x1: number): number {
  if (x0 === x1) return x >= x1 ? 100 : 0
  if (x0 < x1) {
    if (x <= x0) return 0
    if (x >= x1) return 100
    return roundDiv(100 * (x - x0), x1 - x0)
  }
  if (x >= x0) return 0
  if (x <= x1) return 100
  return roundDiv(100 * (x0 - x), x0 - x1)
}
