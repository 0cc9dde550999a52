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

// --- several pools ------------------------------------------------------------------------------

export interface MultiRouteResult {
  bookLots: bigint
  bookFills: DepthLevel[]
  bookQuote: bigint
  /** Lots and quote per pool, in the order of the `pools` argument (0 lots = unused). */
  poolLots: bigint[]
  poolQuotes: bigint[]
  totalQuote: bigint
  unfilled: bigint
}

/** Fixed-point scale of the marginal-price search (2^32: sub-unit resolution of marginals). */
const SCALE = 1n << 32n

/**
 * Split a market order of `size` lots between the book and SEVERAL pools (e.g. fee tiers of one
 * pair). Each venue's cost is convex (the book's levels, each pool's exact curve), so the
 * optimum gives every venue the lots whose marginal cost is below one common threshold λ. A
 * binary search on λ (fixed point, 2^-32 quote units per lot) finds the smallest λ at which the
 * venues can fill the order; each pool's lot count at λ is itself a binary search on its exact
 * marginal (fractions cross-multiplied, no rounding). Lots whose marginal equals λ exactly go to
 * the book first, then the pools in argument order. The pools' integer quotes round in their
 * favour, so the total is within one quote unit per pool of the best split of exact costs.
 * With one pool this is `routeMarketOrder` (exact search with integer neighbours).
 */
export function routeAcrossPools(
  side: Side,
  size: bigint,
  book: readonly DepthLevel[],
  pools: readonly Pool[],
  lotSize = 1n,
): MultiRouteResult {
  if (pools.length <= 1) {
    const r = routeMarketOrder(side, size, book, pools[0] ?? null, lotSize)
    return {
      bookLots: r.bookLots,
      bookFills: r.bookFills,
      bookQuote: r.bookQuote,
      poolLots: pools.length === 1 ? [r.poolLots] : [],
      poolQuotes: pools.length === 1 ? [r.poolQuote] : [],
      totalQuote: r.totalQuote,
      unfilled: r.unfilled,
    }
  }
  if (side !== 'buy' && side !== 'sell') fail('side must be buy or sell')
  if (typeof size !== 'bigint' || size <= 0n) fail('size must be a positive bigint')
  if (typeof lotSize !== 'bigint' || lotSize <= 0n) fail('lotSize must be a positive bigint')
  if (book.length > MAX_ROUTE_LEVELS) fail('too many depth levels', { levels: book.length })
  if (pools.length > 16) fail('at most 16 pools')
  const curve = new BookCurve(book, side)
  const buy = side === 'buy'
  const usable = pools.map((p) => p.totalShares > 0n && p.reserveBase > 0n && p.reserveQuote > 0n)
  // a buyer can take at most reserveBase - 1 base units out of a pool; a seller is bounded by size
  const cap = pools.map((p, j) => (!usable[j] ? 0n : buy ? (p.reserveBase - 1n) / lotSize : size))
  // exact pool leg of s lots as a fraction [num, den], as in routeMarketOrder
  const exact = (p: Pool, s: bigint): [bigint, bigint] => {
    if (s === 0n) return [0n, 1n]
    const g = 10_000n - p.feeBps
    const x = s * lotSize
    if (buy) return [p.reserveQuote * x * 10_000n, (p.reserveBase - x) * g]
    return [x * g * p.reserveQuote, p.reserveBase * 10_000n + x * g]
  }
  // is the marginal of lot s (from s-1 to s) within λ (buy: cost <= λ; sell: proceeds >= λ)?
  const within = (p: Pool, s: bigint, lam: bigint): boolean => {
    const [n0, d0] = exact(p, s - 1n)
    const [n1, d1] = exact(p, s)
    const step = (n1 * d0 - n0 * d1) * SCALE // marginal × d0·d1 × SCALE
    const bound = lam * d0 * d1
    return buy ? step <= bound : step >= bound
  }
  const poolLotsAt = (j: number, lam: bigint): bigint => {
    if (cap[j] === 0n) return 0n
    let lo = 0n
    let hi = cap[j]!
    while (lo < hi) {
      const mid = (lo + hi + 1n) >> 1n
      if (within(pools[j]!, mid, lam)) lo = mid
      else hi = mid - 1n
    }
    return lo
  }
  const bookLotsAt = (lam: bigint): bigint => {
    let n = 0n
    for (const l of book) {
      if (buy ? l.price * SCALE > lam : l.price * SCALE < lam) break
      n += l.size
    }
    return n
  }
  const total = (lam: bigint): bigint => {
    let n = bookLotsAt(lam)
    for (let j = 0; j < pools.length && n < size; j++) n += poolLotsAt(j, lam)
    return n
  }
  // search range: buy from 0 up to a λ that fills everything fillable; sell from high to 1
  // (buy: the worst ask; sell: the best bid; raised by the pools' extreme marginals below)
  const bookEdge = book.length === 0 ? 0n : buy ? book[book.length - 1]!.price : book[0]!.price
  let hiLam = bookEdge * SCALE + 1n
  for (let j = 0; j < pools.length; j++) {
    if (cap[j] === 0n) continue
    const [n0, d0] = exact(pools[j]!, cap[j]! - 1n)
    const [n1, d1] = exact(pools[j]!, cap[j]!)
    const m = ((n1 * d0 - n0 * d1) * SCALE) / (d0 * d1) + 1n
    if (buy ? m > hiLam : false) hiLam = m
    if (!buy) {
      const [a0, b0] = exact(pools[j]!, 0n)
      const [a1, b1] = exact(pools[j]!, 1n)
      const first = ((a1 * b0 - a0 * b1) * SCALE) / (b0 * b1) + 1n
      if (first > hiLam) hiLam = first
    }
  }
  const capacity = total(buy ? hiLam : 0n)
  const fillable = minBig(size, capacity)
  let lam: bigint
  if (buy) {
    // smallest λ with total(λ) >= fillable
    let lo = 0n
    let hi = hiLam
    while (lo < hi) {
      const mid = (lo + hi) >> 1n
      if (total(mid) >= fillable) hi = mid
      else lo = mid + 1n
    }
    lam = lo
  } else {
    // largest λ with total(λ) >= fillable
    let lo = 0n
    let hi = hiLam
    while (lo < hi) {
      const mid = (lo + hi + 1n) >> 1n
      if (total(mid) >= fillable) lo = mid
      else hi = mid - 1n
    }
    lam = lo
  }
  // strictly better than λ first, then the ties at λ: book first, then pools in order
  const strict = buy ? lam - 1n : lam + 1n
  let bookLots = lam === 0n && buy ? 0n : minBig(bookLotsAt(strict), fillable)
  const poolLots = pools.map((_, j) => (buy && lam === 0n ? 0n : poolLotsAt(j, strict)))
  let left = fillable - bookLots - poolLots.reduce((a, b) => a + b, 0n)
  if (left < 0n) {
    // strict allocations can overshoot only through capping; trim pools from the last one
    for (let j = pools.length - 1; j >= 0 && left < 0n; j--) {
      const cut = minBig(poolLots[j]!, -left)
      poolLots[j] = poolLots[j]! - cut
      left += cut
    }
  }
  const moreBook = minBig(left, bookLotsAt(lam) - bookLots)
  bookLots += moreBook
  left -= moreBook
  for (let j = 0; j < pools.length && left > 0n; j++) {
    const more = minBig(left, poolLotsAt(j, lam) - poolLots[j]!)
    poolLots[j] = poolLots[j]! + more
    left -= more
  }
  const poolQuotes = poolLots.map((s, j) =>
    s === 0n
      ? 0n
      : buy
        ? quoteExactOut(pools[j]!, 'buy-base', s * lotSize)
        : quoteExactIn(pools[j]!, 'sell-base', s * lotSize),
  )
  const bookQuote = curve.quote(bookLots)
  const filled = bookLots + poolLots.reduce((a, b) => a + b, 0n)
  return {
    bookLots,
    bookFills: curve.fills(bookLots),
    bookQuote,
    poolLots,
    poolQuotes,
    totalQuote: bookQuote + poolQuotes.reduce((a, b) => a + b, 0n),
    unfilled: size - filled,
  }
}
