/**
 * Market data kept in state so every node answers the same and answers can be proved: the last
 * TRADES_KEPT trades of each market and OHLCV candles per interval (block time buckets). Both are
 * written once per market per batch, in SSZ (one value, one encoding).
 *
 *   06 0f <market>                             last trades, newest last
 *   06 10 <market> 00 <interval s u32> <bucket start ms u64>   one candle
 *
 * Candles older than CANDLES_KEPT buckets are deleted when a newer bucket of the same interval is
 * written, so the history per market is bounded whatever the block rate.
 */
import { concatBytes, decodeCanonical, ssz, u64be, utf8 } from '@pulsemesh/core'
import type { KVStore } from '../../state/kv.ts'
import { EXCHANGE_PREFIX } from './state.ts'

const { ContainerType, ListCompositeType } = ssz

export const TRADES_KEPT = 200
/** Candle intervals in seconds (1 minute, 1 hour, 1 day) and how many buckets of each are kept. */
export const CANDLE_INTERVALS = [60, 3600, 86_400] as const
export const CANDLES_KEPT = 1440

export type Venue = 'book' | 'pool' | 'auction'
const VENUES: readonly Venue[] = ['book', 'pool', 'auction']

export interface Trade {
  height: bigint
  timeMs: bigint
  /** Quote units per lot (pool trades: the average, floored). */
  price: bigint
  lots: bigint
  /** Quote units that changed hands (pool trades: exact; book: price × lots). */
  quote: bigint
  takerSide: 'buy' | 'sell'
  /** Order ids of both sides (0 = the pool). */
  buyOrder: bigint
  sellOrder: bigint
  venue: Venue
}

const TradeSSZ = new ContainerType({
  height: ssz.Uint64,
  timeMs: ssz.Uint64,
  price: ssz.Uint64,
  lots: ssz.Uint64,
  quote: ssz.Uint128,
  takerSide: ssz.Uint8,
  buyOrder: ssz.Uint64,
  sellOrder: ssz.Uint64,
  venue: ssz.Uint8,
})
const TradesSSZ = new ListCompositeType(TradeSSZ, TRADES_KEPT)
const TRADE_BYTES = 8 * 4 + 16 + 1 + 8 + 8 + 1

export interface Candle {
  open: bigint
  high: bigint
  low: bigint
  close: bigint
  volumeLots: bigint
  volumeQuote: bigint
  trades: number
}
const CandleSSZ = new ContainerType({
  open: ssz.Uint64,
  high: ssz.Uint64,
  low: ssz.Uint64,
  close: ssz.Uint64,
  volumeLots: ssz.Uint64,
  volumeQuote: ssz.Uint128,
  trades: ssz.Uint32,
})
const CANDLE_BYTES = 8 * 5 + 16 + 4

const tradesKey = (market: string) => concatBytes(new Uint8Array([EXCHANGE_PREFIX, 0x0f]), utf8(market))
function candleKey(market: string, interval: number, bucketMs: bigint): Uint8Array {
  const iv = new Uint8Array(4)
  new DataView(iv.buffer).setUint32(0, interval)
  return concatBytes(
    new Uint8Array([EXCHANGE_PREFIX, 0x10]),
    utf8(market),
    new Uint8Array([0]),
    iv,
    u64be(bucketMs),
  )
}

export function getTrades(store: KVStore, market: string): Trade[] {
  const raw = store.get(tradesKey(market))
  if (raw === undefined) return []
  return decodeCanonical(TradesSSZ, raw, TRADES_KEPT * TRADE_BYTES + 4 * TRADES_KEPT, 'trades').map((t) => ({
    ...t,
    takerSide: t.takerSide === 0 ? 'buy' : 'sell',
    venue: VENUES[t.venue] ?? 'book',
  }))
}

export function getCandle(
  store: KVStore,
  market: string,
  interval: number,
  bucketMs: bigint,
): Candle | undefined {
  const raw = store.get(candleKey(market, interval, bucketMs))
  return raw === undefined ? undefined : decodeCanonical(CandleSSZ, raw, CANDLE_BYTES, 'candle')
}

/** Appends a batch's trades to the market's history and candles (no-op for an empty batch). */
export function recordTrades(store: KVStore, market: string, trades: Trade[]): void {
  if (trades.length === 0) return
  const all = [...getTrades(store, market), ...trades].slice(-TRADES_KEPT)
  store.set(
    tradesKey(market),
    TradesSSZ.serialize(
      all.map((t) => ({ ...t, takerSide: t.takerSide === 'buy' ? 0 : 1, venue: VENUES.indexOf(t.venue) })),
    ),
  )
  for (const interval of CANDLE_INTERVALS) {
    const ms = BigInt(interval) * 1000n
    const touched = new Map<bigint, Candle>()
    for (const t of trades) {
      const bucket = t.timeMs - (t.timeMs % ms)
      let c = touched.get(bucket) ?? getCandle(store, market, interval, bucket)
      if (c === undefined)
        c = {
          open: t.price,
          high: t.price,
          low: t.price,
          close: t.price,
          volumeLots: 0n,
          volumeQuote: 0n,
          trades: 0,
        }
      c = {
        open: c.open,
        high: t.price > c.high ? t.price : c.high,
        low: t.price < c.low ? t.price : c.low,
        close: t.price,
        volumeLots: c.volumeLots + t.lots,
        volumeQuote: c.volumeQuote + t.quote,
        trades: Math.min(c.trades + 1, 0xffff_ffff),
      }
      touched.set(bucket, c)
    }
    for (const [bucket, c] of touched) {
      const k = candleKey(market, interval, bucket)
      if (store.get(k) === undefined) {
        // a new bucket: the one CANDLES_KEPT intervals back leaves (bounded history)
        const old = bucket - BigInt(CANDLES_KEPT) * ms
        if (old >= 0n) store.delete(candleKey(market, interval, old))
      }
      store.set(k, CandleSSZ.serialize(c))
    }
  }
}

/**
 * Candles of one interval, newest first, walking back from the bucket of the last trade: at most
 * `limit` non-empty candles among the last CANDLES_KEPT buckets.
 */
export function listCandles(
  store: KVStore,
  market: string,
  interval: number,
  limit: number,
): (Candle & { startMs: bigint })[] {
  const last = getTrades(store, market).at(-1)
  if (last === undefined) return []
  const ms = BigInt(interval) * 1000n
  const out: (Candle & { startMs: bigint })[] = []
  let bucket = last.timeMs - (last.timeMs % ms)
  for (let i = 0; i < CANDLES_KEPT && out.length < limit && bucket >= 0n; i++, bucket -= ms) {
    const c = getCandle(store, market, interval, bucket)
    if (c !== undefined) out.push({ ...c, startMs: bucket })
  }
  return out
}
