/**
 * Uniform-price batch auction for one batch of orders (one block's orders of one market).
 * Everybody who trades, trades at the same clearing price, so the order of transactions inside
 * the block cannot be used to front-run (DESIGN §7, MEV protection).
 *
 * Clearing price, chosen among the distinct limit prices of the batch:
 *   1. maximise executed volume V(p) = min(D(p), S(p)), where D(p) is the size of buys willing to
 *      pay p (market buys or limit >= p) and S(p) the size of sells willing to accept p;
 *   2. then minimise the surplus |D(p) - S(p)|;
 *   3. then market pressure: if every remaining candidate has D > S take the highest, if every
 *      one has S > D take the lowest;
 *   4. then the candidate closest to `referencePrice` (ties: the lower one);
 *   5. without a reference price, the lower median of the remaining candidates.
 * A batch of only market orders clears at `referencePrice` if given, else does not trade.
 *
 * Allocation: the short side (eligible size = V) fills completely. The long side is served in
 * price priority (market orders first, then better limits), and inside one price
 *   - `time`: in batch order (the input order is the time priority), or
 *   - `pro-rata`: each order gets floor(size * left / tierSize) lots, and the leftover lots
 *     (fewer than the orders in the tier) go one by one in batch order.
 * Sizes are integer lots; nothing is ever split below a lot.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { absBig, minBig } from './bigint-math.ts'
import type { Side } from './types.ts'

export interface AuctionOrder {
  id: bigint
  side: Side
  /** Limit price in quote units per lot; undefined for a market order. */
  price?: bigint
  size: bigint
}

export interface AuctionOptions {
  allocation?: 'time' | 'pro-rata'
  referencePrice?: bigint
}

export interface AuctionFill {
  id: bigint
  side: Side
  size: bigint
}

export interface AuctionResult {
  /** Clearing price, or null when nothing trades. */
  price: bigint | null
  volume: bigint
  /** Demand and supply at the clearing price. */
  demand: bigint
  supply: bigint
  /** Non-zero fills, in batch order. */
  fills: AuctionFill[]
}

export const MAX_BATCH_ORDERS = 100_000

function bad(message: string, meta: Record<string, unknown> = {}): never {
  throw new PulseError('AUCTION_BAD_INPUT', message, meta)
}

interface Candidate {
  price: bigint
  demand: bigint
  supply: bigint
  volume: bigint
  surplus: bigint
}

export function clearBatch(orders: readonly AuctionOrder[], options: AuctionOptions = {}): AuctionResult {
  const allocation = options.allocation ?? 'time'
  if (allocation !== 'time' && allocation !== 'pro-rata') bad('allocation must be time or pro-rata')
  const ref = options.referencePrice
  if (ref !== undefined && (typeof ref !== 'bigint' || ref <= 0n))
    bad('referencePrice must be a positive bigint')
  if (orders.length > MAX_BATCH_ORDERS)
    bad('batch too large', { orders: orders.length, max: MAX_BATCH_ORDERS })
  const ids = new Set<bigint>()
  for (const o of orders) {
    if (typeof o.id !== 'bigint' || ids.has(o.id)) bad('order ids must be unique bigints', { id: o.id })
    ids.add(o.id)
    if (o.side !== 'buy' && o.side !== 'sell') bad('side must be buy or sell', { id: o.id })
    if (typeof o.size !== 'bigint' || o.size <= 0n) bad('size must be a positive bigint', { id: o.id })
    if (o.price !== undefined && (typeof o.price !== 'bigint' || o.price <= 0n)) {
      bad('price must be a positive bigint or absent (market)', { id: o.id })
    }
  }

  const none: AuctionResult = { price: null, volume: 0n, demand: 0n, supply: 0n, fills: [] }
  const prices = [...new Set(orders.filter((o) => o.price !== undefined).map((o) => o.price!))].sort(
    (a, b) => (a < b ? -1 : a > b ? 1 : 0),
  )
  if (prices.length === 0) {
    if (ref === undefined) return none
    prices.push(ref)
  }

  // D(p) and S(p) for every candidate by sweeps over the sorted prices
  let marketBuy = 0n
  let marketSell = 0n
  const buyAt = new Map<bigint, bigint>()
  const sellAt = new Map<bigint, bigint>()
  for (const o of orders) {
    if (o.price === undefined) {
      if (o.side === 'buy') marketBuy += o.size
      else marketSell += o.size
    } else if (o.side === 'buy') buyAt.set(o.price, (buyAt.get(o.price) ?? 0n) + o.size)
    else sellAt.set(o.price, (sellAt.get(o.price) ?? 0n) + o.size)
  }
  const cands: Candidate[] = prices.map((price) => ({
    price,
    demand: 0n,
    supply: 0n,
    volume: 0n,
    surplus: 0n,
  }))
  let acc = marketBuy
  for (let i = cands.length - 1; i >= 0; i--) {
    acc += buyAt.get(cands[i]!.price) ?? 0n
    cands[i]!.demand = acc
  }
  acc = marketSell
  for (const c of cands) {
    acc += sellAt.get(c.price) ?? 0n
    c.supply = acc
    c.volume = minBig(c.demand, c.supply)
    c.surplus = absBig(c.demand - c.supply)
  }

  // rules 1-5
  let maxVol = 0n
  for (const c of cands) if (c.volume > maxVol) maxVol = c.volume
  if (maxVol === 0n) return none
  let tied = cands.filter((c) => c.volume === maxVol)
  let minSurplus = tied[0]!.surplus
  for (const c of tied) if (c.surplus < minSurplus) minSurplus = c.surplus
  tied = tied.filter((c) => c.surplus === minSurplus)
  let chosen: Candidate
  if (tied.length === 1) chosen = tied[0]!
  else if (tied.every((c) => c.demand > c.supply)) chosen = tied[tied.length - 1]!
  else if (tied.every((c) => c.supply > c.demand)) chosen = tied[0]!
  else if (ref !== undefined) {
    chosen = tied[0]!
    for (const c of tied) if (absBig(c.price - ref) < absBig(chosen.price - ref)) chosen = c
  } else chosen = tied[(tied.length - 1) >> 1]!

  const p = chosen.price
  const volume = chosen.volume
  const filled = new Map<bigint, bigint>()
  allocate(
    orders.filter((o) => o.side === 'buy' && (o.price === undefined || o.price >= p)),
    volume,
    'buy',
    allocation,
    filled,
  )
  allocate(
    orders.filter((o) => o.side === 'sell' && (o.price === undefined || o.price <= p)),
    volume,
    'sell',
    allocation,
    filled,
  )
  const fills: AuctionFill[] = []
  for (const o of orders) {
    const f = filled.get(o.id)
    if (f !== undefined && f > 0n) fills.push({ id: o.id, side: o.side, size: f })
  }
  return { price: p, volume, demand: chosen.demand, supply: chosen.supply, fills }
}

/** Give `volume` lots to `eligible` (batch order kept) by price priority, then time or pro-rata. */
function allocate(
  eligible: AuctionOrder[],
  volume: bigint,
  side: Side,
  mode: 'time' | 'pro-rata',
  out: Map<bigint, bigint>,
): void {
  // price tiers best first: market orders, then by price (desc for buys, asc for sells)
  const key = (o: AuctionOrder): bigint | null => o.price ?? null
  const tiers = new Map<bigint | null, AuctionOrder[]>()
  for (const o of eligible) {
    const k = key(o)
    const t = tiers.get(k)
    if (t === undefined) tiers.set(k, [o])
    else t.push(o)
  }
  const order = [...tiers.keys()].sort((a, b) => {
    if (a === b) return 0
    if (a === null) return -1
    if (b === null) return 1
    return side === 'buy' ? (a > b ? -1 : 1) : a < b ? -1 : 1
  })
  let left = volume
  for (const k of order) {
    const tier = tiers.get(k)!
    const tierSize = tier.reduce((s, o) => s + o.size, 0n)
    if (tierSize <= left || mode === 'time') {
      for (const o of tier) {
        const take = minBig(o.size, left)
        out.set(o.id, take)
        left -= take
      }
    } else {
      // pro-rata inside the marginal tier, floor, then leftover lots one each in batch order
      let given = 0n
      const shares = tier.map((o) => {
        const s = (o.size * left) / tierSize
        given += s
        return s
      })
      let extra = left - given
      for (let i = 0; i < tier.length && extra > 0n; i++) {
        if (shares[i]! < tier[i]!.size) {
          shares[i]! += 1n
          extra -= 1n
        }
      }
      for (let i = 0; i < tier.length; i++) out.set(tier[i]!.id, shares[i]!)
      left = 0n
    }
    if (left === 0n) break
  }
}
