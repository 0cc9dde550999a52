/**
 * Smart order routing of one market order between the order book and an AMM pool.
 *
 * Given a depth snapshot (levels best-first: price in quote units per lot, size in lots) and a
 * pool (reserves in base and quote units, `lotSize` base units per lot), choose how many lots
 * `s` go to the pool and `Q - s` to the book so that a buyer pays the least quote in total
 * (a seller receives the most), everything in exact integers:
 *
 *   total(s) = book(Q - s) + pool(s)
 *   book(q)  = cost of the best q lots of the book (piecewise linear, convex for a buyer)
 *   pool(s)  = quoteExactOut(s * lotSize) for a buyer, quoteExactIn(s * lotSize) for a seller
 *
 * Algorithm: total is convex in s when the pool leg is taken exactly (as a fraction, before the
 * pool's rounding), so a binary search for the first s whose next lot is no cheaper in the pool
 * than in the book — Δ(s) = total(s+1) - total(s) >= 0, compared exactly by cross-multiplying
 * the fractions — finds the real-valued optimum s* in O(log Q) evaluations of O(log levels)
 * each. The integer pool quote differs from the fraction by less than one quote unit (rounded
 * in the pool's favour), so the returned split is within 1 quote unit of the best integer split
 * (a rounding artefact the pool keeps); the neighbours s*-2..s*+2 are also tried with the
 * integer quotes and the best kept. Ties prefer fewer lots in the pool. Property tests check the
 * bound against a brute-force search over every split.
 * If the book and the pool together cannot fill Q, the order is reduced to what they can fill
 * and the rest is reported as `unfilled`.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { type Pool, quoteExactIn, quoteExactOut } from './amm.ts'
import { minBig } from './bigint-math.ts'
import type { DepthLevel, Side } from './types.ts'

export interface RouteResult {
  /** Lots routed to the book, and the levels they take (price, lots), best first. */
  bookLots: bigint
  bookFills: DepthLevel[]
  /** Quote paid to (buy) or received from (sell) the book. */
  bookQuote: bigint
  poolLots: bigint
  /** Quote paid into (buy) or received from (sell) the pool. */
  poolQuote: bigint
  totalQuote: bigint
  unfilled: bigint
}

export const MAX_ROUTE_LEVELS = 10_000

function fail(message: string, meta: Record<string, unknown> = {}): never {
  throw new PulseError('ROUTER_BAD_INPUT', message, meta)
}

/** Cumulative sizes and notionals of the book levels, for O(log L) partial costs. */
class BookCurve {
  readonly cumSize: bigint[] = [0n]
  readonly cumQuote: bigint[] = [0n]
  readonly levels: readonly DepthLevel[]
  constructor(levels: readonly DepthLevel[], side: Side) {
    this.levels = levels
    for (let i = 0; i < levels.length; i++) {
      const l = levels[i]!
      if (typeof l.price !== 'bigint' || l.price <= 0n || typeof l.size !== 'bigint' || l.size <= 0n) {
        fail('depth levels need positive bigint price and size', { index: i })
      }
      const prev = levels[i - 1]
      if (prev !== undefined && (side === 'buy' ? l.price <= prev.price : l.price >= prev.price)) {
        fail('depth levels must be strictly best-first', { index: i })
      }
      this.cumSize.push(this.cumSize[i]! + l.size)
      this.cumQuote.push(this.cumQuote[i]! + l.size * l.price)
    }
  }
  get total(): bigint {
    return this.cumSize[this.cumSize.length - 1]!
  }
  /** Quote of the best q lots (q <= total). */
  quote(q: bigint): bigint {
    // last level index k with cumSize[k] <= q
    let lo = 0
    let hi = this.cumSize.length - 1
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1
      if (this.cumSize[mid]! <= q) lo = mid
      else hi = mid - 1
    }
    const rest = q - this.cumSize[lo]!
    return this.cumQuote[lo]! + (rest > 0n ? rest * this.levels[lo]!.price : 0n)
  }
  fills(q: bigint): DepthLevel[] {
    const out: DepthLevel[] = []
    for (const l of this.levels) {
      if (q === 0n) break
      const take = minBig(q, l.size)
      out.push({ price: l.price, size: take })
      q -= take
    }
    return out
  }
}

/**
 * Split a market order of `size` lots. `book` is the opposite side's depth (asks for a buy,
 * bids for a sell), best first. `pool` may be null (book only).
 */
export function routeMarketOrder(
  side: Side,
  size: bigint,
  book: readonly DepthLevel[],
  pool: Pool | null,
  lotSize = 1n,
): RouteResult {
  if (side !== 'buy' && side !== 'sell') fail('side must be buy or sell')
  if (typeof size !== 'bigint' || size <= 0n) fail('size must be a positive bigint')
  if (typeof lotSize !== 'bigint' || lotSize <= 0n) fail('lotSize must be a positive bigint')
  if (book.length > MAX_ROUTE_LEVELS) fail('too many depth levels', { levels: book.length })
  const curve = new BookCurve(book, side)
  const usable = pool !== null && pool.totalShares > 0n && pool.reserveBase > 0n && pool.reserveQuote > 0n
  // a buyer can take at most reserveBase - 1 base units out of the pool; a seller is unbounded
  // but only lots that pay something are worth sending, which the optimisation sorts out
  const poolMax = !usable ? 0n : side === 'buy' ? (pool.reserveBase - 1n) / lotSize : size
  const fillable = minBig(size, curve.total + poolMax)
  const unfilled = size - fillable
  const poolQuote = (s: bigint): bigint => {
    if (s === 0n) return 0n
    return side === 'buy'
      ? quoteExactOut(pool!, 'buy-base', s * lotSize)
      : quoteExactIn(pool!, 'sell-base', s * lotSize)
  }
  // the pool leg before rounding, as a fraction [num, den] (den > 0), from the amm.ts formulas
  const poolExact = (s: bigint): [bigint, bigint] => {
    if (s === 0n) return [0n, 1n]
    const g = 10_000n - pool!.feeBps
    const x = s * lotSize
    if (side === 'buy') return [pool!.reserveQuote * x * 10_000n, (pool!.reserveBase - x) * g]
    return [x * g * pool!.reserveQuote, pool!.reserveBase * 10_000n + x * g]
  }
  // sign of Δ(s) on exact values, as a cost to minimise (a seller's proceeds count negative)
  const marginalNonNegative = (s: bigint): boolean => {
    const [n0, d0] = poolExact(s)
    const [n1, d1] = poolExact(s + 1n)
    const poolStep = n1 * d0 - n0 * d1 // pool(s+1) - pool(s), over d0*d1
    const bookStep = curve.quote(fillable - s) - curve.quote(fillable - s - 1n) // lot leaving the book
    const delta = poolStep - bookStep * d0 * d1
    return side === 'buy' ? delta >= 0n : delta <= 0n
  }
  const cost = (s: bigint): bigint => {
    const t = curve.quote(fillable - s) + poolQuote(s)
    return side === 'buy' ? t : -t
  }
  const floor = fillable > curve.total ? fillable - curve.total : 0n
  const hiBound = minBig(fillable, poolMax)
  let lo = floor
  let hi = hiBound
  while (lo < hi) {
    const mid = (lo + hi) >> 1n
    if (marginalNonNegative(mid)) hi = mid
    else lo = mid + 1n
  }
  let best = lo
  let bestCost = cost(lo)
  for (let s = lo - 2n; s <= lo + 2n; s++) {
    if (s < floor || s > hiBound || s === lo) continue
    const c = cost(s)
    if (c < bestCost || (c === bestCost && s < best)) {
      best = s
      bestCost = c
    }
  }
  const bookLots = fillable - best
  const bookQuote = curve.quote(bookLots)
  const pq = poolQuote(best)
  return {
    bookLots,
    bookFills: curve.fills(bookLots),
    bookQuote,
    poolLots: best,
    poolQuote: pq,
    totalQuote: bookQuote + pq,
    unfilled,
  }
}
