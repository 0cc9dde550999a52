/**
 * Integer helpers on bigint with the rounding spelled out in the name: nothing in this package
 * rounds implicitly (DESIGN §4: all rounding explicit, in the protocol's favour).
 */
import { PulseError } from '@pulsemesh/core/errors.ts'

export function minBig(a: bigint, b: bigint): bigint {
  if (a < b) return a
  return b
}

export function maxBig(a: bigint, b: bigint): bigint {
  if (a > b) return a
  return b
}

export function absBig(a: bigint): bigint {
  if (a < 0n) return -a
  return a
}

/** floor(a / b) for a >= 0, b > 0 (bigint `/` truncates toward zero, equal to floor here). */
export function divFloor(a: bigint, b: bigint): bigint {
  if (a < 0n || b <= 0n)
    throw new PulseError('EXCHANGE_MATH_DOMAIN', 'divFloor needs a >= 0 and b > 0', { a, b })
  return a / b
}

/** ceil(a / b) for a >= 0, b > 0. */
export function divCeil(a: bigint, b: bigint): bigint {
  if (a < 0n || b <= 0n)
    throw new PulseError('EXCHANGE_MATH_DOMAIN', 'divCeil needs a >= 0 and b > 0', { a, b })
  return (a + b - 1n) / b
}

/** floor(sqrt(n)) for n >= 0, by Newton's iteration on integers (exact). */
export function isqrt(n: bigint): bigint {
  if (n < 0n) throw new PulseError('EXCHANGE_MATH_DOMAIN', 'isqrt of a negative number', { n })
  if (n < 2n) return n
  // start above the root: 2^ceil(bits/2)
  let x = 1n << ((BigInt(n.toString(2).length) + 1n) >> 1n)
  for (;;) {
    const y = (x + n / x) >> 1n
    if (y >= x) return x
    x = y
  }
}

/** ceil(sqrt(n)) for n >= 0. */
export function isqrtCeil(n: bigint): bigint {
  const r = isqrt(n)
  return r * r === n ? r : r + 1n
}
