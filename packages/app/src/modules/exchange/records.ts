/**
 * SSZ encodings of every exchange state record: one value has exactly one encoding, so the state
 * root depends on the values only. Decoding goes through core's `decodeCanonical` (size limit
 * first, typed DecodeError on malformed or non-canonical bytes), so a corrupt record surfaces as
 * DECODE_* rather than a wrong value. Optional prices are u64 with 0 = none (prices are > 0).
 */
import { decodeCanonical, ssz } from '@pulsemesh/core'

const { ByteListType, ContainerType, ListCompositeType } = ssz

/** `base:quote` (two asset ids of at most 64 bytes) or an oracle symbol. */
export const MarketIdSSZ = new ByteListType(129)
/** `base:quote@feeBps`. */
export const PoolIdSSZ = new ByteListType(136)

/** Upper bound of the books and lists below (the engine's maxOpenOrders default is 2^20). */
const LIST_MAX = 1 << 20

export const MarketRecordSSZ = new ContainerType({
  base: ssz.AssetIdSSZ,
  quote: ssz.AssetIdSSZ,
  tickSize: ssz.Uint64,
  lotSize: ssz.Uint64,
  mode: ssz.Uint8,
  maxPrice: ssz.Uint64,
  maxLots: ssz.Uint64,
})
export const MarketListSSZ = new ListCompositeType(MarketIdSSZ, LIST_MAX)

export const BookEntrySSZ = new ContainerType({
  id: ssz.Uint64,
  owner: ssz.Bytes20,
  price: ssz.Uint64,
  lots: ssz.Uint64,
})
/** Resting orders in priority: bids best-first, then asks best-first, FIFO inside a level. */
export const BookSSZ = new ContainerType({
  bids: new ListCompositeType(BookEntrySSZ, LIST_MAX),
  asks: new ListCompositeType(BookEntrySSZ, LIST_MAX),
})

export const TopSSZ = new ContainerType({ bestBid: ssz.Uint64, bestAsk: ssz.Uint64, lastPrice: ssz.Uint64 })

export const OrderRecordSSZ = new ContainerType({
  market: MarketIdSSZ,
  owner: ssz.Bytes20,
  side: ssz.Uint8,
  type: ssz.Uint8,
  price: ssz.Uint64,
  lots: ssz.Uint64,
  stp: ssz.Uint8,
  locked: ssz.Uint128,
  pending: ssz.Uint8,
  txHash: ssz.Bytes32,
})

/** One queued batch entry; fields an op does not use are zero. */
export const PendingSSZ = new ContainerType({
  op: ssz.Uint8,
  market: MarketIdSSZ,
  id: ssz.Uint64,
  txHash: ssz.Bytes32,
  owner: ssz.Bytes20,
  price: ssz.Uint64,
  lots: ssz.Uint64,
  extra: ssz.Uint128,
  asset: ssz.AssetIdSSZ,
})

export const PoolRecordSSZ = new ContainerType({
  reserveBase: ssz.Uint128,
  reserveQuote: ssz.Uint128,
  totalShares: ssz.Uint128,
  feeBps: ssz.Uint16,
  lpAsset: ssz.AssetIdSSZ,
})

export const HtlcSSZ = new ContainerType({
  sender: ssz.Bytes20,
  recipient: ssz.Bytes20,
  asset: ssz.AssetIdSSZ,
  amount: ssz.Uint128,
  hashlock: ssz.Bytes32,
  timeoutHeight: ssz.Uint64,
})

/** Oracle: reports per symbol (one per validator, by account), the aggregated price, the set. */
const ORACLE_SET_MAX = 10_000
export const ReportsSSZ = new ListCompositeType(
  new ContainerType({ validator: ssz.Bytes20, price: ssz.Uint64, timestamp: ssz.Uint64 }),
  ORACLE_SET_MAX,
)
export const OraclePriceSSZ = new ContainerType({ price: ssz.Uint64, timeMs: ssz.Uint64, height: ssz.Uint64 })
export const SymbolListSSZ = new ListCompositeType(MarketIdSSZ, LIST_MAX)
export const OracleSetSSZ = new ListCompositeType(
  new ContainerType({ account: ssz.Bytes20, power: ssz.Uint64 }),
  ORACLE_SET_MAX,
)

/** Largest accepted encoding of a type (its own bound), for decodeCanonical's size check. */
function maxBytes(t: { maxSize: number }): number {
  return t.maxSize
}

/** Decodes a stored record: typed DecodeError if it is not the one canonical encoding. */
export function decodeRecord<T>(
  type: { deserialize(b: Uint8Array): T; maxSize: number },
  bytes: Uint8Array,
  what: string,
): T {
  return decodeCanonical(type as never, bytes, maxBytes(type), `exchange ${what}`) as T
}
