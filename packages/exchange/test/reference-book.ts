/**
 * Naive reference order book for differential tests: bigint everywhere, each side one array
 * kept sorted by (price, arrival sequence), linear scans, FOK decided by dry-running the taker on
 * a copy. Deliberately shares no code with src/order-book.ts; it must produce the same events
 * and the same snapshot for every command stream.
 */
import type {
  BookSnapshot,
  Command,
  EngineEvent,
  MarketConfig,
  OrderType,
  RejectCode,
  Side,
  SnapshotLevel,
  StpMode,
} from '../src/types.ts'

import { minBig } from '../src/bigint-math.ts'

const MAX = 2n ** 53n - 1n

interface ROrder {
  id: bigint
  owner: string
  side: Side
  price: bigint
  size: bigint
  seq: number
  stp: StpMode
  postOnly: boolean
}

class Reject {
  code: RejectCode
  constructor(code: RejectCode) {
    this.code = code
  }
}

export class ReferenceBook {
  bids: ROrder[] = []
  asks: ROrder[] = []
  seq = 0
  tick: bigint
  lot: bigint
  maxPrice: bigint
  maxSize: bigint
  maxOpen: number

  constructor(c: MarketConfig) {
    this.tick = c.tickSize
    this.lot = c.lotSize
    this.maxPrice = c.maxPrice ?? MAX
    this.maxSize = c.maxSize ?? 2n ** 33n - 1n
    this.maxOpen = c.maxOpenOrders ?? 2 ** 20
  }

  private all(): ROrder[] {
    return [...this.bids, ...this.asks]
  }

  private sortSides(): void {
    this.bids.sort((a, b) => (a.price === b.price ? a.seq - b.seq : a.price > b.price ? -1 : 1))
    this.asks.sort((a, b) => (a.price === b.price ? a.seq - b.seq : a.price < b.price ? -1 : 1))
  }

  execute(cmd: Command): EngineEvent[] {
    try {
      if (cmd.kind === 'place')
        return this.place(cmd.id, cmd.owner, cmd.side, cmd.type, cmd.price, cmd.size, cmd.stp)
      if (cmd.kind === 'cancel') return this.cancel(cmd.id, cmd.owner)
      if (cmd.kind === 'replace') return this.replace(cmd.id, cmd.owner, cmd.price, cmd.size)
      return [{ type: 'rejected', orderId: -1n, code: 'INVALID_COMMAND' }]
    } catch (e) {
      if (e instanceof Reject) return [{ type: 'rejected', orderId: cmd.id, code: e.code }]
      throw e
    }
  }

  private checkId(id: bigint): void {
    if (typeof id !== 'bigint') throw new Reject('INVALID_COMMAND')
    if (id < 0n || id > MAX) throw new Reject('ORDER_ID_INVALID')
  }
  private checkOwner(owner: string): void {
    if (typeof owner !== 'string') throw new Reject('INVALID_COMMAND')
    if (owner.length === 0 || owner.length > 256) throw new Reject('OWNER_INVALID')
  }
  private checkPrice(p: bigint | undefined): bigint {
    if (typeof p !== 'bigint') throw new Reject('INVALID_COMMAND')
    if (p <= 0n) throw new Reject('PRICE_NOT_POSITIVE')
    if (p > this.maxPrice) throw new Reject('PRICE_TOO_HIGH')
    if (p % this.tick !== 0n) throw new Reject('PRICE_OFF_TICK')
    return p
  }
  private checkSize(s: bigint): bigint {
    if (typeof s !== 'bigint') throw new Reject('INVALID_COMMAND')
    if (s <= 0n) throw new Reject('SIZE_NOT_POSITIVE')
    if (s > this.maxSize) throw new Reject('SIZE_TOO_LARGE')
    if (s % this.lot !== 0n) throw new Reject('SIZE_OFF_LOT')
    return s
  }

  private crosses(side: Side, limit: bigint | null, makerPrice: bigint): boolean {
    if (limit === null) return true
    return side === 'buy' ? makerPrice <= limit : makerPrice >= limit
  }

  /** Match a taker against `opp` (mutated); returns what is left and whether STP killed it. */
  private match(
    opp: ROrder[],
    id: bigint,
    owner: string,
    side: Side,
    limit: bigint | null,
    size: bigint,
    stp: StpMode,
    events: EngineEvent[],
  ): { remaining: bigint; filled: bigint; killed: boolean } {
    let remaining = size
    let filled = 0n
    const i = 0
    while (remaining > 0n && i < opp.length) {
      const m = opp[i]!
      if (!this.crosses(side, limit, m.price)) break
      if (stp !== 'none' && m.owner === owner) {
        if (stp === 'cancel-newest') return { remaining, filled, killed: true }
        if (stp === 'decrement') {
          const d = minBig(remaining, m.size)
          events.push({ type: 'cancelled', orderId: m.id, size: d, reason: 'STP' })
          events.push({ type: 'cancelled', orderId: id, size: d, reason: 'STP' })
          m.size -= d
          remaining -= d
          if (m.size === 0n) opp.splice(i, 1)
          continue
        }
        events.push({ type: 'cancelled', orderId: m.id, size: m.size, reason: 'STP' })
        opp.splice(i, 1)
        if (stp === 'cancel-both') return { remaining, filled, killed: true }
        continue
      }
      const q = minBig(remaining, m.size)
      events.push({
        type: 'fill',
        makerId: m.id,
        takerId: id,
        makerOwner: m.owner,
        takerOwner: owner,
        takerSide: side,
        price: m.price,
        size: q,
      })
      m.size -= q
      remaining -= q
      filled += q
      if (m.size === 0n) opp.splice(i, 1)
    }
    return { remaining, filled, killed: false }
  }

  private place(
    id: bigint,
    owner: string,
    side: Side,
    type: OrderType,
    price: bigint | undefined,
    size: bigint,
    stpIn: StpMode | undefined,
  ): EngineEvent[] {
    this.checkId(id)
    this.checkOwner(owner)
    if (side !== 'buy' && side !== 'sell') throw new Reject('INVALID_COMMAND')
    const stp = stpIn ?? 'cancel-newest'
    if (!['cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement', 'none'].includes(stp)) {
      throw new Reject('INVALID_COMMAND')
    }
    let limit: bigint | null
    if (type === 'market') {
      if (price !== undefined) throw new Reject('INVALID_COMMAND')
      limit = null
    } else if (['limit', 'ioc', 'fok', 'post-only'].includes(type)) {
      limit = this.checkPrice(price)
    } else throw new Reject('INVALID_COMMAND')
    this.checkSize(size)
    if (this.all().some((o) => o.id === id)) throw new Reject('DUPLICATE_ORDER_ID')
    const rests = type === 'limit' || type === 'post-only'
    if (rests && this.all().length >= this.maxOpen) throw new Reject('BOOK_FULL')
    const opp = side === 'buy' ? this.asks : this.bids
    if (type === 'post-only' && opp.length > 0 && this.crosses(side, limit, opp[0]!.price)) {
      throw new Reject('POST_ONLY_WOULD_CROSS')
    }
    if (type === 'market' && opp.length === 0) throw new Reject('MARKET_NO_LIQUIDITY')
    if (type === 'fok') {
      const copy = opp.map((o) => ({ ...o }))
      const dry = this.match(copy, id, owner, side, limit, size, stp, [])
      if (dry.killed || dry.remaining > 0n) throw new Reject('FOK_NOT_FILLABLE')
    }
    const events: EngineEvent[] = [{ type: 'accepted', orderId: id }]
    this.enter(events, id, owner, side, rests, type === 'post-only', limit, size, stp)
    return events
  }

  private enter(
    events: EngineEvent[],
    id: bigint,
    owner: string,
    side: Side,
    rests: boolean,
    postOnly: boolean,
    limit: bigint | null,
    size: bigint,
    stp: StpMode,
  ): void {
    const opp = side === 'buy' ? this.asks : this.bids
    const r = this.match(opp, id, owner, side, limit, size, stp, events)
    let resting = 0n
    if (r.remaining > 0n) {
      if (r.killed) events.push({ type: 'cancelled', orderId: id, size: r.remaining, reason: 'STP' })
      else if (rests) {
        const o: ROrder = {
          id,
          owner,
          side,
          price: limit!,
          size: r.remaining,
          seq: this.seq++,
          stp,
          postOnly,
        }
        ;(side === 'buy' ? this.bids : this.asks).push(o)
        this.sortSides()
        resting = r.remaining
      } else events.push({ type: 'cancelled', orderId: id, size: r.remaining, reason: 'UNFILLED' })
    }
    events.push({ type: 'done', orderId: id, filled: r.filled, resting })
  }

  private find(id: bigint, owner: string): ROrder {
    this.checkId(id)
    this.checkOwner(owner)
    const o = this.all().find((x) => x.id === id)
    if (o === undefined) throw new Reject('UNKNOWN_ORDER')
    if (o.owner !== owner) throw new Reject('NOT_ORDER_OWNER')
    return o
  }

  private remove(o: ROrder): void {
    const arr = o.side === 'buy' ? this.bids : this.asks
    arr.splice(arr.indexOf(o), 1)
  }

  private cancel(id: bigint, owner: string): EngineEvent[] {
    const o = this.find(id, owner)
    this.remove(o)
    return [
      { type: 'cancelled', orderId: id, size: o.size, reason: 'USER' },
      { type: 'done', orderId: id, filled: 0n, resting: 0n },
    ]
  }

  private replace(id: bigint, owner: string, price: bigint, size: bigint): EngineEvent[] {
    const o = this.find(id, owner)
    this.checkPrice(price)
    this.checkSize(size)
    if (price === o.price && size <= o.size) {
      const events: EngineEvent[] = [{ type: 'accepted', orderId: id }]
      if (o.size > size)
        events.push({ type: 'cancelled', orderId: id, size: o.size - size, reason: 'REDUCED' })
      o.size = size
      events.push({ type: 'done', orderId: id, filled: 0n, resting: size })
      return events
    }
    const opp = o.side === 'buy' ? this.asks : this.bids
    if (o.postOnly && opp.length > 0 && this.crosses(o.side, price, opp[0]!.price)) {
      throw new Reject('POST_ONLY_WOULD_CROSS')
    }
    const events: EngineEvent[] = [
      { type: 'cancelled', orderId: id, size: o.size, reason: 'REPLACED' },
      { type: 'accepted', orderId: id },
    ]
    this.remove(o)
    this.enter(events, id, owner, o.side, true, o.postOnly, price, size, o.stp)
    return events
  }

  snapshot(): BookSnapshot {
    const group = (arr: ROrder[]): SnapshotLevel[] => {
      const out: SnapshotLevel[] = []
      for (const o of arr) {
        let last = out[out.length - 1]
        if (last === undefined || last.price !== o.price) {
          last = { price: o.price, size: 0n, orders: [] }
          out.push(last)
        }
        last.size += o.size
        last.orders.push({ id: o.id, owner: o.owner, size: o.size })
      }
      return out
    }
    return { bids: group(this.bids), asks: group(this.asks) }
  }
}
