/**
 * Display units of a market (pure, exact bigint math). The chain stores a price as quote base
 * units per lot (a lot = `lotSize` base units of the base asset) and sizes as base units; people
 * read a price as quote tokens per whole base token and a size as base tokens. With base decimals
 * bd and quote decimals qd: display price = price × 10^bd / lotSize / 10^qd.
 */
import { formatUnits, InputError, parseUnits } from './format.ts'

export interface MarketUnits {
  lotSize: bigint
  tickSize: bigint
  baseDecimals: number
  quoteDecimals: number
}

const pow10 = (n: number) => 10n ** BigInt(n)
const gcd = (a: bigint, b: bigint): bigint => (b === 0n ? a : gcd(b, a % b))
const groups = (s: string) => s.replace(/\B(?=(\d{3})+(?!\d))/g, ',')

/** num/den (non-negative) as a decimal, rounded half up to `frac` digits, trailing zeros trimmed. */
export function formatRatio(num: bigint, den: bigint, frac: number, separators = true): string {
  const scale = pow10(frac)
  const scaled = (num * scale * 2n + den) / (den * 2n)
  const whole = (scaled / scale).toString()
  const f = frac > 0 ? (scaled % scale).toString().padStart(frac, '0').replace(/0+$/, '') : ''
  return `${separators ? groups(whole) : whole}${f ? `.${f}` : ''}`
}

/** A chain price (quote base units per lot) as quote tokens per whole base token. */
export function displayPrice(price: string | bigint, u: MarketUnits, separators = true): string {
  const p = BigInt(price)
  // Enough digits for the quote's precision plus what dividing by the lot can add.
  return formatRatio(
    p * pow10(u.baseDecimals),
    u.lotSize * pow10(u.quoteDecimals),
    u.quoteDecimals + 6,
    separators,
  )
}

/** Base units as base tokens. */
export function displaySize(baseUnits: string | bigint, u: MarketUnits): string {
  return formatUnits(baseUnits, u.baseDecimals)
}

/** Lots (as the book and trades count them) as base tokens. */
export function displayLots(lots: string | bigint, u: MarketUnits): string {
  return formatUnits(BigInt(lots) * u.lotSize, u.baseDecimals)
}

/** Floats for charts only (never for amounts that are signed or compared). */
export const priceNumber = (price: string | bigint, u: MarketUnits) => Number(displayPrice(price, u, false))
export const lotsNumber = (lots: string | bigint, u: MarketUnits) =>
  Number(formatUnits(BigInt(lots) * u.lotSize, u.baseDecimals).replace(/,/g, ''))

/**
 * The user's price (quote tokens per base token) as the chain's price per lot. Rejects more
 * decimals than the quote asset has, prices that are not a whole number of quote base units per
 * lot, and prices off the market's tick, each with a message that says the valid step.
 */
export function parsePrice(text: string, u: MarketUnits): bigint {
  let perToken: bigint
  try {
    perToken = parseUnits(text, u.quoteDecimals)
  } catch (e) {
    throw new InputError('INVALID_PRICE', `price: ${(e as Error).message}`)
  }
  const scaled = perToken * u.lotSize
  const baseScale = pow10(u.baseDecimals)
  // The smallest price step the chain can express: one quote base unit per lot.
  const step = baseScale / gcd(u.lotSize, baseScale)
  if (scaled % baseScale !== 0n)
    throw new InputError(
      'INVALID_PRICE',
      `price must be a multiple of ${formatRatio(step, pow10(u.quoteDecimals), u.quoteDecimals + 6)} on this market (one quote unit per lot)`,
    )
  const perLot = scaled / baseScale
  if (perLot % u.tickSize !== 0n)
    throw new InputError(
      'INVALID_PRICE',
      `price must be a multiple of the tick, ${displayPrice(u.tickSize, u)}`,
    )
  return perLot
}

/** The user's size (base tokens) in base units; must be a whole number of lots. */
export function parseSize(text: string, u: MarketUnits): bigint {
  let units: bigint
  try {
    units = parseUnits(text, u.baseDecimals)
  } catch (e) {
    throw new InputError('INVALID_SIZE', `size: ${(e as Error).message}`)
  }
  if (units % u.lotSize !== 0n)
    throw new InputError('INVALID_SIZE', `size must be a multiple of the lot, ${displaySize(u.lotSize, u)}`)
  return units
}
