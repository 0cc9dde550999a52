/**
 * Constant-product AMM pool math (x * y = k, the Uniswap v2 curve), pure bigint.
 *
 * Every rounding favours the pool: swap outputs and withdrawals round down, swap inputs and
 * deposits round up, so k per LP share never decreases. The fee (basis points of the input)
 * stays in the pool. Functions never mutate: they return the new pool state.
 *
 * Units: `reserveBase` / `reserveQuote` are base units of each asset; shares are LP units.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { divCeil, isqrt, minBig } from './bigint-math.ts'

export interface Pool {
  readonly reserveBase: bigint
  readonly reserveQuote: bigint
  /** All LP shares, including the MINIMUM_LIQUIDITY locked at creation. */
  readonly totalShares: bigint
  readonly feeBps: bigint
}

/** `sell-base`: base in, quote out. `buy-base`: quote in, base out. */
export type SwapDirection = 'sell-base' | 'buy-base'

/** Allowed fee tiers in basis points (0.01%, 0.05%, 0.3%, 1%). */
export const FEE_TIERS: readonly bigint[] = [1n, 5n, 30n, 100n]
/** Shares burnt at the first deposit so the share price can never be inflated from ~0. */
export const MINIMUM_LIQUIDITY = 1000n
/** Amount bound (u128), so a pool's products stay within predictable sizes. */
export const MAX_AMOUNT = 2n ** 128n - 1n
const BPS = 10_000n

export type AmmErrorCode =
  | 'AMM_BAD_FEE'
  | 'AMM_BAD_AMOUNT'
  | 'AMM_EMPTY_POOL'
  | 'AMM_INSUFFICIENT_LIQUIDITY'
  | 'AMM_INITIAL_LIQUIDITY_TOO_LOW'
  | 'AMM_ZERO_SHARES'
  | 'AMM_ZERO_OUTPUT'
  | 'AMM_INSUFFICIENT_SHARES'
  | 'AMM_SLIPPAGE'

function fail(code: AmmErrorCode, message: string, meta: Record<string, unknown> = {}): never {
  throw new PulseError(code, message, meta)
}

function checkAmount(name: string, v: bigint): void {
  if (typeof v !== 'bigint' || v <= 0n || v > MAX_AMOUNT)
    fail('AMM_BAD_AMOUNT', `${name} must be in [1, 2^128-1]`, { [name]: v })
}

export function createPool(feeBps: bigint): Pool {
  if (!FEE_TIERS.includes(feeBps))
    fail('AMM_BAD_FEE', 'fee is not an allowed tier', { feeBps, tiers: FEE_TIERS })
  return { reserveBase: 0n, reserveQuote: 0n, totalShares: 0n, feeBps }
}

function reservesOf(pool: Pool, dir: SwapDirection): [bigint, bigint] {
  if (pool.totalShares === 0n || pool.reserveBase === 0n || pool.reserveQuote === 0n) {
    fail('AMM_EMPTY_POOL', 'pool has no liquidity')
  }
  return dir === 'sell-base' ? [pool.reserveBase, pool.reserveQuote] : [pool.reserveQuote, pool.reserveBase]
}

/**
 * Deposit up to `base` and `quote`. The first deposit sets the price and mints
 * isqrt(base*quote) shares, MINIMUM_LIQUIDITY of which are locked. Later deposits mint
 * min(base*T/Rb, quote*T/Rq) shares (floor) and take ceil(shares*R/T) of each asset; the rest
 * of what was offered is not taken.
 */
export function addLiquidity(
  pool: Pool,
  base: bigint,
  quote: bigint,
  minShares = 1n,
): { pool: Pool; shares: bigint; base: bigint; quote: bigint } {
  checkAmount('base', base)
  checkAmount('quote', quote)
  if (pool.totalShares === 0n) {
    const all = isqrt(base * quote)
    if (all <= MINIMUM_LIQUIDITY) fail('AMM_INITIAL_LIQUIDITY_TOO_LOW', 'first deposit too small', { all })
    const shares = all - MINIMUM_LIQUIDITY
    if (shares < minShares) fail('AMM_SLIPPAGE', 'fewer shares than minShares', { shares, minShares })
    return {
      pool: { ...pool, reserveBase: base, reserveQuote: quote, totalShares: all },
      shares,
      base,
      quote,
    }
  }
  const t = pool.totalShares
  const shares = minBig((base * t) / pool.reserveBase, (quote * t) / pool.reserveQuote)
  if (shares === 0n) fail('AMM_ZERO_SHARES', 'deposit too small for one share')
  if (shares < minShares) fail('AMM_SLIPPAGE', 'fewer shares than minShares', { shares, minShares })
  const usedBase = divCeil(shares * pool.reserveBase, t)
  const usedQuote = divCeil(shares * pool.reserveQuote, t)
  return {
    pool: {
      ...pool,
      reserveBase: pool.reserveBase + usedBase,
      reserveQuote: pool.reserveQuote + usedQuote,
      totalShares: t + shares,
    },
    shares,
    base: usedBase,
    quote: usedQuote,
  }
}

/** Burn `shares` for floor(shares*R/T) of each asset. The locked minimum can never be burnt. */
export function removeLiquidity(
  pool: Pool,
  shares: bigint,
  minBase = 0n,
  minQuote = 0n,
): { pool: Pool; base: bigint; quote: bigint } {
  checkAmount('shares', shares)
  if (shares > pool.totalShares - MINIMUM_LIQUIDITY) {
    fail('AMM_INSUFFICIENT_SHARES', 'more shares than exist outside the locked minimum', { shares })
  }
  const t = pool.totalShares
  const base = (shares * pool.reserveBase) / t
  const quote = (shares * pool.reserveQuote) / t
  if (base < minBase || quote < minQuote) fail('AMM_SLIPPAGE', 'withdrawal below minimum', { base, quote })
  return {
    pool: {
      ...pool,
      reserveBase: pool.reserveBase - base,
      reserveQuote: pool.reserveQuote - quote,
      totalShares: t - shares,
    },
    base,
    quote,
  }
}

/** Output for an exact input: floor(in*(1-fee)*Rout / (Rin + in*(1-fee))). */
export function quoteExactIn(pool: Pool, dir: SwapDirection, amountIn: bigint): bigint {
  checkAmount('amountIn', amountIn)
  const [rIn, rOut] = reservesOf(pool, dir)
  const inNet = amountIn * (BPS - pool.feeBps)
  return (inNet * rOut) / (rIn * BPS + inNet)
}

/**
 * Smallest input that buys `amountOut`: ceil(Rin*out / ((Rout-out)*(1-fee))). It is exactly
 * minimal: quoteExactIn(result) >= amountOut > quoteExactIn(result - 1).
 */
export function quoteExactOut(pool: Pool, dir: SwapDirection, amountOut: bigint): bigint {
  checkAmount('amountOut', amountOut)
  const [rIn, rOut] = reservesOf(pool, dir)
  if (amountOut >= rOut)
    fail('AMM_INSUFFICIENT_LIQUIDITY', 'output must be below the reserve', { amountOut, rOut })
  return divCeil(rIn * amountOut * BPS, (rOut - amountOut) * (BPS - pool.feeBps))
}

function applySwap(pool: Pool, dir: SwapDirection, amountIn: bigint, amountOut: bigint): Pool {
  return dir === 'sell-base'
    ? { ...pool, reserveBase: pool.reserveBase + amountIn, reserveQuote: pool.reserveQuote - amountOut }
    : { ...pool, reserveQuote: pool.reserveQuote + amountIn, reserveBase: pool.reserveBase - amountOut }
}

export function swapExactIn(
  pool: Pool,
  dir: SwapDirection,
  amountIn: bigint,
  minOut = 1n,
): { pool: Pool; amountIn: bigint; amountOut: bigint } {
  const amountOut = quoteExactIn(pool, dir, amountIn)
  if (amountOut === 0n) fail('AMM_ZERO_OUTPUT', 'input too small for any output', { amountIn })
  if (amountOut < minOut) fail('AMM_SLIPPAGE', 'output below minOut', { amountOut, minOut })
  return { pool: applySwap(pool, dir, amountIn, amountOut), amountIn, amountOut }
}

export function swapExactOut(
  pool: Pool,
  dir: SwapDirection,
  amountOut: bigint,
  maxIn: bigint = MAX_AMOUNT,
): { pool: Pool; amountIn: bigint; amountOut: bigint } {
  const amountIn = quoteExactOut(pool, dir, amountOut)
  if (amountIn > maxIn) fail('AMM_SLIPPAGE', 'input above maxIn', { amountIn, maxIn })
  return { pool: applySwap(pool, dir, amountIn, amountOut), amountIn, amountOut }
}
