/**
 * The exchange module (prefix 0x06, tx kinds 0x0601..0x060c): markets between any two bank
 * assets with a price-time order book or a uniform-price batch auction per block, AMM pools with a
 * book/pool router for market orders, a validator price oracle and HTLC atomic swaps.
 *
 * Order txs only check, lock funds in ESCROW and queue; endBlock runs the block's batch
 * (batch.ts) in an order the proposer cannot steer, settles every fill through the bank ledger and
 * writes each touched book canonically to state, so the block's state root commits to the books.
 */
import { type ChainEvent, fromHex, toHex } from '@pulsemesh/core'
import { FEE_TIERS } from '@pulsemesh/exchange'
import { formatAddress, parseAccount } from '../../accounts.ts'
import type { AppModule, TxContext, TxKind } from '../../module.ts'
import type { KVStore } from '../../state/kv.ts'
import { requireAsset, transfer } from '../bank/ledger.ts'
import { loadBook, processBatch } from './batch.ts'
import { CANDLES_KEPT, getTrades, listCandles, TRADES_KEPT } from './history.ts'
import { getHtlc, htlcClaim, htlcLock, htlcRefund } from './htlc.ts'
import {
  aggregateOracles,
  DEFAULT_ORACLE_CONFIG,
  currentOracleValidators,
  getOracleRecord,
  initOracleSet,
  type OracleConfig,
  type OracleValidatorSource,
  submitReport,
} from './oracle.ts'
import {
  codec,
  type CreateMarketPayload,
  type HtlcClaimPayload,
  type HtlcLockPayload,
  type HtlcRefundPayload,
  type OracleSubmitPayload,
  type PlaceOrderPayload,
  type PoolAddPayload,
  type PoolCreatePayload,
  type PoolRemovePayload,
  type PoolSwapPayload,
  type ReplaceOrderPayload,
  type CancelOrderPayload,
} from './payloads.ts'
import {
  marketPools,
  type PoolRecord,
  poolAdd,
  poolCreate,
  poolRemove,
  poolSwap,
  poolTiers,
  requirePool,
} from './pools.ts'
import {
  addOwnerOrder,
  ESCROW,
  EXCHANGE_PREFIX,
  ExchangeError,
  enqueue,
  getMarket,
  getOrder,
  getTop,
  listMarkets,
  listOwnerOrders,
  lockOf,
  type Market,
  type OrderRecord,
  marketId,
  orderIdOf,
  putMarket,
  putOrder,
  requireMarket,
} from './state.ts'

export * from './batch.ts'
export * from './history.ts'
export * from './htlc.ts'
export * from './oracle.ts'
export * from './payloads.ts'
export * from './pools.ts'
export * from './records.ts'
export * from './state.ts'

export const EXCHANGE_KIND = {
  createMarket: 0x0601,
  place: 0x0602,
  cancel: 0x0603,
  replace: 0x0604,
  poolCreate: 0x0605,
  poolAdd: 0x0606,
  poolRemove: 0x0607,
  poolSwap: 0x0608,
  oracleSubmit: 0x0609,
  htlcLock: 0x060a,
  htlcClaim: 0x060b,
  htlcRefund: 0x060c,
} as const

const MAX_SAFE = 2n ** 53n - 1n
const DEFAULT_MAX_LOTS = 2n ** 33n - 1n

function ev(ctx: TxContext, type: string, attrs: Record<string, string>): void {
  ctx.emit({ type, attributes: Object.entries(attrs).map(([key, value]) => ({ key, value })) })
}
const addr = (ctx: TxContext, id: Uint8Array): string => formatAddress(id, ctx.params.addressPrefix)

/** Checks a limit price and a size (base units) against the market; returns the size in lots. */
function checkPriceSize(m: Market, price: bigint, size: bigint, priceRequired: boolean): bigint {
  if (price === 0n && priceRequired) throw new ExchangeError('PRICE_NOT_POSITIVE', 'price must be positive')
  if (price > 0n) {
    if (price % m.tickSize !== 0n)
      throw new ExchangeError('PRICE_OFF_TICK', `price ${price} is not a multiple of tick ${m.tickSize}`, {
        tickSize: m.tickSize.toString(),
      })
    if (price > m.maxPrice) throw new ExchangeError('PRICE_TOO_HIGH', `price above ${m.maxPrice}`)
  }
  if (size === 0n) throw new ExchangeError('SIZE_NOT_POSITIVE', 'size must be positive')
  if (size % m.lotSize !== 0n)
    throw new ExchangeError('SIZE_OFF_LOT', `size ${size} is not a multiple of lot ${m.lotSize}`, {
      lotSize: m.lotSize.toString(),
    })
  const lots = size / m.lotSize
  if (lots > m.maxLots) throw new ExchangeError('SIZE_TOO_LARGE', `size above ${m.maxLots} lots`)
  return lots
}

const createMarketKind: TxKind<CreateMarketPayload> = {
  kind: EXCHANGE_KIND.createMarket,
  name: 'exchange/create-market',
  ...codec.createMarket,
  execute(store, ctx, p) {
    const bad = (why: string) => new ExchangeError('INVALID_MARKET', why)
    if (p.base === p.quote) throw bad('base and quote must differ')
    requireAsset(store, p.base)
    requireAsset(store, p.quote)
    const maxPrice = p.maxPrice === 0n ? MAX_SAFE : p.maxPrice
    const maxLots = p.maxLots === 0n ? DEFAULT_MAX_LOTS : p.maxLots
    if (p.tickSize < 1n || p.lotSize < 1n) throw bad('tick and lot sizes must be at least 1')
    if (maxPrice < p.tickSize || maxPrice > MAX_SAFE) throw bad('maxPrice must be in [tickSize, 2^53-1]')
    if (maxLots > DEFAULT_MAX_LOTS) throw bad('maxLots must be at most 2^33-1')
    const id = marketId(p.base, p.quote)
    if (getMarket(store, id) !== undefined) throw new ExchangeError('MARKET_EXISTS', `market ${id} exists`)
    putMarket(store, {
      id,
      base: p.base,
      quote: p.quote,
      tickSize: p.tickSize,
      lotSize: p.lotSize,
      mode: p.mode,
      maxPrice,
      maxLots,
    })
    ev(ctx, 'market_created', { market: id, mode: p.mode, creator: addr(ctx, ctx.sender) })
  },
}

const placeKind: TxKind<PlaceOrderPayload> = {
  kind: EXCHANGE_KIND.place,
  name: 'exchange/place-order',
  ...codec.place,
  execute(store, ctx, p) {
    const m = requireMarket(store, p.market)
    if (m.mode === 'auction' && (p.type === 'fok' || p.type === 'post-only'))
      throw new ExchangeError('ORDER_TYPE_UNSUPPORTED', `${p.type} orders do not exist in an auction market`)
    if (p.type === 'market' && p.side === 'buy' && p.price === 0n)
      throw new ExchangeError(
        'MARKET_BUY_NEEDS_PRICE_LIMIT',
        'a market buy needs a worst price (it bounds the lock)',
      )
    const lots = checkPriceSize(m, p.price, p.size, p.type !== 'market')
    if (p.type === 'post-only') {
      const top = getTop(store, m.id)
      const opp = p.side === 'buy' ? top.bestAsk : top.bestBid
      if (opp !== null && (p.side === 'buy' ? p.price >= opp : p.price <= opp))
        throw new ExchangeError(
          'POST_ONLY_WOULD_CROSS',
          `post-only ${p.side} at ${p.price} would cross ${opp}`,
        )
    }
    const id = orderIdOf(ctx.txHash)
    if (getOrder(store, id) !== undefined)
      throw new ExchangeError('DUPLICATE_ORDER_ID', `order id ${id} is live`)
    const [asset, amount] = lockOf(m, p.side, p.price, lots)
    addOwnerOrder(store, toHex(ctx.sender), id)
    transfer(store, ctx.sender, ESCROW, asset, amount)
    putOrder(store, {
      id,
      market: m.id,
      owner: toHex(ctx.sender),
      side: p.side,
      type: p.type,
      price: p.price,
      lots,
      stp: p.stp,
      locked: amount,
      pending: true,
      txHash: ctx.txHash,
    })
    enqueue(store, { op: 'place', market: m.id, id: id.toString(), txHash: ctx.txHash })
    ev(ctx, 'order_queued', {
      market: m.id,
      order: id.toString(),
      side: p.side,
      type: p.type,
      locked: amount.toString(),
    })
  },
}

/** The resting order `id` of the sender, or the reason it cannot be touched. */
function ownedResting(store: KVStore, ctx: TxContext, id: bigint) {
  const r = getOrder(store, id)
  if (r === undefined) throw new ExchangeError('UNKNOWN_ORDER', `no live order ${id}`)
  if (r.owner !== toHex(ctx.sender))
    throw new ExchangeError('NOT_ORDER_OWNER', `order ${id} belongs to someone else`)
  if (r.pending) throw new ExchangeError('ORDER_NOT_RESTING', `order ${id} is still in this block's batch`)
  return r
}

const cancelKind: TxKind<CancelOrderPayload> = {
  kind: EXCHANGE_KIND.cancel,
  name: 'exchange/cancel-order',
  ...codec.cancel,
  execute(store, ctx, p) {
    const r = ownedResting(store, ctx, p.orderId)
    enqueue(store, {
      op: 'cancel',
      market: r.market,
      id: r.id.toString(),
      txHash: ctx.txHash,
      owner: r.owner,
    })
    ev(ctx, 'cancel_queued', { market: r.market, order: r.id.toString() })
  },
}

const replaceKind: TxKind<ReplaceOrderPayload> = {
  kind: EXCHANGE_KIND.replace,
  name: 'exchange/replace-order',
  ...codec.replace,
  execute(store, ctx, p) {
    const r = ownedResting(store, ctx, p.orderId)
    const m = requireMarket(store, r.market)
    const lots = checkPriceSize(m, p.price, p.size, true)
    // the new order's funds are locked in full now; the batch releases what is not needed
    const [asset, extra] = lockOf(m, r.side, p.price, lots)
    transfer(store, ctx.sender, ESCROW, asset, extra)
    enqueue(store, {
      op: 'replace',
      market: r.market,
      id: r.id.toString(),
      txHash: ctx.txHash,
      owner: r.owner,
      price: p.price.toString(),
      lots: lots.toString(),
      extra: extra.toString(),
      asset,
    })
    ev(ctx, 'replace_queued', { market: r.market, order: r.id.toString() })
  },
}

const poolCreateKind: TxKind<PoolCreatePayload> = {
  kind: EXCHANGE_KIND.poolCreate,
  name: 'exchange/pool-create',
  ...codec.poolCreate,
  execute(store, ctx, p) {
    if (!FEE_TIERS.includes(BigInt(p.feeBps)))
      throw new ExchangeError('POOL_ERROR', `fee ${p.feeBps} bps is not a tier`)
    const r = poolCreate(store, ctx.sender, p.market, BigInt(p.feeBps), p.base, p.quote)
    ev(ctx, 'pool_created', {
      market: p.market,
      pool: r.id,
      fee_bps: p.feeBps.toString(),
      lp_asset: r.lpAsset,
      shares: r.shares.toString(),
    })
  },
}
const poolAddKind: TxKind<PoolAddPayload> = {
  kind: EXCHANGE_KIND.poolAdd,
  name: 'exchange/pool-add',
  ...codec.poolAdd,
  execute(store, ctx, p) {
    const r = poolAdd(store, ctx.sender, p.market, p.base, p.quote, p.minShares)
    ev(ctx, 'pool_add', {
      market: p.market,
      shares: r.shares.toString(),
      base: r.base.toString(),
      quote: r.quote.toString(),
    })
  },
}
const poolRemoveKind: TxKind<PoolRemovePayload> = {
  kind: EXCHANGE_KIND.poolRemove,
  name: 'exchange/pool-remove',
  ...codec.poolRemove,
  execute(store, ctx, p) {
    const r = poolRemove(store, ctx.sender, p.market, p.shares, p.minBase, p.minQuote)
    ev(ctx, 'pool_remove', { market: p.market, base: r.base.toString(), quote: r.quote.toString() })
  },
}
const poolSwapKind: TxKind<PoolSwapPayload> = {
  kind: EXCHANGE_KIND.poolSwap,
  name: 'exchange/pool-swap',
  ...codec.poolSwap,
  execute(store, ctx, p) {
    const r = poolSwap(store, ctx.sender, p.market, p.direction, p.amountIn, p.minOut)
    ev(ctx, 'pool_swap', {
      market: p.market,
      direction: p.direction,
      in: p.amountIn.toString(),
      out: r.amountOut.toString(),
    })
  },
}

const htlcLockKind: TxKind<HtlcLockPayload> = {
  kind: EXCHANGE_KIND.htlcLock,
  name: 'exchange/htlc-lock',
  ...codec.htlcLock,
  execute(store, ctx, p) {
    htlcLock(store, ctx.height, {
      id: ctx.txHash,
      sender: toHex(ctx.sender),
      recipient: toHex(p.recipient),
      asset: p.asset,
      amount: p.amount,
      hashlock: toHex(p.hashlock),
      timeoutHeight: p.timeoutHeight,
    })
    ev(ctx, 'htlc_locked', {
      swap: ctx.txHash,
      sender: addr(ctx, ctx.sender),
      recipient: addr(ctx, p.recipient),
      hashlock: toHex(p.hashlock),
      timeout_height: p.timeoutHeight.toString(),
    })
  },
}
const htlcClaimKind: TxKind<HtlcClaimPayload> = {
  kind: EXCHANGE_KIND.htlcClaim,
  name: 'exchange/htlc-claim',
  ...codec.htlcClaim,
  execute(store, ctx, p) {
    const h = htlcClaim(store, ctx.height, toHex(p.swapId), p.preimage, toHex(ctx.sender))
    ev(ctx, 'htlc_claimed', {
      swap: h.id,
      recipient: addr(ctx, fromHex(h.recipient)),
      preimage: toHex(p.preimage),
    })
  },
}
const htlcRefundKind: TxKind<HtlcRefundPayload> = {
  kind: EXCHANGE_KIND.htlcRefund,
  name: 'exchange/htlc-refund',
  ...codec.htlcRefund,
  execute(store, ctx, p) {
    const h = htlcRefund(store, ctx.height, toHex(p.swapId), toHex(ctx.sender))
    ev(ctx, 'htlc_refunded', { swap: h.id, sender: addr(ctx, fromHex(h.sender)) })
  },
}

export interface ExchangeModuleOptions {
  /** Who may submit oracle prices and with what weight (default: staking's active set, else genesis). */
  oracleValidators?: OracleValidatorSource
  oracle?: OracleConfig
}

const str = (v: bigint | null | undefined) => (v === null || v === undefined ? null : v.toString())
function marketView(store: KVStore, m: Market) {
  const top = getTop(store, m.id)
  return {
    id: m.id,
    base: m.base,
    quote: m.quote,
    tickSize: m.tickSize.toString(),
    lotSize: m.lotSize.toString(),
    mode: m.mode,
    maxPrice: m.maxPrice.toString(),
    maxLots: m.maxLots.toString(),
    bestBid: str(top.bestBid),
    bestAsk: str(top.bestAsk),
    lastPrice: str(top.lastPrice),
    pool: poolTiers(store, m.id).length > 0,
    poolFeeTiers: poolTiers(store, m.id).map(String),
  }
}
function orderView(store: KVStore, r: OrderRecord, prefix: string) {
  const m = requireMarket(store, r.market)
  return {
    id: r.id.toString(),
    market: r.market,
    owner: formatAddress(fromHex(r.owner), prefix),
    side: r.side,
    type: r.type,
    price: r.price.toString(),
    lots: r.lots.toString(),
    resting: r.pending ? '0' : (loadBook(store, m).order(r.id)?.size ?? 0n).toString(),
    locked: r.locked.toString(),
    pending: r.pending,
  }
}
/** A optional decimal query argument in [1, max] (default when absent). */
function boundedInt(v: string | undefined, dflt: number, max: number): number {
  if (v === undefined || v === '') return dflt
  if (!/^[0-9]{1,7}$/.test(v) || Number(v) < 1)
    throw new ExchangeError('INVALID_MARKET', `limit must be an integer in [1, ${max}]`)
  return Math.min(Number(v), max)
}
function poolView(p: PoolRecord) {
  return {
    id: p.id,
    market: p.market,
    reserveBase: p.reserveBase.toString(),
    reserveQuote: p.reserveQuote.toString(),
    totalShares: p.totalShares.toString(),
    feeBps: p.feeBps.toString(),
    lpAsset: p.lpAsset,
    /** Marginal price in quote units per base unit, as a decimal string with 9 places (display only). */
    price: p.reserveBase === 0n ? null : decimal9((p.reserveQuote * 10n ** 9n) / p.reserveBase),
  }
}
const decimal9 = (x: bigint) => `${x / 10n ** 9n}.${(x % 10n ** 9n).toString().padStart(9, '0')}`
function needArg(args: Record<string, string>, k: string): string {
  const v = args[k]
  if (v === undefined || v === '')
    throw new ExchangeError('INVALID_MARKET', `query argument ${k} is required`)
  return v
}
function parseUint(s: string, what: string): bigint {
  if (!/^[0-9]{1,20}$/.test(s)) throw new ExchangeError('UNKNOWN_ORDER', `${what} must be a decimal integer`)
  return BigInt(s)
}

export function createExchangeModule(opts: ExchangeModuleOptions = {}): AppModule {
  const source = opts.oracleValidators ?? currentOracleValidators
  const oracleCfg = opts.oracle ?? DEFAULT_ORACLE_CONFIG

  const oracleSubmitKind: TxKind<OracleSubmitPayload> = {
    kind: EXCHANGE_KIND.oracleSubmit,
    name: 'exchange/oracle-submit',
    ...codec.oracleSubmit,
    execute(store, ctx, p) {
      const sender = toHex(ctx.sender)
      // the validator's consensus-key account, or its operator account, reports for it
      const v = source(store).find((x) => (x.account === sender || x.operator === sender) && x.power > 0n)
      if (v === undefined)
        throw new ExchangeError('NOT_ORACLE_VALIDATOR', 'only active validators may submit oracle prices')
      const me = v.account
      if (p.price === 0n) throw new ExchangeError('PRICE_NOT_POSITIVE', 'price must be positive')
      // printable, no 0x00: symbols are key suffixes (see state.ts, pieces)
      if (!/^[A-Za-z0-9/_.:-]{1,129}$/.test(p.symbol))
        throw new ExchangeError('INVALID_MARKET', 'symbol must be 1-129 characters of [A-Za-z0-9/_.:-]')
      submitReport(store, p.symbol, me, p.price, ctx.timeMs)
      ev(ctx, 'oracle_report', {
        symbol: p.symbol,
        validator: addr(ctx, fromHex(me)),
        price: p.price.toString(),
      })
    },
  }

  return {
    name: 'exchange',
    prefix: EXCHANGE_PREFIX,
    txKinds: [
      createMarketKind,
      placeKind,
      cancelKind,
      replaceKind,
      poolCreateKind,
      poolAddKind,
      poolRemoveKind,
      poolSwapKind,
      oracleSubmitKind,
      htlcLockKind,
      htlcClaimKind,
      htlcRefundKind,
    ],
    initGenesis(store, g) {
      initOracleSet(store, g)
    },
    endBlock(store, ctx, emit: (e: ChainEvent) => void) {
      aggregateOracles(store, ctx.height, ctx.timeMs, source, oracleCfg, emit)
      processBatch(store, ctx, emit)
    },
    queries: {
      markets(store) {
        return listMarkets(store).map((id) => marketView(store, requireMarket(store, id)))
      },
      market(store, args) {
        return marketView(store, requireMarket(store, needArg(args, 'market')))
      },
      book(store, args) {
        const m = requireMarket(store, needArg(args, 'market'))
        const levels = Math.min(Number(args.levels ?? 50) || 50, 1000)
        const d = loadBook(store, m).depth(levels)
        const lv = (l: { price: bigint; size: bigint }) => ({
          price: l.price.toString(),
          lots: l.size.toString(),
        })
        return { market: m.id, bids: d.bids.map(lv), asks: d.asks.map(lv) }
      },
      order(store, args, ctx) {
        const r = getOrder(store, parseUint(needArg(args, 'id'), 'id'))
        if (r === undefined) throw new ExchangeError('UNKNOWN_ORDER', `no live order ${args.id}`)
        return orderView(store, r, ctx.params.addressPrefix)
      },
      /** One pool: `market=<base:quote@feeBps>` (or a bare market with exactly one pool). */
      pool(store, args) {
        return poolView(requirePool(store, needArg(args, 'market')))
      },
      /** Every pool (fee tier) of a market. */
      pools(store, args) {
        const m = requireMarket(store, needArg(args, 'market'))
        return { market: m.id, pools: marketPools(store, m.id).map(poolView) }
      },
      price(store, args, ctx) {
        const symbol = needArg(args, 'symbol')
        const r = getOracleRecord(store, symbol)
        if (r === undefined) return { symbol, price: null }
        return {
          symbol,
          price: r.price.toString(),
          timeMs: r.timeMs.toString(),
          height: r.height.toString(),
          ageBlocks: (ctx.height - r.height).toString(),
          maxAgeMs: oracleCfg.maxAgeMs.toString(),
        }
      },
      swap(store, args, ctx) {
        const h = getHtlc(store, needArg(args, 'id'))
        if (h === undefined) throw new ExchangeError('UNKNOWN_SWAP', `no open swap ${args.id}`)
        return {
          id: h.id,
          sender: formatAddress(fromHex(h.sender), ctx.params.addressPrefix),
          recipient: formatAddress(fromHex(h.recipient), ctx.params.addressPrefix),
          asset: h.asset,
          amount: h.amount.toString(),
          hashlock: h.hashlock,
          timeoutHeight: h.timeoutHeight.toString(),
          expired: ctx.height > h.timeoutHeight,
        }
      },
      /** Open orders and the funds they lock, of one account. */
      positions(store, args, ctx) {
        const owner = parseAccount(needArg(args, 'owner'), ctx.params.addressPrefix)
        const locked = new Map<string, bigint>()
        const orders = listOwnerOrders(store, toHex(owner)).map((id) => {
          const v = orderView(store, getOrder(store, id)!, ctx.params.addressPrefix)
          const m = requireMarket(store, v.market)
          const asset = v.side === 'buy' ? m.quote : m.base
          locked.set(asset, (locked.get(asset) ?? 0n) + BigInt(v.locked))
          return v
        })
        return {
          owner: formatAddress(owner, ctx.params.addressPrefix),
          orders,
          locked: Object.fromEntries(
            [...locked].sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([a, n]) => [a, n.toString()]),
          ),
        }
      },
      /** The market's last trades, newest first (at most TRADES_KEPT are kept). */
      trades(store, args) {
        const m = requireMarket(store, needArg(args, 'market'))
        const limit = boundedInt(args.limit, 50, TRADES_KEPT)
        return {
          market: m.id,
          trades: getTrades(store, m.id)
            .slice(-limit)
            .reverse()
            .map((t) => ({
              height: t.height.toString(),
              timeMs: t.timeMs.toString(),
              price: t.price.toString(),
              lots: t.lots.toString(),
              quote: t.quote.toString(),
              takerSide: t.takerSide,
              buyOrder: t.buyOrder.toString(),
              sellOrder: t.sellOrder.toString(),
              venue: t.venue,
            })),
        }
      },
      /** OHLCV candles (interval 1m, 1h or 1d; block-time buckets), newest first. */
      candles(store, args) {
        const m = requireMarket(store, needArg(args, 'market'))
        const names: Record<string, number> = { '1m': 60, '1h': 3600, '1d': 86_400 }
        const interval = names[args.interval ?? '1m']
        if (interval === undefined) throw new ExchangeError('INVALID_MARKET', 'interval must be 1m, 1h or 1d')
        const limit = boundedInt(args.limit, 100, CANDLES_KEPT)
        return {
          market: m.id,
          interval: args.interval ?? '1m',
          candles: listCandles(store, m.id, interval, limit).map((c) => ({
            startMs: c.startMs.toString(),
            open: c.open.toString(),
            high: c.high.toString(),
            low: c.low.toString(),
            close: c.close.toString(),
            volumeLots: c.volumeLots.toString(),
            volumeQuote: c.volumeQuote.toString(),
            trades: c.trades,
          })),
        }
      },
      oracleValidators(store, _args, ctx) {
        return source(store).map((v) => ({
          address: formatAddress(fromHex(v.account), ctx.params.addressPrefix),
          ...(v.operator === undefined
            ? {}
            : { operator: formatAddress(fromHex(v.operator), ctx.params.addressPrefix) }),
          power: v.power.toString(),
        }))
      },
    },
  }
}

/** The module with the current validator set (staking, else genesis) as the oracle set. */
export const exchangeModule: AppModule = createExchangeModule()
