/**
 * Sine/cosine tables computed with integers only, so that the FFT twiddles, the Hann window and the
 * simulator's oscillators have identical bits on every engine (Math.sin/cos are only
 * "implementation-approximated" by ECMAScript and differ between engines in the last ulp).
 *
 * Method: θ = 2πk/N in 2^90 fixed point from a 40-digit π, Taylor series of sin on [0, π/2]
 * (terms vanish below 2^-90 after ~25 terms), then rounded half up to the requested Q format.
 * Full-circle tables come from the quarter wave by symmetry. Tables are cached per (N, Q).
 */

const PI_E40 = 31415926535897932384626433832795028841971n // π · 10^40, truncated
const E40 = 10n ** 40n
const S = 1n << 90n

/** sin(2πk/N) · 2^90 for 0 <= k <= N/4. */
function sinFixed(k: number, n: number): bigint {
  const theta = (2n * PI_E40 * BigInt(k) * S) / (BigInt(n) * E40)
  const theta2 = (theta * theta) / S
  let term = theta
  let sum = theta
  for (let i = 1; i < 40 && term !== 0n; i++) {
    term = -((term * theta2) / S) / BigInt(2 * i * (2 * i + 1))
    sum += term
  }
  return sum
}

function toQ(v: bigint, q: number): number {
  // half-up rounding of v / 2^90 · 2^q (floor division on bigints of either sign)
  const num = v * (1n << BigInt(q)) + (S >> 1n)
  const quo = num / S
  return Number(num < 0n && num % S !== 0n ? quo - 1n : quo)
}

export interface TrigTable {
  readonly n: number
  readonly q: number
  /** cos(2πk/N) · 2^q, rounded half up, k = 0..N-1 */
  readonly cos: Int32Array
  /** sin(2πk/N) · 2^q, rounded half up, k = 0..N-1 */
  readonly sin: Int32Array
}

const cache = new Map<string, TrigTable>()

/** Full-circle table for N a multiple of 4 (4..65536), q <= 30. */
export function trigTable(n: number, q: number): TrigTable {
  if (!Number.isInteger(n) || n < 4 || n > 65536 || n % 4 !== 0)
    throw new RangeError('trigTable: N must be 4..65536, multiple of 4')
  if (!Number.isInteger(q) || q < 1 || q > 30) throw new RangeError('trigTable: q must be 1..30')
  const key = `${n}/${q}`
  const hit = cache.get(key)
  if (hit) return hit
  const quarter = n / 4
  const qs = new Int32Array(quarter + 1)
  for (let k = 0; k <= quarter; k++) qs[k] = toQ(sinFixed(k, n), q)
  const sin = new Int32Array(n)
  for (let k = 0; k < n; k++) {
    if (k <= quarter) sin[k] = qs[k]
    else if (k <= 2 * quarter) sin[k] = qs[2 * quarter - k]
    else if (k <= 3 * quarter) sin[k] = -qs[k - 2 * quarter]
    else sin[k] = -qs[n - k]
  }
  const cos = new Int32Array(n)
  for (let k = 0; k < n; k++) cos[k] = sin[(k + quarter) % n]
  const t: TrigTable = { n, q, cos, sin }
  cache.set(key, t)
  return t
}
