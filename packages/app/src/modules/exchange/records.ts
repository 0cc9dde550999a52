/**
 * SSZ encodings of every exchange state record: one value has exactly one encoding, so the state
 * root depends on the values only. Decoding goes through core's `decodeCanonical` (size limit
 * first, typed DecodeError on malformed or non-canonical bytes), so a corrupt record surfaces as
 * DECODE_* rather than a wrong value. Optional prices are u64 with 0 = none (prices are > 0).
 */
import { DecodeError, decodeCanonical, ssz } from '@pulsemesh/core'

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

// --- hand-written codecs of the hot records ------------------------------------------------------
// Orders, batch entries, tops and books are read and written for every order; the generic SSZ
// library costs ~15 µs per order record. These produce exactly the bytes of the schemas above
// (tested against @chainsafe/ssz) and decode strictly: every offset, length and enum must be the
// one canonical value, else a typed DecodeError.

const bad = (what: string, why: string): never => {
  throw new DecodeError('DECODE_ERROR', `exchange ${what}: ${why}`)
}
const U64_MAX = (1n << 64n) - 1n
function putU64(dv: DataView, o: number, v: bigint): void {
  if (v < 0n || v > U64_MAX) throw new RangeError(`u64 out of range: ${v}`)
  dv.setBigUint64(o, v, true)
}
function putU128(dv: DataView, o: number, v: bigint): void {
  if (v < 0n || v >> 128n !== 0n) throw new RangeError(`u128 out of range: ${v}`)
  dv.setBigUint64(o, v & U64_MAX, true)
  dv.setBigUint64(o + 8, v >> 64n, true)
}
const getU128 = (dv: DataView, o: number): bigint =>
  dv.getBigUint64(o, true) | (dv.getBigUint64(o + 8, true) << 64n)
const view = (b: Uint8Array) => new DataView(b.buffer, b.byteOffset, b.byteLength)

export interface OrderFields {
  market: Uint8Array
  owner: Uint8Array
  side: number
  type: number
  price: bigint
  lots: bigint
  stp: number
  locked: bigint
  pending: number
  txHash: Uint8Array
}
const ORDER_FIXED = 92
export function encodeOrderRecord(r: OrderFields): Uint8Array {
  if (r.market.length > 129 || r.owner.length !== 20 || r.txHash.length !== 32)
    throw new RangeError('order record field size')
  const out = new Uint8Array(ORDER_FIXED + r.market.length)
  const dv = view(out)
  dv.setUint32(0, ORDER_FIXED, true)
  out.set(r.owner, 4)
  out[24] = r.side
  out[25] = r.type
  putU64(dv, 26, r.price)
  putU64(dv, 34, r.lots)
  out[42] = r.stp
  putU128(dv, 43, r.locked)
  out[59] = r.pending
  out.set(r.txHash, 60)
  out.set(r.market, ORDER_FIXED)
  return out
}
export function decodeOrderRecord(b: Uint8Array): OrderFields {
  if (b.length > ORDER_FIXED + 129) throw new DecodeError('DECODE_TOO_LARGE', 'exchange order: too large')
  if (b.length < ORDER_FIXED) bad('order', 'truncated')
  const dv = view(b)
  if (dv.getUint32(0, true) !== ORDER_FIXED) bad('order', 'bad offset')
  const r = {
    owner: b.slice(4, 24),
    side: b[24]!,
    type: b[25]!,
    price: dv.getBigUint64(26, true),
    lots: dv.getBigUint64(34, true),
    stp: b[42]!,
    locked: getU128(dv, 43),
    pending: b[59]!,
    txHash: b.slice(60, 92),
    market: b.slice(ORDER_FIXED),
  }
  if (r.side > 1 || r.type > 4 || r.stp > 4 || r.pending > 1) bad('order', 'enum out of range')
  return r
}

export interface PendingFields {
  op: number
  market: Uint8Array
  id: bigint
  txHash: Uint8Array
  owner: Uint8Array
  price: bigint
  lots: bigint
  extra: bigint
  asset: Uint8Array
}
const PENDING_FIXED = 101
export function encodePending(e: PendingFields): Uint8Array {
  if (e.market.length > 129 || e.asset.length > 64 || e.owner.length !== 20 || e.txHash.length !== 32)
    throw new RangeError('pending entry field size')
  const out = new Uint8Array(PENDING_FIXED + e.market.length + e.asset.length)
  const dv = view(out)
  out[0] = e.op
  dv.setUint32(1, PENDING_FIXED, true)
  putU64(dv, 5, e.id)
  out.set(e.txHash, 13)
  out.set(e.owner, 45)
  putU64(dv, 65, e.price)
  putU64(dv, 73, e.lots)
  putU128(dv, 81, e.extra)
  dv.setUint32(97, PENDING_FIXED + e.market.length, true)
  out.set(e.market, PENDING_FIXED)
  out.set(e.asset, PENDING_FIXED + e.market.length)
  return out
}
export function decodePendingEntry(b: Uint8Array): PendingFields {
  if (b.length > PENDING_FIXED + 129 + 64)
    throw new DecodeError('DECODE_TOO_LARGE', 'exchange pending: too large')
  if (b.length < PENDING_FIXED) bad('pending entry', 'truncated')
  const dv = view(b)
  const o1 = dv.getUint32(1, true)
  const o2 = dv.getUint32(97, true)
  if (o1 !== PENDING_FIXED || o2 < o1 || o2 > b.length || o2 - o1 > 129 || b.length - o2 > 64)
    bad('pending entry', 'bad offsets')
  if (b[0]! > 2) bad('pending entry', 'op out of range')
  return {
    op: b[0]!,
    id: dv.getBigUint64(5, true),
    txHash: b.slice(13, 45),
    owner: b.slice(45, 65),
    price: dv.getBigUint64(65, true),
    lots: dv.getBigUint64(73, true),
    extra: getU128(dv, 81),
    market: b.slice(o1, o2),
    asset: b.slice(o2),
  }
}

export interface TopFields {
  bestBid: bigint
  bestAsk: bigint
  lastPrice: bigint
}
export function encodeTop(t: TopFields): Uint8Array {
  const out = new Uint8Array(24)
  const dv = view(out)
  putU64(dv, 0, t.bestBid)
  putU64(dv, 8, t.bestAsk)
  putU64(dv, 16, t.lastPrice)
  return out
}
export function decodeTop(b: Uint8Array): TopFields {
  if (b.length !== 24) bad('top of book', 'must be 24 bytes')
  const dv = view(b)
  return {
    bestBid: dv.getBigUint64(0, true),
    bestAsk: dv.getBigUint64(8, true),
    lastPrice: dv.getBigUint64(16, true),
  }
}

export interface BookEntry {
  id: bigint
  owner: Uint8Array
  price: bigint
  lots: bigint
}
const ENTRY = 44
export function encodeBook(book: { bids: BookEntry[]; asks: BookEntry[] }): Uint8Array {
  const n = book.bids.length + book.asks.length
  const out = new Uint8Array(8 + ENTRY * n)
  const dv = view(out)
  dv.setUint32(0, 8, true)
  dv.setUint32(4, 8 + ENTRY * book.bids.length, true)
  let o = 8
  for (const e of [...book.bids, ...book.asks]) {
    if (e.owner.length !== 20) throw new RangeError('book owner must be 20 bytes')
    putU64(dv, o, e.id)
    out.set(e.owner, o + 8)
    putU64(dv, o + 28, e.price)
    putU64(dv, o + 36, e.lots)
    o += ENTRY
  }
  return out
}
export function decodeBook(b: Uint8Array): { bids: BookEntry[]; asks: BookEntry[] } {
  if (b.length > 8 + ENTRY * 2 * LIST_MAX)
    throw new DecodeError('DECODE_TOO_LARGE', 'exchange book: too large')
  if (b.length < 8) bad('book', 'truncated')
  const dv = view(b)
  const o1 = dv.getUint32(0, true)
  const o2 = dv.getUint32(4, true)
  if (o1 !== 8 || o2 < o1 || o2 > b.length || (o2 - o1) % ENTRY !== 0 || (b.length - o2) % ENTRY !== 0)
    bad('book', 'bad offsets')
  const read = (from: number, to: number): BookEntry[] => {
    const out: BookEntry[] = []
    for (let o = from; o < to; o += ENTRY)
      out.push({
        id: dv.getBigUint64(o, true),
        owner: b.slice(o + 8, o + 28),
        price: dv.getBigUint64(o + 28, true),
        lots: dv.getBigUint64(o + 36, true),
      })
    return out
  }
  const bids = read(o1, o2)
  const asks = read(o2, b.length)
  if (bids.length > LIST_MAX || asks.length > LIST_MAX) bad('book', 'too many entries')
  return { bids, asks }
}

// --- fast conversions for the hot records (ids, hashes and ASCII market ids) ---------------------

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
/** Lowercase hex of bytes (table lookup: the generic helper costs several µs per hash). */
export function hexOf(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i]!]
  return s
}
const nibble = (c: number): number => {
  if (c >= 48 && c <= 57) return c - 48
  if (c >= 97 && c <= 102) return c - 87
  if (c >= 65 && c <= 70) return c - 55
  throw new RangeError('not a hex digit')
}
/** Bytes of an even-length hex string. */
export function bytesOfHex(h: string): Uint8Array {
  if (h.length % 2 !== 0) throw new RangeError('odd-length hex')
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++)
    out[i] = (nibble(h.charCodeAt(2 * i)) << 4) | nibble(h.charCodeAt(2 * i + 1))
  return out
}
/** Market ids and asset ids are ASCII (validated on entry); anything else goes through UTF-8. */
export function asciiOf(b: Uint8Array): string {
  let s = ''
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!
    if (c >= 0x80) return new TextDecoder('utf-8', { fatal: false }).decode(b)
    s += String.fromCharCode(c)
  }
  return s
}
export function asciiBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c >= 0x80) return new TextEncoder().encode(s)
    out[i] = c
  }
  return out
}
