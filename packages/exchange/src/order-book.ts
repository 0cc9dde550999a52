/**
 * Central limit order book for one market: price-time priority, pure and deterministic.
 *
 * Layout (why it is fast):
 * - each side keeps its price levels in a B-tree (sorted-btree, O(log n) insert/delete of a
 *   level) ordered best-first, plus a Map price -> level so adding to an existing level and
 *   finding a level are O(1), plus a cached pointer to the best level;
 * - a level is an intrusive doubly linked FIFO of order nodes, and a Map id -> node makes
 *   cancel O(1): unlink the node, drop the level when it empties.
 * Prices and sizes are validated as bigint at the boundary, then held as JS safe integers:
 * integer-valued doubles below 2^53 are exact, and the config guarantees that no sum the engine
 * forms (a level's volume, the book's volume) can pass 2^53-1 (see {@link OrderBook} bounds).
 * Nothing here reads a clock or randomness; iteration is always over ordered structures.
 */
import BTreeMod from 'sorted-btree'
import { PulseError } from '@pulsemesh/core/errors.ts'
import type {
  BookSnapshot,
  CancelReason,
  Command,
  DepthLevel,
  EngineEvent,
  MarketConfig,
  PlaceCommand,
  RejectCode,
  Side,
  SnapshotLevel,
  StpMode,
} from './types.ts'

// sorted-btree ships CommonJS with `exports.default`; under ESM the class sits on `.default`.
// biome-ignore lint/suspicious/noExplicitAny: CJS/ESM interop of sorted-btree's default export
const BTree: typeof BTreeMod.default = (BTreeMod as any).default ?? BTreeMod
type Tree = BTreeMod.default<number, Level>

const MAX_SAFE = Number.MAX_SAFE_INTEGER
const MAX_SAFE_BIG = BigInt(MAX_SAFE)
const MAX_OWNER_LENGTH = 256

/**
 * Shared bigints for small sizes: every event carries bigint sizes, and most sizes are small;
 * reusing the primitives instead of allocating one per event takes work off the GC.
 */
const SMALL_BIG: readonly bigint[] = Array.from({ length: 4096 }, (_, i) => BigInt(i))
function big(n: number): bigint {
  return n < 4096 ? SMALL_BIG[n]! : BigInt(n)
}

/** STP mode name -> small int (hot loop compares ints); -1 for anything else. */
function stpCode(mode: StpMode | undefined): number {
  switch (mode) {
    case undefined:
    case 'cancel-newest':
      return STP_NEWEST
    case 'cancel-oldest':
      return STP_OLDEST
    case 'cancel-both':
      return STP_BOTH
    case 'decrement':
      return STP_DECREMENT
    case 'none':
      return STP_NONE
    default:
      return -1
  }
}
const STP_NEWEST = 0
const STP_OLDEST = 1
const STP_BOTH = 2
const STP_DECREMENT = 3
const STP_NONE = 4

/** One resting order; also the node of its level's FIFO. */
class OrderNode {
  id: number
  idBig: bigint
  owner: string
  isBuy: boolean
  remaining: number
  level: Level
  /** Kept so a replace re-enters with the same STP mode and post-only flag. */
  stp: number
  postOnly: boolean
  prev: OrderNode | null = null
  next: OrderNode | null = null
  constructor(
    id: number,
    idBig: bigint,
    owner: string,
    isBuy: boolean,
    remaining: number,
    level: Level,
    stp: number,
    postOnly: boolean,
  ) {
    this.id = id
    this.idBig = idBig
    this.owner = owner
    this.isBuy = isBuy
    this.remaining = remaining
    this.level = level
    this.stp = stp
    this.postOnly = postOnly
  }
}

class Level {
  price: number
  priceBig: bigint
  volume = 0
  head: OrderNode | null = null
  tail: OrderNode | null = null
  constructor(price: number, priceBig: bigint) {
    this.price = price
    this.priceBig = priceBig
  }
}

/** One side of the book. `tree` is ordered best-first (bids descending, asks ascending). */
class BookSide {
  readonly tree: Tree
  readonly levels = new Map<number, Level>()
  best: Level | null = null
  readonly isBuy: boolean
  constructor(isBuy: boolean) {
    this.isBuy = isBuy
    this.tree = new BTree<number, Level>(undefined, isBuy ? (a, b) => b - a : (a, b) => a - b)
  }

  /** Level at `price`, created (and indexed) if missing. */
  levelAt(price: number, priceBig: bigint): Level {
    let level = this.levels.get(price)
    if (level === undefined) {
      level = new Level(price, priceBig)
      this.levels.set(price, level)
      this.tree.set(price, level)
      const best = this.best
      if (best === null || (this.isBuy ? price > best.price : price < best.price)) this.best = level
    }
    return level
  }

  removeLevel(level: Level): void {
    this.levels.delete(level.price)
    this.tree.delete(level.price)
    if (this.best === level) {
      const k = this.tree.minKey()
      this.best = k === undefined ? null : this.levels.get(k)!
    }
  }
}

class Rejection {
  readonly code: RejectCode
  constructor(code: RejectCode) {
    this.code = code
  }
}

function append(level: Level, node: OrderNode): void {
  const tail = level.tail
  node.prev = tail
  node.next = null
  if (tail === null) level.head = node
  else tail.next = node
  level.tail = node
  level.volume += node.remaining
}

function unlink(level: Level, node: OrderNode): void {
  const { prev, next } = node
  if (prev === null) level.head = next
  else prev.next = next
  if (next === null) level.tail = prev
  else next.prev = prev
  node.prev = null
  node.next = null
}

export class OrderBook {
  readonly tickSize: number
  readonly lotSize: number
  readonly maxPrice: number
  readonly maxSize: number
  readonly maxOpenOrders: number
  private readonly bids = new BookSide(true)
  private readonly asks = new BookSide(false)
  private readonly orders = new Map<number, OrderNode>()

  constructor(config: MarketConfig) {
    const bad = (msg: string): never => {
      throw new PulseError('EXCHANGE_BAD_CONFIG', msg, { config })
    }
    const { tickSize, lotSize } = config
    const maxPrice = config.maxPrice ?? MAX_SAFE_BIG
    const maxSize = config.maxSize ?? 2n ** 33n - 1n
    const maxOpenOrders = config.maxOpenOrders ?? 2 ** 20
    if (typeof tickSize !== 'bigint' || tickSize < 1n || tickSize > MAX_SAFE_BIG) bad('tickSize out of range')
    if (typeof lotSize !== 'bigint' || lotSize < 1n || lotSize > MAX_SAFE_BIG) bad('lotSize out of range')
    if (typeof maxPrice !== 'bigint' || maxPrice < tickSize || maxPrice > MAX_SAFE_BIG)
      bad('maxPrice out of range')
    if (typeof maxSize !== 'bigint' || maxSize < lotSize) bad('maxSize out of range')
    if (!Number.isSafeInteger(maxOpenOrders) || maxOpenOrders < 1) bad('maxOpenOrders out of range')
    // Every volume the engine sums is bounded by (live orders) * (largest size).
    if (maxSize * BigInt(maxOpenOrders) > MAX_SAFE_BIG) bad('maxSize * maxOpenOrders exceeds 2^53-1')
    this.tickSize = Number(tickSize)
    this.lotSize = Number(lotSize)
    this.maxPrice = Number(maxPrice)
    this.maxSize = Number(maxSize)
    this.maxOpenOrders = maxOpenOrders
  }

  /** Number of live (resting) orders. */
  get openOrders(): number {
    return this.orders.size
  }

  bestBid(): bigint | undefined {
    return this.bids.best?.priceBig
  }

  bestAsk(): bigint | undefined {
    return this.asks.best?.priceBig
  }

  /** A resting order, or undefined. */
  order(id: bigint): { id: bigint; owner: string; side: Side; price: bigint; size: bigint } | undefined {
    if (typeof id !== 'bigint' || id < 0n || id > MAX_SAFE_BIG) return undefined
    const node = this.orders.get(Number(id))
    if (node === undefined) return undefined
    return {
      id: node.idBig,
      owner: node.owner,
      side: node.isBuy ? 'buy' : 'sell',
      price: node.level.priceBig,
      size: BigInt(node.remaining),
    }
  }

  /** Apply one command; returns its events. Never throws on bad input: it rejects instead. */
  execute(cmd: Command): EngineEvent[] {
    try {
      switch (cmd?.kind) {
        case 'place':
          return this.place(cmd)
        case 'cancel':
          return this.cancel(cmd.id, cmd.owner)
        case 'replace':
          return this.replace(cmd.id, cmd.owner, cmd.price, cmd.size)
        default:
          return [{ type: 'rejected', orderId: -1n, code: 'INVALID_COMMAND' }]
      }
    } catch (e) {
      if (e instanceof Rejection) {
        const id = (cmd as { id?: unknown }).id
        return [{ type: 'rejected', orderId: typeof id === 'bigint' ? id : -1n, code: e.code }]
      }
      throw e
    }
  }

  // ---------------------------------------------------------------- validation (no mutation)

  // Range checks convert once and test the double: for any bigint b, Number(b) is a safe
  // integer exactly when |b| <= 2^53-1 (larger magnitudes round to >= 2^53), so one conversion
  // replaces two bigint comparisons on the hot path.
  private checkId(id: bigint): number {
    if (typeof id !== 'bigint') throw new Rejection('INVALID_COMMAND')
    const n = Number(id)
    if (n < 0 || !Number.isSafeInteger(n)) throw new Rejection('ORDER_ID_INVALID')
    return n
  }

  private checkOwner(owner: string): void {
    if (typeof owner !== 'string') throw new Rejection('INVALID_COMMAND')
    if (owner.length === 0 || owner.length > MAX_OWNER_LENGTH) throw new Rejection('OWNER_INVALID')
  }

  private checkPrice(price: bigint | undefined): number {
    if (typeof price !== 'bigint') throw new Rejection('INVALID_COMMAND')
    const p = Number(price)
    if (p <= 0) throw new Rejection('PRICE_NOT_POSITIVE')
    if (p > this.maxPrice || !Number.isSafeInteger(p)) throw new Rejection('PRICE_TOO_HIGH')
    if (p % this.tickSize !== 0) throw new Rejection('PRICE_OFF_TICK')
    return p
  }

  private checkSize(size: bigint): number {
    if (typeof size !== 'bigint') throw new Rejection('INVALID_COMMAND')
    const s = Number(size)
    if (s <= 0) throw new Rejection('SIZE_NOT_POSITIVE')
    if (s > this.maxSize || !Number.isSafeInteger(s)) throw new Rejection('SIZE_TOO_LARGE')
    if (s % this.lotSize !== 0) throw new Rejection('SIZE_OFF_LOT')
    return s
  }

  /**
   * Would a taker of `size` at `limit` fill completely (FOK)? Walks resting orders in priority
   * order, applying what the taker's STP mode would do to same-owner orders, without mutating.
   */
  private fokFillable(
    opp: BookSide,
    isBuy: boolean,
    limit: number,
    size: number,
    owner: string,
    stp: number,
  ): boolean {
    if (opp.best === null) return false
    let need = size
    for (const [price, level] of opp.tree.entries(opp.best.price)) {
      if (isBuy ? price > limit : price < limit) return false
      for (let n = level.head; n !== null; n = n.next) {
        if (n.owner === owner && stp !== STP_NONE) {
          // the taker would be cancelled here before filling completely
          if (stp === STP_NEWEST || stp === STP_BOTH) return false
          // cancel-oldest removes the resting order without a fill
          if (stp === STP_OLDEST) continue
          // decrement consumes the taker's size without a trade: counts
        }
        need -= n.remaining
        if (need <= 0) return true
      }
    }
    return false
  }

  // ---------------------------------------------------------------- commands

  private place(cmd: PlaceCommand): EngineEvent[] {
    const id = this.checkId(cmd.id)
    this.checkOwner(cmd.owner)
    const { side, type, owner } = cmd
    if (side !== 'buy' && side !== 'sell') throw new Rejection('INVALID_COMMAND')
    const stp = stpCode(cmd.stp)
    if (stp < 0) throw new Rejection('INVALID_COMMAND')
    const isBuy = side === 'buy'
    let limit: number
    let priceBig: bigint
    if (type === 'market') {
      if (cmd.price !== undefined) throw new Rejection('INVALID_COMMAND')
      limit = isBuy ? Number.POSITIVE_INFINITY : Number.NEGATIVE_INFINITY
      priceBig = 0n
    } else if (type === 'limit' || type === 'ioc' || type === 'fok' || type === 'post-only') {
      limit = this.checkPrice(cmd.price)
      priceBig = cmd.price!
    } else {
      throw new Rejection('INVALID_COMMAND')
    }
    const size = this.checkSize(cmd.size)
    if (this.orders.has(id)) throw new Rejection('DUPLICATE_ORDER_ID')
    const rests = type === 'limit' || type === 'post-only'
    if (rests && this.orders.size >= this.maxOpenOrders) throw new Rejection('BOOK_FULL')
    const opp = isBuy ? this.asks : this.bids
    const best = opp.best
    if (type === 'post-only' && best !== null && (isBuy ? best.price <= limit : best.price >= limit)) {
      throw new Rejection('POST_ONLY_WOULD_CROSS')
    }
    if (type === 'market' && best === null) throw new Rejection('MARKET_NO_LIQUIDITY')
    if (type === 'fok' && !this.fokFillable(opp, isBuy, limit, size, owner, stp)) {
      throw new Rejection('FOK_NOT_FILLABLE')
    }
    // ---- accepted: from here on the command mutates and cannot be rejected
    const idBig = cmd.id
    const events: EngineEvent[] = [{ type: 'accepted', orderId: idBig }]
    return this.enter(
      events,
      id,
      idBig,
      owner,
      isBuy,
      rests,
      type === 'post-only',
      limit,
      priceBig,
      size,
      stp,
    )
  }

  /** Match a taker, then rest or cancel the remainder. Shared by place and replace. */
  private enter(
    events: EngineEvent[],
    id: number,
    idBig: bigint,
    owner: string,
    isBuy: boolean,
    rests: boolean,
    postOnly: boolean,
    limit: number,
    priceBig: bigint,
    size: number,
    stp: number,
  ): EngineEvent[] {
    const opp = isBuy ? this.asks : this.bids
    let remaining = size
    let filled = 0
    let takerCancelled = false
    const side: Side = isBuy ? 'buy' : 'sell'
    const orders = this.orders
    for (let level = opp.best; level !== null; level = opp.best) {
      const lp = level.price
      if (isBuy ? lp > limit : lp < limit) break
      let maker = level.head
      while (maker !== null) {
        const next = maker.next
        if (stp !== STP_NONE && maker.owner === owner) {
          if (stp === STP_NEWEST) {
            takerCancelled = true
            break
          }
          if (stp === STP_DECREMENT) {
            const d = Math.min(remaining, maker.remaining)
            const dBig = big(d)
            events.push({ type: 'cancelled', orderId: maker.idBig, size: dBig, reason: 'STP' })
            events.push({ type: 'cancelled', orderId: idBig, size: dBig, reason: 'STP' })
            maker.remaining -= d
            level.volume -= d
            remaining -= d
            if (maker.remaining === 0) {
              unlink(level, maker)
              orders.delete(maker.id)
            }
            if (remaining === 0) break
            maker = next
            continue
          }
          // cancel-oldest or cancel-both: the resting order goes
          events.push({
            type: 'cancelled',
            orderId: maker.idBig,
            size: big(maker.remaining),
            reason: 'STP',
          })
          level.volume -= maker.remaining
          unlink(level, maker)
          orders.delete(maker.id)
          if (stp === STP_BOTH) {
            takerCancelled = true
            break
          }
          maker = next
          continue
        }
        const q = Math.min(remaining, maker.remaining)
        events.push({
          type: 'fill',
          makerId: maker.idBig,
          takerId: idBig,
          makerOwner: maker.owner,
          takerOwner: owner,
          takerSide: side,
          price: level.priceBig,
          size: big(q),
        })
        maker.remaining -= q
        level.volume -= q
        remaining -= q
        filled += q
        if (maker.remaining === 0) {
          unlink(level, maker)
          orders.delete(maker.id)
        }
        if (remaining === 0) break
        maker = next
      }
      if (level.head === null) opp.removeLevel(level)
      if (remaining === 0 || takerCancelled) break
    }
    let resting = 0
    if (remaining > 0) {
      if (takerCancelled) {
        events.push({ type: 'cancelled', orderId: idBig, size: big(remaining), reason: 'STP' })
      } else if (rests) {
        const own = isBuy ? this.bids : this.asks
        const level = own.levelAt(limit, priceBig)
        const node = new OrderNode(id, idBig, owner, isBuy, remaining, level, stp, postOnly)
        append(level, node)
        orders.set(id, node)
        resting = remaining
      } else {
        events.push({ type: 'cancelled', orderId: idBig, size: big(remaining), reason: 'UNFILLED' })
      }
    }
    events.push({ type: 'done', orderId: idBig, filled: big(filled), resting: big(resting) })
    return events
  }

  private lookupOwned(idBig: bigint, owner: string): OrderNode {
    const id = this.checkId(idBig)
    this.checkOwner(owner)
    const node = this.orders.get(id)
    if (node === undefined) throw new Rejection('UNKNOWN_ORDER')
    if (node.owner !== owner) throw new Rejection('NOT_ORDER_OWNER')
    return node
  }

  private removeNode(node: OrderNode): void {
    const level = node.level
    level.volume -= node.remaining
    unlink(level, node)
    this.orders.delete(node.id)
    if (level.head === null) (node.isBuy ? this.bids : this.asks).removeLevel(level)
  }

  private cancel(idBig: bigint, owner: string): EngineEvent[] {
    const node = this.lookupOwned(idBig, owner)
    this.removeNode(node)
    return [
      {
        type: 'cancelled',
        orderId: node.idBig,
        size: big(node.remaining),
        reason: 'USER' as CancelReason,
      },
      { type: 'done', orderId: node.idBig, filled: 0n, resting: 0n },
    ]
  }

  private replace(idBig: bigint, owner: string, priceBig: bigint, sizeBig: bigint): EngineEvent[] {
    const node = this.lookupOwned(idBig, owner)
    const price = this.checkPrice(priceBig)
    const size = this.checkSize(sizeBig)
    const level = node.level
    if (price === level.price && size <= node.remaining) {
      // Size reduction in place keeps time priority.
      const events: EngineEvent[] = [{ type: 'accepted', orderId: node.idBig }]
      const cut = node.remaining - size
      if (cut > 0) {
        events.push({ type: 'cancelled', orderId: node.idBig, size: big(cut), reason: 'REDUCED' })
        node.remaining = size
        level.volume -= cut
      }
      events.push({ type: 'done', orderId: node.idBig, filled: 0n, resting: big(size) })
      return events
    }
    // Loses priority: cancel, then enter again with the same id, side, owner, STP mode and
    // post-only flag. The book cannot be full here: the old order frees its slot first.
    if (node.postOnly) {
      const best = (node.isBuy ? this.asks : this.bids).best
      if (best !== null && (node.isBuy ? best.price <= price : best.price >= price)) {
        throw new Rejection('POST_ONLY_WOULD_CROSS')
      }
    }
    const events: EngineEvent[] = [
      { type: 'cancelled', orderId: node.idBig, size: big(node.remaining), reason: 'REPLACED' },
      { type: 'accepted', orderId: node.idBig },
    ]
    this.removeNode(node)
    return this.enter(
      events,
      node.id,
      node.idBig,
      node.owner,
      node.isBuy,
      true,
      node.postOnly,
      price,
      priceBig,
      size,
      node.stp,
    )
  }

  // ---------------------------------------------------------------- views

  /** Aggregated levels best-first, at most `maxLevels` per side. */
  depth(maxLevels = 50): { bids: DepthLevel[]; asks: DepthLevel[] } {
    const take = (side: BookSide): DepthLevel[] => {
      const out: DepthLevel[] = []
      if (maxLevels <= 0) return out
      for (const [, level] of side.tree.entries()) {
        out.push({ price: level.priceBig, size: BigInt(level.volume) })
        if (out.length >= maxLevels) break
      }
      return out
    }
    return { bids: take(this.bids), asks: take(this.asks) }
  }

  /** Canonical full state: levels best-first, orders in time priority. Equal books give equal snapshots. */
  snapshot(): BookSnapshot {
    const take = (side: BookSide): SnapshotLevel[] => {
      const out: SnapshotLevel[] = []
      for (const [, level] of side.tree.entries()) {
        const orders = []
        for (let n = level.head; n !== null; n = n.next) {
          orders.push({ id: n.idBig, owner: n.owner, size: BigInt(n.remaining) })
        }
        out.push({ price: level.priceBig, size: BigInt(level.volume), orders })
      }
      return out
    }
    return { bids: take(this.bids), asks: take(this.asks) }
  }
}

/**
 * Text of a snapshot or event list (bigints as decimal strings) for tests, logs and diffs. The
 * engine builds every object with a fixed key order, so equal states give equal text; consensus
 * hashing must still go through the canonical codec of @pulsemesh/core, not this.
 */
export function canonicalText(value: unknown): string {
  return JSON.stringify(value, (_k, v) => (typeof v === 'bigint' ? v.toString() : v))
}
