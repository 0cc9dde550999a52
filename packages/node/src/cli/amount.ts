/** Human amounts ("1.5") to base units, exactly (no floats). */
import { PulseError } from '@pulsemesh/core'

export function parseAmount(s: string, decimals: number): bigint {
  const m = /^([0-9]{1,30})(?:\.([0-9]{1,18}))?$/.exec(s.trim())
  if (!m)
    throw new PulseError('INVALID_AMOUNT', `amount ${JSON.stringify(s)} is not a positive decimal number`)
  const frac = m[2] ?? ''
  if (frac.length > decimals) throw new PulseError('INVALID_AMOUNT', `at most ${decimals} decimal places`)
  const v =
    BigInt(m[1]) * 10n ** BigInt(decimals) + BigInt((frac + '0'.repeat(decimals)).slice(0, decimals) || '0')
  if (v === 0n) throw new PulseError('INVALID_AMOUNT', 'amount must be positive')
  return v
}

export function formatAmount(v: bigint, decimals: number): string {
  const s = v.toString().padStart(decimals + 1, '0')
  const int = s.slice(0, s.length - decimals)
  const frac = s.slice(s.length - decimals).replace(/0+$/, '')
  return frac ? `${int}.${frac}` : int
}

/** An `--amount` option: whole units with `decimals` (exact), or verbatim with `--base-units`. */
export function amountOption(o: { amount: string; baseUnits?: boolean }, decimals: number): bigint {
  if (!o.baseUnits) return parseAmount(o.amount, decimals)
  if (!/^[0-9]{1,40}$/.test(o.amount) || BigInt(o.amount) === 0n)
    throw new PulseError(
      'INVALID_AMOUNT',
      `--base-units amount ${JSON.stringify(o.amount)} is not a positive integer`,
    )
  return BigInt(o.amount)
}
