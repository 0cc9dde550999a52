/**
 * The end-of-block batch: every order tx of the block was only queued (and its funds locked) when
 * it executed; here the whole batch is matched and settled in one deterministic pass.
 *
 * Ordering the proposer cannot steer: entries are sorted by sha256(txHash ‖ prevHash) — the
 * proposer chooses which txs enter the block, not where they land in the batch — and within a
 * market cancels/replaces go before new orders (makers can always pull quotes first).
 *
 * Settlement is driven by the engine's events: a fill moves base from ESCROW to the buyer and
 * quote from ESCROW to the seller; after each command every touched order's lock is trimmed to
 * what its resting size still needs (price × lots for a buy, lots × lotSize for a sell) and the
 * excess refunded. So ESCROW always holds exactly Σ locked over live orders (the tests check it).
 */
import {
  type ChainEvent,
  compareBytes,
  concatBytes,
  equalBytes,
  fromHex,
  isPulseError,
  sha256,
} from '@pulsemesh/core'
import {
  type AuctionOrder,
  clearBatch,
  type EngineEvent,
  OrderBook,
  quoteExactIn,
  quoteExactOut,
  routeAcrossPools,
  type Side,
} from '@pulsemesh/exchange'
import { transfer } from '../bank/ledger.ts'
import type { KVStore } from '../../state/kv.ts'
import type { BlockContext } from '../../module.ts'
import {
  deleteBytes,
  deleteOrder,
  drainPending,
  ESCROW,
  getBytes,
  getOrder,
  getTop,
  KEYS,
  lockOf,
  type Market,
  type OrderRecord,
  type PendingEntry,
  poolAccount,
  putBytes,
  putOrder,
  putTop,
  requireMarket,
} from './state.ts'
import { getPool, marketPools, type PoolRecord, putPool } from './pools.ts'
import { getOraclePrice } from './oracle.ts'
import { recordTrades, type Trade, type Venue } from './history.ts'
import { bytesOfHex, decodeBook, encodeBook, hexOf } from './records.ts'

/** Depth levels the router looks at for a market order. */
const ROUTE_LEVELS = 1000

// --- book persistence ---------------------------------------------------------------------------

/**
 * Books rebuilt from state, reused while the stored bytes are the ones we wrote last: a hit skips
 * the rebuild, a miss (another fork, a discarded block, a restart) rebuilds from state, which gives
 * the same engine state — so caching can never change a result.
 */
const cache = new Map<string, { bytes: Uint8Array; book: OrderBook }>()

/**
 * Auction books hold at most AUCTION_RESTING_MAX orders so that resting + one block's orders stay
 * within clearBatch's bound (MAX_BATCH_ORDERS, 100k; a block carries at most 50k txs).
 */
const AUCTION_RESTING_MAX = 50_000
/** Auction books only ever rest uncrossed limit orders; one fixed STP mode keeps rebuilds exact. */
const AUCTION_STP = 'none' as const

/** One participant of an auction batch. */
interface Part {
  id: bigint
  owner: string
  side: Side
  price: bigint
  lots: bigint
  /** Whether what is left rests (limit orders) or is cancelled (market, IOC). */
  rests: boolean
  /** Entered in this batch (its record is pending until the rebuild). */
  fresh: boolean
}

export function newBook(m: Market): OrderBook {
  return new OrderBook({
    tickSize: m.tickSize,
    lotSize: 1n,
    maxPrice: m.maxPrice,
    maxSize: m.maxLots,
    ...(m.mode === 'auction' ? { maxOpenOrders: AUCTION_RESTING_MAX } : {}),
  })
}

/** A pool quote, or null where the curve refuses (never fails the block). */
function tryQuote(f: () => bigint): bigint | null {
  try {
    return f()
  } catch (e) {
    if (isPulseError(e)) return null
    throw e
  }
}

/** The market's book as stored (read-only use: callers that mutate must `takeBook`). */
export function loadBook(store: KVStore, m: Market): OrderBook {
  const raw = getBytes(store, KEYS.book(m.id))
  if (raw === undefined) return newBook(m)
  const hit = cache.get(cacheKey(m))
  if (hit !== undefined && equalBytes(hit.bytes, raw)) return hit.book
  const blob = decodeBook(raw)
  const book = newBook(m)
  if (m.mode === 'auction') {
    // auction books are rebuilt from the book alone (limit orders, one STP mode), as runAuction does
    for (const [side, list] of [
      ['buy', blob.bids],
      ['sell', blob.asks],
    ] as const)
      for (const e of list)
        book.execute({
          kind: 'place',
          id: e.id,
          owner: hexOf(e.owner),
          side,
          type: 'limit',
          price: e.price,
          size: e.lots,
          stp: AUCTION_STP,
        })
    cache.set(cacheKey(m), { bytes: raw, book })
    return book
  }
  for (const { id, lots } of [...blob.bids, ...blob.asks]) {
    const r = getOrder(store, id)!
    // uncrossed by construction, so these only rest; type/stp restore the engine's flags exactly
    book.execute({
      kind: 'place',
      id: r.id,
      owner: r.owner,
      side: r.side,
      type: r.type === 'post-only' ? 'post-only' : 'limit',
      price: r.price,
      size: lots,
      stp: r.stp,
    })
  }
  cache.set(cacheKey(m), { bytes: raw, book })
  return book
}

/** Same id, same config: markets of different chains in one process never share a book. */
function cacheKey(m: Market): string {
  return `${m.id}|${m.tickSize}|${m.lotSize}|${m.maxPrice}|${m.maxLots}|${m.mode}`
}

/** Loads the book for mutation: the cache entry is dropped until `saveBook` records the new bytes. */
function takeBook(store: KVStore, m: Market): OrderBook {
  const book = loadBook(store, m)
  cache.delete(cacheKey(m))
  return book
}

function saveBook(store: KVStore, m: Market, book: OrderBook, lastPrice: bigint | null): void {
  const snap = book.snapshot()
  // owner and price ride along so equal bytes mean an equal book, whatever store they came from
  const side = (levels: typeof snap.bids) =>
    levels.flatMap((l) =>
      l.orders.map((o) => ({ id: o.id, owner: bytesOfHex(o.owner), price: l.price, lots: o.size })),
    )
  const blob = { bids: side(snap.bids), asks: side(snap.asks) }
  if (blob.bids.length === 0 && blob.asks.length === 0) deleteBytes(store, KEYS.book(m.id))
  else {
    const bytes = encodeBook(blob)
    putBytes(store, KEYS.book(m.id), bytes)
    cache.set(cacheKey(m), { bytes, book })
  }
  const prev = getTop(store, m.id)
  putTop(store, m.id, {
    bestBid: book.bestBid() ?? null,
    bestAsk: book.bestAsk() ?? null,
    lastPrice: lastPrice ?? prev.lastPrice,
  })
}

/** Drops cached books (tests that want to exercise the rebuild path). */
export function clearBookCache(): void {
  cache.clear()
}

// --- settlement -----------------------------------------------------------------------------------

/** Order records touched by one market's batch, written back once at the end. */
class Records {
  private readonly map = new Map<bigint, OrderRecord | null>()
  private readonly store: KVStore
  constructor(store: KVStore) {
    this.store = store
  }
  get(id: bigint): OrderRecord | undefined {
    if (!this.map.has(id)) this.map.set(id, getOrder(this.store, id) ?? null)
    return this.map.get(id) ?? undefined
  }
  set(r: OrderRecord): void {
    this.map.set(r.id, r)
  }
  remove(id: bigint): void {
    this.map.set(id, null)
  }
  flush(): void {
    for (const [id, r] of this.map) {
      if (r === null) deleteOrder(this.store, id)
      else putOrder(this.store, r)
    }
    this.map.clear()
  }
}

class MarketBatch {
  readonly store: KVStore
  readonly m: Market
  readonly book: OrderBook
  readonly recs: Records
  readonly emit: (e: ChainEvent) => void
  readonly ctx: BlockContext
  lastPrice: bigint | null = null
  /** This batch's trades, recorded in the market history when the book is saved. */
  readonly trades: Trade[] = []
  constructor(store: KVStore, m: Market, book: OrderBook, ctx: BlockContext, emit: (e: ChainEvent) => void) {
    this.store = store
    this.m = m
    this.book = book
    this.recs = new Records(store)
    this.ctx = ctx
    this.emit = emit
  }

  private readonly accounts = new Map<string, Uint8Array>()
  pay(ownerHex: string, asset: string, amount: bigint): void {
    if (amount <= 0n) return
    let to = this.accounts.get(ownerHex)
    if (to === undefined) {
      to = fromHex(ownerHex)
      this.accounts.set(ownerHex, to)
    }
    transfer(this.store, ESCROW, to, asset, amount)
  }

  /** Settles one fill of `lots` at `price` between a buy and a sell record. */
  fill(
    buy: OrderRecord,
    sell: OrderRecord,
    price: bigint,
    lots: bigint,
    takerSide: Side,
    venue: Venue = 'book',
  ): void {
    const quote = price * lots
    const base = lots * this.m.lotSize
    this.pay(buy.owner, this.m.base, base)
    this.pay(sell.owner, this.m.quote, quote)
    buy.locked -= quote
    sell.locked -= base
    if (buy.locked < 0n || sell.locked < 0n) throw new Error(`exchange: escrow underflow in ${this.m.id}`)
    this.lastPrice = price
    this.trades.push({
      height: this.ctx.height,
      timeMs: this.ctx.timeMs,
      price,
      lots,
      quote,
      takerSide,
      buyOrder: buy.id,
      sellOrder: sell.id,
      venue,
    })
    this.emit({
      type: 'exchange_fill',
      attributes: [
        { key: 'market', value: this.m.id },
        { key: 'buy_order', value: buy.id.toString() },
        { key: 'sell_order', value: sell.id.toString() },
        { key: 'price', value: price.toString() },
        { key: 'lots', value: lots.toString() },
      ],
    })
  }

  /** Trims each touched order's lock to what its resting size needs; gone orders are deleted. */
  trim(ids: Iterable<bigint>): void {
    for (const id of ids) {
      const r = this.recs.get(id)
      if (r === undefined || r.pending) continue
      const resting = this.book.order(id)?.size ?? 0n
      const [asset, need] = lockOf(this.m, r.side, r.price, resting)
      if (r.locked < need) throw new Error(`exchange: order ${id} under-locked`)
      this.pay(r.owner, asset, r.locked - need)
      r.locked = need
      if (resting === 0n) this.recs.remove(id)
      else this.recs.set(r)
    }
  }

  /** Applies engine events: fills settle, every order they touch is trimmed. */
  settle(events: EngineEvent[], self: bigint): void {
    const touched = new Set<bigint>([self])
    for (const e of events) {
      if (e.type === 'fill') {
        const maker = this.recs.get(e.makerId)!
        const taker = this.recs.get(e.takerId)!
        if (e.takerSide === 'buy') this.fill(taker, maker, e.price, e.size, 'buy')
        else this.fill(maker, taker, e.price, e.size, 'sell')
        touched.add(e.makerId)
      } else if (e.type === 'cancelled') touched.add(e.orderId)
      else if (e.type === 'rejected') this.rejected(e.orderId, e.code)
    }
    this.trim([...touched].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)))
  }

  rejected(id: bigint, code: string): void {
    this.emit({
      type: 'exchange_order_rejected',
      attributes: [
        { key: 'market', value: this.m.id },
        { key: 'order', value: id.toString() },
        { key: 'code', value: code },
      ],
    })
  }

  cancel(e: Extract<PendingEntry, { op: 'cancel' }>): void {
    const id = BigInt(e.id)
    const r = this.recs.get(id)
    if (r === undefined || r.pending) {
      this.rejected(id, 'UNKNOWN_ORDER')
      return
    }
    this.settle(this.book.execute({ kind: 'cancel', id, owner: e.owner }), id)
  }

  replace(e: Extract<PendingEntry, { op: 'replace' }>): void {
    const id = BigInt(e.id)
    const extra = BigInt(e.extra)
    const r = this.recs.get(id)
    if (r === undefined || r.pending || this.book.order(id) === undefined) {
      // the order is gone (filled or cancelled earlier in the batch): give the new lock back
      this.pay(e.owner, e.asset, extra)
      this.rejected(id, 'UNKNOWN_ORDER')
      return
    }
    r.locked += extra
    const events = this.book.execute({
      kind: 'replace',
      id,
      owner: e.owner,
      price: BigInt(e.price),
      size: BigInt(e.lots),
    })
    if (events[0]?.type !== 'rejected') r.price = BigInt(e.price)
    this.recs.set(r)
    this.settle(events, id)
  }

  place(e: Extract<PendingEntry, { op: 'place' }>): void {
    const r = this.recs.get(BigInt(e.id))!
    r.pending = false
    this.recs.set(r)
    if (r.type === 'market') {
      this.market(r)
      return
    }
    this.settle(
      this.book.execute({
        kind: 'place',
        id: r.id,
        owner: r.owner,
        side: r.side,
        type: r.type,
        price: r.price,
        size: r.lots,
        stp: r.stp,
      }),
      r.id,
    )
  }

  /**
   * A market order: split by the router between the book and every pool of the market (fee
   * tiers) at one marginal price, within its worst price: each leg must stay within it.
   */
  market(r: OrderRecord): void {
    const cap = r.price
    // pending: the book leg's trim must leave the lock alone until the pool legs have run
    r.pending = true
    let bookLots = r.lots
    let legs: { pool: PoolRecord; lots: bigint }[] = []
    const pools = marketPools(this.store, this.m.id).filter((p) => p.totalShares > 0n)
    if (pools.length > 0) {
      const depth = this.book.depth(ROUTE_LEVELS)
      const levels = (r.side === 'buy' ? depth.asks : depth.bids).filter(
        (l) => cap === 0n || (r.side === 'buy' ? l.price <= cap : l.price >= cap),
      )
      const route = routeAcrossPools(r.side, r.lots, levels, pools, this.m.lotSize)
      bookLots = route.bookLots
      legs = pools.map((pool, j) => ({ pool, lots: route.poolLots[j]! })).filter((l) => l.lots > 0n)
    }
    if (bookLots > 0n) {
      this.settle(
        this.book.execute({
          kind: 'place',
          id: r.id,
          owner: r.owner,
          side: r.side,
          type: cap === 0n ? 'market' : 'ioc',
          price: cap === 0n ? undefined : cap,
          size: bookLots,
          stp: r.stp,
        }),
        r.id,
      )
    }
    for (const leg of legs) this.poolLeg(r, leg.pool.id, leg.lots)
    r.pending = false
    this.recs.set(r)
    this.trim([r.id])
  }

  private poolLeg(r: OrderRecord, poolId: string, lots: bigint): void {
    const pool = getPool(this.store, poolId)!
    const acct = poolAccount(pool.id)
    const baseAmt = lots * this.m.lotSize
    const owner = fromHex(r.owner)
    if (r.side === 'buy') {
      const quoteIn = tryQuote(() => quoteExactOut(pool, 'buy-base', baseAmt))
      if (quoteIn === null || quoteIn > r.price * lots || quoteIn > r.locked) {
        this.rejected(r.id, 'POOL_PRICE_BEYOND_LIMIT')
        return
      }
      transfer(this.store, ESCROW, acct, this.m.quote, quoteIn)
      transfer(this.store, acct, owner, this.m.base, baseAmt)
      r.locked -= quoteIn
      putPool(this.store, {
        ...pool,
        reserveBase: pool.reserveBase - baseAmt,
        reserveQuote: pool.reserveQuote + quoteIn,
      })
      this.poolEvent(r, pool.id, lots, quoteIn)
    } else {
      const quoteOut = tryQuote(() => quoteExactIn(pool, 'sell-base', baseAmt))
      if (quoteOut === null || quoteOut === 0n || quoteOut < r.price * lots || baseAmt > r.locked) {
        this.rejected(r.id, 'POOL_PRICE_BEYOND_LIMIT')
        return
      }
      transfer(this.store, ESCROW, acct, this.m.base, baseAmt)
      transfer(this.store, acct, owner, this.m.quote, quoteOut)
      r.locked -= baseAmt
      putPool(this.store, {
        ...pool,
        reserveBase: pool.reserveBase + baseAmt,
        reserveQuote: pool.reserveQuote - quoteOut,
      })
      this.poolEvent(r, pool.id, lots, quoteOut)
    }
  }

  private poolEvent(r: OrderRecord, poolId: string, lots: bigint, quote: bigint): void {
    this.lastPrice = quote / lots
    this.trades.push({
      height: this.ctx.height,
      timeMs: this.ctx.timeMs,
      price: quote / lots,
      lots,
      quote,
      takerSide: r.side,
      buyOrder: r.side === 'buy' ? r.id : 0n,
      sellOrder: r.side === 'sell' ? r.id : 0n,
      venue: 'pool',
    })
    this.emit({
      type: 'exchange_pool_fill',
      attributes: [
        { key: 'market', value: this.m.id },
        { key: 'pool', value: poolId },
        { key: 'order', value: r.id.toString() },
        { key: 'side', value: r.side },
        { key: 'lots', value: lots.toString() },
        { key: 'quote', value: quote.toString() },
      ],
    })
  }
}

/** Batch position of an entry: sha256(txHash ‖ prevHash), then the tx hash (never equal). */
function sortKey(e: PendingEntry, prevHash: Uint8Array): Uint8Array {
  return sha256(concatBytes(fromHex(e.txHash), prevHash))
}

function orderBatch(entries: PendingEntry[], prevHash: Uint8Array): PendingEntry[] {
  const keyed = entries.map((e) => ({ e, k: sortKey(e, prevHash), first: e.op === 'place' ? 1 : 0 }))
  keyed.sort((a, b) => a.first - b.first || compareBytes(a.k, b.k) || (a.e.txHash < b.e.txHash ? -1 : 1))
  return keyed.map((x) => x.e)
}

/** The module's endBlock part for orders: drains the queue and runs one batch per market. */
export function processBatch(store: KVStore, ctx: BlockContext, emit: (e: ChainEvent) => void): void {
  const entries = drainPending(store)
  if (entries.length === 0) return
  const prevHash = ctx.prevHash ?? new Uint8Array(32)
  const byMarket = new Map<string, PendingEntry[]>()
  for (const e of entries) {
    const list = byMarket.get(e.market)
    if (list === undefined) byMarket.set(e.market, [e])
    else list.push(e)
  }
  for (const id of [...byMarket.keys()].sort()) {
    const m = requireMarket(store, id)
    const batch = orderBatch(byMarket.get(id)!, prevHash)
    if (m.mode === 'auction') runAuction(store, m, batch, ctx, emit)
    else runContinuous(store, m, batch, ctx, emit)
  }
}

function runContinuous(
  store: KVStore,
  m: Market,
  batch: PendingEntry[],
  ctx: BlockContext,
  emit: (e: ChainEvent) => void,
): void {
  const mb = new MarketBatch(store, m, takeBook(store, m), ctx, emit)
  for (const e of batch) {
    if (e.op === 'cancel') mb.cancel(e)
    else if (e.op === 'replace') mb.replace(e)
    else mb.place(e)
  }
  mb.recs.flush()
  saveBook(store, m, mb.book, mb.lastPrice)
  publish(store, m, mb.book, mb.trades, emit)
}

/**
 * Frequent batch auction: cancels apply to the book first; then the resting orders (in their
 * time priority) and the batch's new orders (in batch order) clear at one price via clearBatch;
 * what is left of limit orders rests in a rebuilt book. Replaces re-enter at the back.
 */
function runAuction(
  store: KVStore,
  m: Market,
  batch: PendingEntry[],
  ctx: BlockContext,
  emit: (e: ChainEvent) => void,
): void {
  const old = takeBook(store, m)
  const mb = new MarketBatch(store, m, old, ctx, emit)
  const fresh: OrderRecord[] = []
  for (const e of batch) {
    if (e.op === 'cancel') mb.cancel(e)
    else if (e.op === 'replace') {
      const id = BigInt(e.id)
      const r = mb.recs.get(id)
      if (
        r === undefined ||
        r.pending ||
        old.execute({ kind: 'cancel', id, owner: e.owner })[0]?.type === 'rejected'
      ) {
        mb.pay(e.owner, e.asset, BigInt(e.extra))
        mb.rejected(id, r !== undefined && r.owner !== e.owner ? 'NOT_ORDER_OWNER' : 'UNKNOWN_ORDER')
        continue
      }
      r.locked += BigInt(e.extra)
      r.price = BigInt(e.price)
      r.lots = BigInt(e.lots)
      r.pending = true // in the auction now, trimmed after the rebuild
      mb.recs.set(r)
      fresh.push(r)
    } else {
      const r = mb.recs.get(BigInt(e.id))!
      fresh.push(r)
    }
  }
  // participants: resting orders in priority (straight from the book: their records are only
  // read and rewritten if they trade), then the batch's orders in batch order
  const snap = old.snapshot()
  const parts: Part[] = []
  for (const [side, levels] of [
    ['buy', snap.bids],
    ['sell', snap.asks],
  ] as const)
    for (const l of levels)
      for (const o of l.orders)
        parts.push({
          id: o.id,
          owner: o.owner,
          side,
          price: l.price,
          lots: o.size,
          rests: true,
          fresh: false,
        })
  for (const r of fresh)
    parts.push({
      id: r.id,
      owner: r.owner,
      side: r.side,
      price: r.price,
      lots: r.lots,
      rests: r.type === 'limit',
      fresh: true,
    })
  const auctionOrders: AuctionOrder[] = parts.map((p) => ({
    id: p.id,
    side: p.side,
    price: p.price === 0n ? undefined : p.price,
    size: p.lots,
  }))
  const ref = getOraclePrice(store, m.id, ctx.timeMs)?.price ?? getTop(store, m.id).lastPrice ?? undefined
  const res = clearBatch(auctionOrders, { referencePrice: ref })
  const filled = new Map<bigint, bigint>()
  if (res.price !== null) {
    const buys = res.fills.filter((f) => f.side === 'buy')
    const sells = res.fills.filter((f) => f.side === 'sell')
    // pair buys and sells in batch order; everyone trades at res.price, so pairing is bookkeeping
    let si = 0
    let sellLeft = sells[0]?.size ?? 0n
    for (const b of buys) {
      let need = b.size
      while (need > 0n) {
        const s = sells[si]!
        const lots = need < sellLeft ? need : sellLeft
        const br = mb.recs.get(b.id)!
        const sr = mb.recs.get(s.id)!
        // "taker" in an auction: the side that entered in this batch (buy when both or neither)
        mb.fill(br, sr, res.price, lots, sr.pending && !br.pending ? 'sell' : 'buy', 'auction')
        need -= lots
        sellLeft -= lots
        if (sellLeft === 0n) sellLeft = sells[++si]?.size ?? 0n
      }
    }
    for (const f of res.fills) filled.set(f.id, f.size)
    emit({
      type: 'exchange_auction',
      attributes: [
        { key: 'market', value: m.id },
        { key: 'price', value: res.price.toString() },
        { key: 'volume', value: res.volume.toString() },
      ],
    })
  }
  // rebuild: what is left of limit orders rests, in the same priority
  const book = newBook(m)
  const next = new MarketBatch(store, m, book, ctx, emit)
  next.lastPrice = mb.lastPrice
  mb.recs.flush()
  const activate = (id: bigint) => {
    const r = next.recs.get(id)!
    r.pending = false
    next.recs.set(r)
  }
  for (const p of parts) {
    const left = p.lots - (filled.get(p.id) ?? 0n)
    const touched = p.fresh || filled.has(p.id)
    if (touched) activate(p.id)
    if (left > 0n && p.rests) {
      const events = book.execute({
        kind: 'place',
        id: p.id,
        owner: p.owner,
        side: p.side,
        type: 'limit',
        price: p.price,
        size: left,
        stp: AUCTION_STP,
      })
      // an untouched order that simply rests again keeps its record (and lock) as it is
      if (touched || events.some((e) => e.type !== 'accepted' && e.type !== 'done')) next.settle(events, p.id)
    } else next.trim([p.id])
  }
  next.recs.flush()
  saveBook(store, m, book, next.lastPrice)
  publish(store, m, book, mb.trades, emit)
}

/** Levels of each side in the `exchange_book` event (the WebSocket book stream). */
const BOOK_EVENT_LEVELS = 10

/**
 * After a market's batch: its trades go to the history and candles, and one `exchange_book`
 * event carries the new top levels (the book-update stream is the events channel of this type).
 */
function publish(
  store: KVStore,
  m: Market,
  book: OrderBook,
  trades: Trade[],
  emit: (e: ChainEvent) => void,
): void {
  recordTrades(store, m.id, trades)
  const d = book.depth(BOOK_EVENT_LEVELS)
  const side = (ls: { price: bigint; size: bigint }[]) => ls.map((l) => `${l.price}:${l.size}`).join(',')
  const top = getTop(store, m.id)
  emit({
    type: 'exchange_book',
    attributes: [
      { key: 'market', value: m.id },
      { key: 'bids', value: side(d.bids) },
      { key: 'asks', value: side(d.asks) },
      { key: 'last_price', value: top.lastPrice === null ? '' : top.lastPrice.toString() },
      { key: 'trades', value: trades.length.toString() },
    ],
  })
}
