/**
 * Decimal text to fixed-point integers without floating point: "12.345678" -> 12_345_678 micro-units.
 * Grammar: optional spaces, optional sign, digits, optional "." and digits (at least one digit in
 * all), optional spaces. No exponents, no thousands separators. More than 6 fractional digits are
 * rounded half away from zero on the 7th digit. The result must be a safe integer (|value| <
 * 9_007_199_254.740991), otherwise DECODE_ERROR reason E4_BAD_DECIMAL.
 */
import { decodeFail } from './fail.ts'

export const MICRO = 1_000_000

/** Parses bytes[start, end) (ASCII) as a decimal into micro-units. */
export function parseDecimalMicro(bytes: Uint8Array, start: number, end: number): number {
  let i = start
  while (i < end && (bytes[i] === 0x20 || bytes[i] === 0x09)) i++
  while (end > i && (bytes[end - 1] === 0x20 || bytes[end - 1] === 0x09)) end--
  let neg = false
  if (i < end && (bytes[i] === 0x2d || bytes[i] === 0x2b)) {
    neg = bytes[i] === 0x2d
    i++
  }
  let int = 0
  let digits = 0
  while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
    int = int * 10 + (bytes[i] - 0x30)
    digits++
    i++
    if (int > 9_007_199_254) bad(bytes, start, end)
  }
  let frac = 0
  let fracDigits = 0
  let roundUp = false
  if (i < end && bytes[i] === 0x2e) {
    i++
    while (i < end && bytes[i] >= 0x30 && bytes[i] <= 0x39) {
      if (fracDigits < 6) frac = frac * 10 + (bytes[i] - 0x30)
      else if (fracDigits === 6) roundUp = bytes[i] >= 0x35
      fracDigits++
      digits++
      i++
    }
  }
  if (digits === 0 || i !== end) bad(bytes, start, end)
  for (let k = Math.min(fracDigits, 6); k < 6; k++) frac *= 10
  const mag = int * MICRO + frac + (roundUp ? 1 : 0)
  if (!Number.isSafeInteger(mag)) bad(bytes, start, end)
  return neg && mag !== 0 ? -mag : mag
}

function bad(bytes: Uint8Array, start: number, end: number): never {
  let text = ''
  for (let k = start; k < Math.min(end, start + 32); k++) text += String.fromCharCode(bytes[k])
  return decodeFail('E4_BAD_DECIMAL', 'not a decimal number', { text })
}

/** Formats micro-units as a 6-decimal string (the E4 export style); for the simulator and tests. */
export function formatMicro(v: number): string {
  const neg = v < 0
  const m = neg ? -v : v
  const int = Math.floor(m / MICRO)
  const frac = m - int * MICRO
  return `${neg ? '-' : ''}${int}.${String(frac).padStart(6, '0')}`
}
