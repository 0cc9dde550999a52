/**
 * The on-chain exchange from a client: payload builders for every exchange tx (sign them with
 * `signTx`), typed reads over the module query route, and book/trade streams over `PulseStream`.
 * Units are the chain's: sizes in base units (multiples of the lot), prices in quote units per lot.
 */
import { EXCHANGE_KIND, exchange } from '@pulsemesh/app'
import type { PulseClient } from './client.ts'
import type { PulseStream, StreamMessage } from './stream.ts'

export { EXCHANGE_KIND }
const { codec } = exchange

export interface PlaceOrder {
  market: string
  side: 'buy' | 'sell'
  type?: exchange.OrderKind
  /** Quote units per lot; market orders: the worst accepted price (required for buys). */
  price?: bigint
  /** Base units, a multiple of the market's lot. */
  size: bigint
  stp?: exchange.StpName
}

/** Payload builders: `signTx(signer, env, EXCHANGE_KIND.place, exchangePayloads.place({...}))`. */
export const exchangePayloads = {
  createMarket: (p: {
    base: string
    quote: string
    tickSize: bigint
    lotSize: bigint
    mode?: exchange.MarketMode
  }): Uint8Array => codec.createMarket.encode({ mode: 'continuous', maxPrice: 0n, maxLots: 0n, ...p }),
  place: (p: PlaceOrder): Uint8Array =>
    codec.place.encode({
      market: p.market,
      side: p.side,
      type: p.type ?? 'limit',
      price: p.price ?? 0n,
      size: p.size,
      stp: p.stp ?? 'cancel-newest',
    }),
  cancel: (orderId: bigint): Uint8Array => codec.cancel.encode({ orderId }),
  replace: (orderId: bigint, price: bigint, size: bigint): Uint8Array =>
    codec.replace.encode({ orderId, price, size }),
  poolCreate: (market: string, feeBps: number, base: bigint, quote: bigint): Uint8Array =>
    codec.poolCreate.encode({ market, feeBps, base, quote }),
  poolAdd: (pool: string, base: bigint, quote: bigint, minShares = 0n): Uint8Array =>
    codec.poolAdd.encode({ market: pool, base, quote, minShares }),
  poolRemove: (pool: string, shares: bigint, minBase = 0n, minQuote = 0n): Uint8Array =>
    codec.poolRemove.encode({ market: pool, shares, minBase, minQuote }),
  poolSwap: (pool: string, direction: 'sell-base' | 'buy-base', amountIn: bigint, minOut = 0n): Uint8Array =>
    codec.poolSwap.encode({ market: pool, direction, amountIn, minOut }),
  oracleSubmit: (symbol: string, price: bigint): Uint8Array => codec.oracleSubmit.encode({ symbol, price }),
  htlcLock: (p: {
    recipient: Uint8Array
    asset: string
    amount: bigint
    hashlock: Uint8Array
    timeoutHeight: bigint
  }): Uint8Array => codec.htlcLock.encode(p),
  htlcClaim: (swapId: Uint8Array, preimage: Uint8Array): Uint8Array =>
    codec.htlcClaim.encode({ swapId, preimage }),
  htlcRefund: (swapId: Uint8Array): Uint8Array => codec.htlcRefund.encode({ swapId }),
}

/** Shorthands of `exchangePayloads` (used by the web dashboard). */
export const placeOrderPayload = exchangePayloads.place
export const cancelOrderPayload = exchangePayloads.cancel
export const createMarketPayload = (p: {
  base: string
  quote: string
  tickSize?: bigint
  lotSize?: bigint
  mode?: exchange.MarketMode
}): Uint8Array => exchangePayloads.createMarket({ tickSize: 1n, lotSize: 1n, ...p })

/** The id the chain gives an order: the first 52 bits of its placing tx hash. */
export const orderIdOf = (txHashHex: string): bigint => exchange.orderIdOf(txHashHex)

export interface MarketView {
  id: string
  base: string
  quote: string
  tickSize: string
  lotSize: string
  mode: 'continuous' | 'auction'
  maxPrice: string
  maxLots: string
  bestBid: string | null
  bestAsk: string | null
  lastPrice: string | null
  pool: boolean
  poolFeeTiers: string[]
}
export interface OrderView {
  id: string
  market: string
  owner: string
  side: 'buy' | 'sell'
  type: exchange.OrderKind
  price: string
  lots: string
  resting: string
  locked: string
  pending: boolean
}
export interface TradeView {
  height: string
  timeMs: string
  price: string
  lots: string
  quote: string
  takerSide: 'buy' | 'sell'
  buyOrder: string
  sellOrder: string
  venue: 'book' | 'pool' | 'auction'
}
export interface CandleView {
  startMs: string
  open: string
  high: string
  low: string
  close: string
  volumeLots: string
  volumeQuote: string
  trades: number
}
export interface PoolView {
  id: string
  market: string
  reserveBase: string
  reserveQuote: string
  totalShares: string
  feeBps: string
  lpAsset: string
  price: string | null
}
export interface BookUpdate {
  market: string
  height: string
  bids: { price: string; lots: string }[]
  asks: { price: string; lots: string }[]
  lastPrice: string | null
}

/** Typed reads of the exchange module of one network. */
export class ExchangeClient {
  private readonly c: PulseClient
  private readonly network: string
  constructor(client: PulseClient, network: string) {
    this.c = client
    this.network = network
  }

  private async q<T>(name: string, args: Record<string, string> = {}): Promise<T> {
    const qs = new URLSearchParams(args).toString()
    const r = await this.c.request<{ result: T }>(
      'GET',
      `/v1/networks/${encodeURIComponent(this.network)}/modules/exchange/${name}${qs ? `?${qs}` : ''}`,
    )
    return r.result
  }

  markets() {
    return this.q<MarketView[]>('markets')
  }
  market(market: string) {
    return this.q<MarketView>('market', { market })
  }
  /** Aggregated depth, best first. */
  book(market: string, levels = 50) {
    return this.q<{
      market: string
      bids: { price: string; lots: string }[]
      asks: { price: string; lots: string }[]
    }>('book', { market, levels: String(levels) })
  }
  order(id: bigint | string) {
    return this.q<OrderView>('order', { id: String(id) })
  }
  /** Open orders of an account and the funds they lock, per asset. */
  positions(owner: string) {
    return this.q<{ owner: string; orders: OrderView[]; locked: Record<string, string> }>('positions', {
      owner,
    })
  }
  trades(market: string, limit = 50) {
    return this.q<{ market: string; trades: TradeView[] }>('trades', { market, limit: String(limit) })
  }
  candles(market: string, interval: '1m' | '1h' | '1d' = '1m', limit = 100) {
    return this.q<{ market: string; interval: string; candles: CandleView[] }>('candles', {
      market,
      interval,
      limit: String(limit),
    })
  }
  /** `market@feeBps`, or a market with one pool. */
  pool(pool: string) {
    return this.q<PoolView>('pool', { market: pool })
  }
  pools(market: string) {
    return this.q<{ market: string; pools: PoolView[] }>('pools', { market })
  }
  /** The oracle price of a symbol (null before the first accepted aggregation). */
  price(symbol: string) {
    return this.q<{ symbol: string; price: string | null; timeMs?: string; height?: string }>('price', {
      symbol,
    })
  }
  swap(id: string) {
    return this.q<{
      id: string
      sender: string
      recipient: string
      asset: string
      amount: string
      hashlock: string
      timeoutHeight: string
      expired: boolean
    }>('swap', { id })
  }
  oracleValidators() {
    return this.q<{ address: string; power: string; operator?: string }[]>('oracleValidators')
  }
}

const attrs = (m: StreamMessage): Record<string, string> => {
  const ev = m.event as { attributes: { key: string; value: string }[] }
  return Object.fromEntries(ev.attributes.map((a) => [a.key, a.value]))
}
const levels = (s: string | undefined) =>
  s
    ? s.split(',').map((x) => {
        const [price, lots] = x.split(':')
        return { price: price!, lots: lots! }
      })
    : []

/** Top-of-book updates of one market (one per block whose batch touched it). Returns the subscription id. */
export function subscribeBook(
  stream: PulseStream,
  network: string,
  market: string,
  on: (u: BookUpdate) => void,
): string {
  return stream.subscribe({ channel: 'events', network, eventType: 'exchange_book' }, (m) => {
    const a = attrs(m)
    if (a.market !== market) return
    on({
      market,
      height: m.height,
      bids: levels(a.bids),
      asks: levels(a.asks),
      lastPrice: a.last_price ? a.last_price : null,
    })
  })
}

/** Book fills of one market as they commit (pool legs come as `exchange_pool_fill`). */
export function subscribeTrades(
  stream: PulseStream,
  network: string,
  market: string,
  on: (t: { height: string; buyOrder: string; sellOrder: string; price: string; lots: string }) => void,
): string {
  return stream.subscribe({ channel: 'events', network, eventType: 'exchange_fill' }, (m) => {
    const a = attrs(m)
    if (a.market !== market) return
    on({ height: m.height, buyOrder: a.buy_order!, sellOrder: a.sell_order!, price: a.price!, lots: a.lots! })
  })
}
