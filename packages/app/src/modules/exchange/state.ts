/**
 * Exchange state layout (module prefix 0x06) and its records.
 *
 * Records are SSZ (records.ts): one value, one encoding, decoded with size limits and typed errors,
 * so the state root commits to values, not to a serialisation's formatting. Keys:
 *
 *   06 01 <market>            market config           06 02 <market>  book (orders in priority)
 *   06 03 <market>            top of book + last price
 *   06 04 <order id u64>      order record (owner, price, locked funds)
 *   06 05                     pending queue length    06 06 <i u32>   pending entry i
 *   06 07 <pool>              AMM pool                06 08 <swap id> HTLC
 *   06 09 <symbol>            oracle reports          06 0a <symbol>  oracle price
 *   06 0b                     symbols with reports this block
 *   06 0c                     oracle validator set (genesis validators; staking may replace it)
 *   06 0d                     sorted list of market ids
 *   06 0e <owner 20 bytes>     the owner's live order ids (u64 BE each, ascending)
 *   06 0f, 06 10               trade history and candles (history.ts)
 *   06 11 <market>             fee tiers with a pool (pools.ts); pool records 06 07 <market@fee>
 */
import {
  concatBytes,
  equalBytes,
  fromHex,
  fromUtf8,
  type PulseError,
  sha256,
  u64be,
  utf8,
} from '@pulsemesh/core'
import { TxError, type TxErrorCode } from '../../errors.ts'
import type { KVStore } from '../../state/kv.ts'
import {
  asciiBytes,
  asciiOf,
  bytesOfHex,
  decodeOrderRecord,
  decodePendingEntry,
  decodeRecord,
  decodeTop,
  encodeOrderRecord,
  encodePending,
  encodeTop,
  hexOf,
  MarketListSSZ,
  MarketRecordSSZ,
} from './records.ts'

export const EXCHANGE_PREFIX = 0x06

export const EXCHANGE_ERROR_CODES = [
  'UNKNOWN_MARKET',
  'MARKET_EXISTS',
  'INVALID_MARKET',
  'ORDER_TYPE_UNSUPPORTED',
  'PRICE_NOT_POSITIVE',
  'PRICE_OFF_TICK',
  'PRICE_TOO_HIGH',
  'SIZE_NOT_POSITIVE',
  'SIZE_OFF_LOT',
  'SIZE_TOO_LARGE',
  'MARKET_BUY_NEEDS_PRICE_LIMIT',
  'POST_ONLY_WOULD_CROSS',
  'DUPLICATE_ORDER_ID',
  'UNKNOWN_ORDER',
  'NOT_ORDER_OWNER',
  'ORDER_NOT_RESTING',
  'UNKNOWN_POOL',
  'POOL_EXISTS',
  'POOL_ERROR',
  'NOT_ORACLE_VALIDATOR',
  'UNKNOWN_SWAP',
  'SWAP_EXPIRED',
  'SWAP_NOT_EXPIRED',
  'WRONG_PREIMAGE',
  'INVALID_SWAP',
  'TOO_MANY_OPEN_ORDERS',
  'POOL_AMBIGUOUS',
  'NOT_SWAP_PARTY',
] as const
export type ExchangeErrorCode = (typeof EXCHANGE_ERROR_CODES)[number]

/** An exchange tx failure: a TxError (the tx fails, its fee is kept, nothing else changes). */
export class ExchangeError extends TxError {
  constructor(code: ExchangeErrorCode, message: string, meta: Record<string, unknown> = {}) {
    super(code as unknown as TxErrorCode, message, meta)
    this.name = 'ExchangeError'
  }
}
export type { PulseError }

const key = (sub: number, rest: Uint8Array = new Uint8Array(0)): Uint8Array =>
  concatBytes(new Uint8Array([EXCHANGE_PREFIX, sub]), rest)

export const KEYS = {
  market: (m: string) => key(0x01, utf8(m)),
  book: (m: string) => key(0x02, utf8(m)),
  top: (m: string) => key(0x03, utf8(m)),
  order: (id: bigint) => orderKey(id),
  pendingCount: () => key(0x05),
  pending: (i: number) => key(0x06, u64be(BigInt(i))),
  pool: (p: string) => key(0x07, utf8(p)),
  swap: (id: string) => key(0x08, utf8(id)),
  reports: (s: string) => key(0x09, utf8(s)),
  price: (s: string) => key(0x0a, utf8(s)),
  dirtySymbols: () => key(0x0b),
  oracleSet: () => key(0x0c),
  marketList: () => key(0x0d),
  ownerOrders: (ownerHex: string) => key(0x0e, fromHex(ownerHex)),
}

/** `06 04 <id u64 BE>`, built without BigInt/DataView churn (ids are below 2^53: hot path). */
function orderKey(id: bigint): Uint8Array {
  const k = new Uint8Array(10)
  k[0] = EXCHANGE_PREFIX
  k[1] = 0x04
  let n = Number(id)
  for (let i = 9; i >= 2; i--) {
    k[i] = n % 256
    n = Math.floor(n / 256)
  }
  return k
}

/** 20-byte module account derived from a name; nobody holds its key. */
export function moduleAccount(name: string): Uint8Array {
  return sha256(utf8(`exchange/${name}`)).subarray(0, 20)
}
/** Holds every order's locked funds. */
export const ESCROW = moduleAccount('escrow')
/** Holds the funds of open HTLC swaps. */
export const HTLC_ESCROW = moduleAccount('htlc')
export const poolAccount = (poolId: string): Uint8Array => moduleAccount(`pool/${poolId}`)

// --- records -----------------------------------------------------------------------------------

/**
 * Values over PIECE_BYTES (state-tree values are capped at 64 KiB) are split: the key holds a
 * header `00 <u32 pieces>` and `key 00 <u32 i>` holds piece i (only the book and the market list use
 * pieces; their SSZ starts with a non-zero offset whenever it is 5 bytes long, so a value is never
 * mistaken for a header). Only
 * pieces whose bytes changed are rewritten. Keys that may carry pieces end in a fixed-width field
 * or a string without 0x00, so a piece key never equals another record's key.
 */
const PIECE_BYTES = 60_000
const pieceKey = (k: Uint8Array, i: number): Uint8Array => concatBytes(k, new Uint8Array([0]), u32be(i))
function u32be(n: number): Uint8Array {
  const out = new Uint8Array(4)
  new DataView(out.buffer).setUint32(0, n)
  return out
}
function piecesOf(raw: Uint8Array | undefined): number {
  if (raw === undefined || raw.length !== 5 || raw[0] !== 0) return 0
  return new DataView(raw.buffer, raw.byteOffset + 1, 4).getUint32(0)
}
export function putBytes(store: KVStore, k: Uint8Array, bytes: Uint8Array): void {
  const old = piecesOf(store.get(k))
  let n = 0
  if (bytes.length <= PIECE_BYTES) store.set(k, bytes)
  else {
    n = Math.ceil(bytes.length / PIECE_BYTES)
    for (let i = 0; i < n; i++) {
      const piece = bytes.slice(i * PIECE_BYTES, (i + 1) * PIECE_BYTES)
      const pk = pieceKey(k, i)
      const cur = store.get(pk)
      if (cur === undefined || !equalBytes(cur, piece)) store.set(pk, piece)
    }
    store.set(k, concatBytes(new Uint8Array([0]), u32be(n)))
  }
  for (let i = n; i < old; i++) store.delete(pieceKey(k, i))
}
export function getBytes(store: KVStore, k: Uint8Array): Uint8Array | undefined {
  const raw = store.get(k)
  const n = piecesOf(raw)
  if (n === 0) return raw
  const parts: Uint8Array[] = []
  for (let i = 0; i < n; i++) parts.push(store.get(pieceKey(k, i))!)
  return concatBytes(...parts)
}
export function deleteBytes(store: KVStore, k: Uint8Array): void {
  const n = piecesOf(store.get(k))
  for (let i = 0; i < n; i++) store.delete(pieceKey(k, i))
  store.delete(k)
}

export type MarketMode = 'continuous' | 'auction'
export interface Market {
  id: string
  base: string
  quote: string
  /** Price step, quote units per lot. */
  tickSize: bigint
  /** Base units per lot; sizes must be multiples. */
  lotSize: bigint
  mode: MarketMode
  /** Largest price (quote units per lot) and order size (lots) the market accepts. */
  maxPrice: bigint
  maxLots: bigint
}
export const marketId = (base: string, quote: string): string => `${base}:${quote}`

/** Parsed market configs, reused while the stored bytes are the same (read for every order tx). */
const marketCache = new Map<string, { raw: Uint8Array; m: Market }>()

export function getMarket(store: KVStore, id: string): Market | undefined {
  const raw = store.get(KEYS.market(id))
  if (raw === undefined) return undefined
  const hit = marketCache.get(id)
  if (hit !== undefined && equalBytes(hit.raw, raw)) return hit.m
  const m = parseMarket(id, decodeRecord(MarketRecordSSZ, raw, 'market'))
  if (marketCache.size > 10_000) marketCache.clear()
  marketCache.set(id, { raw, m })
  return m
}
const MODES: readonly MarketMode[] = ['continuous', 'auction']
function parseMarket(id: string, r: ReturnType<typeof MarketRecordSSZ.deserialize>): Market {
  return {
    id,
    base: fromUtf8(r.base),
    quote: fromUtf8(r.quote),
    tickSize: r.tickSize,
    lotSize: r.lotSize,
    mode: MODES[r.mode] ?? 'continuous',
    maxPrice: r.maxPrice,
    maxLots: r.maxLots,
  }
}
export function requireMarket(store: KVStore, id: string): Market {
  const m = getMarket(store, id)
  if (m === undefined) throw new ExchangeError('UNKNOWN_MARKET', `unknown market ${id}`, { market: id })
  return m
}
export function listMarkets(store: KVStore): string[] {
  const raw = getBytes(store, KEYS.marketList())
  return raw === undefined ? [] : decodeRecord(MarketListSSZ, raw, 'market list').map(fromUtf8)
}
export function putMarket(store: KVStore, m: Market): void {
  const list = listMarkets(store)
  if (!list.includes(m.id)) {
    list.push(m.id)
    list.sort()
    putBytes(store, KEYS.marketList(), MarketListSSZ.serialize(list.map(utf8)))
  }
  store.set(
    KEYS.market(m.id),
    MarketRecordSSZ.serialize({
      base: utf8(m.base),
      quote: utf8(m.quote),
      tickSize: m.tickSize,
      lotSize: m.lotSize,
      mode: MODES.indexOf(m.mode),
      maxPrice: m.maxPrice,
      maxLots: m.maxLots,
    }),
  )
}

export type OrderKind = 'limit' | 'market' | 'ioc' | 'fok' | 'post-only'
export type StpName = 'cancel-newest' | 'cancel-oldest' | 'cancel-both' | 'decrement' | 'none'

/** An order the exchange holds funds for: pending in this block's batch, or resting. */
export interface OrderRecord {
  id: bigint
  market: string
  /** Hex account id of the owner (also the engine's owner string, so STP matches accounts). */
  owner: string
  side: 'buy' | 'sell'
  type: OrderKind
  /** Limit price per lot (market orders: the worst accepted price, 0 = none for sells). */
  price: bigint
  /** Lots at entry. */
  lots: bigint
  stp: StpName
  /** Funds in ESCROW held for this order (quote for buys, base for sells). */
  locked: bigint
  /** Entered this block, not yet through the batch. */
  pending: boolean
  /** Hex tx hash that placed it. */
  txHash: string
}

const SIDES = ['buy', 'sell'] as const
const ORDER_KINDS: readonly OrderKind[] = ['limit', 'market', 'ioc', 'fok', 'post-only']
const STPS: readonly StpName[] = ['cancel-newest', 'cancel-oldest', 'cancel-both', 'decrement', 'none']

export function getOrder(store: KVStore, id: bigint): OrderRecord | undefined {
  const raw = store.get(KEYS.order(id))
  if (raw === undefined) return undefined
  const r = decodeOrderRecord(raw)
  return {
    id,
    market: asciiOf(r.market),
    owner: hexOf(r.owner),
    side: SIDES[r.side] ?? 'buy',
    type: ORDER_KINDS[r.type] ?? 'limit',
    price: r.price,
    lots: r.lots,
    stp: STPS[r.stp] ?? 'cancel-newest',
    locked: r.locked,
    pending: r.pending === 1,
    txHash: hexOf(r.txHash),
  }
}
export function putOrder(store: KVStore, o: OrderRecord): void {
  store.set(
    KEYS.order(o.id),
    encodeOrderRecord({
      market: asciiBytes(o.market),
      owner: bytesOfHex(o.owner),
      side: SIDES.indexOf(o.side),
      type: ORDER_KINDS.indexOf(o.type),
      price: o.price,
      lots: o.lots,
      stp: STPS.indexOf(o.stp),
      locked: o.locked,
      pending: o.pending ? 1 : 0,
      txHash: bytesOfHex(o.txHash),
    }),
  )
}
export function deleteOrder(store: KVStore, id: bigint): void {
  const r = getOrder(store, id)
  if (r !== undefined) removeOwnerOrder(store, r.owner, id)
  store.delete(KEYS.order(id))
}

/** Live orders one account may hold (bounds the per-account index value). */
export const MAX_OPEN_ORDERS_PER_ACCOUNT = 4096

/** The owner's live order ids, ascending. */
export function listOwnerOrders(store: KVStore, ownerHex: string): bigint[] {
  const raw = store.get(KEYS.ownerOrders(ownerHex))
  if (raw === undefined) return []
  if (raw.length % 8 !== 0 || raw.length > 8 * MAX_OPEN_ORDERS_PER_ACCOUNT)
    throw new Error('exchange: corrupt owner order index')
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength)
  const out: bigint[] = []
  for (let o = 0; o < raw.length; o += 8) out.push(dv.getBigUint64(o))
  return out
}
function putOwnerOrders(store: KVStore, ownerHex: string, ids: bigint[]): void {
  if (ids.length === 0) {
    store.delete(KEYS.ownerOrders(ownerHex))
    return
  }
  const out = new Uint8Array(8 * ids.length)
  const dv = new DataView(out.buffer)
  for (let i = 0; i < ids.length; i++) dv.setBigUint64(8 * i, ids[i]!)
  store.set(KEYS.ownerOrders(ownerHex), out)
}
/** Adds a new order to its owner's index; TOO_MANY_OPEN_ORDERS at the per-account limit. */
export function addOwnerOrder(store: KVStore, ownerHex: string, id: bigint): void {
  const ids = listOwnerOrders(store, ownerHex)
  if (ids.length >= MAX_OPEN_ORDERS_PER_ACCOUNT)
    throw new ExchangeError(
      'TOO_MANY_OPEN_ORDERS',
      `an account may hold at most ${MAX_OPEN_ORDERS_PER_ACCOUNT} live orders`,
    )
  let i = ids.length
  while (i > 0 && ids[i - 1]! > id) i--
  ids.splice(i, 0, id)
  putOwnerOrders(store, ownerHex, ids)
}
function removeOwnerOrder(store: KVStore, ownerHex: string, id: bigint): void {
  const ids = listOwnerOrders(store, ownerHex)
  const i = ids.indexOf(id)
  if (i < 0) return
  ids.splice(i, 1)
  putOwnerOrders(store, ownerHex, ids)
}

/** Order id from the placing tx's hash: its first 52 bits (engine ids are below 2^53). */
export function orderIdOf(txHashHex: string): bigint {
  return BigInt(`0x${txHashHex.slice(0, 13)}`)
}

/** Asset an order locks and the amount needed for `lots` at `price`. */
export function lockOf(m: Market, side: 'buy' | 'sell', price: bigint, lots: bigint): [string, bigint] {
  return side === 'buy' ? [m.quote, price * lots] : [m.base, lots * m.lotSize]
}

export interface TopOfBook {
  bestBid: bigint | null
  bestAsk: bigint | null
  lastPrice: bigint | null
}
export function getTop(store: KVStore, market: string): TopOfBook {
  const raw = store.get(KEYS.top(market))
  if (raw === undefined) return { bestBid: null, bestAsk: null, lastPrice: null }
  const r = decodeTop(raw)
  const b = (v: bigint) => (v === 0n ? null : v)
  return { bestBid: b(r.bestBid), bestAsk: b(r.bestAsk), lastPrice: b(r.lastPrice) }
}
export function putTop(store: KVStore, market: string, t: TopOfBook): void {
  store.set(
    KEYS.top(market),
    encodeTop({ bestBid: t.bestBid ?? 0n, bestAsk: t.bestAsk ?? 0n, lastPrice: t.lastPrice ?? 0n }),
  )
}

// --- pending batch queue: length key + one key per entry (no scans needed) --------------------

export type PendingEntry =
  | { op: 'place'; market: string; id: string; txHash: string }
  | { op: 'cancel'; market: string; id: string; txHash: string; owner: string }
  | {
      op: 'replace'
      market: string
      id: string
      txHash: string
      owner: string
      price: string
      lots: string
      /** Funds locked by the replace tx (new price × new size), settled in the batch. */
      extra: string
      asset: string
    }

export function pendingCount(store: KVStore): number {
  const raw = store.get(KEYS.pendingCount())
  return raw === undefined ? 0 : Number(new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0))
}
const OPS = ['place', 'cancel', 'replace'] as const
const ZERO20 = new Uint8Array(20)
export function enqueue(store: KVStore, e: PendingEntry): void {
  const n = pendingCount(store)
  store.set(
    KEYS.pending(n),
    encodePending({
      op: OPS.indexOf(e.op),
      market: asciiBytes(e.market),
      id: BigInt(e.id),
      txHash: bytesOfHex(e.txHash),
      owner: e.op === 'place' ? ZERO20 : bytesOfHex(e.owner),
      price: e.op === 'replace' ? BigInt(e.price) : 0n,
      lots: e.op === 'replace' ? BigInt(e.lots) : 0n,
      extra: e.op === 'replace' ? BigInt(e.extra) : 0n,
      asset: utf8(e.op === 'replace' ? e.asset : ''),
    }),
  )
  store.set(KEYS.pendingCount(), u64be(BigInt(n + 1)))
}
function decodePending(raw: Uint8Array): PendingEntry {
  const v = decodePendingEntry(raw)
  const base = { market: asciiOf(v.market), id: v.id.toString(), txHash: hexOf(v.txHash) }
  const op = OPS[v.op]
  if (op === 'place') return { op, ...base }
  if (op === 'cancel') return { op, ...base, owner: hexOf(v.owner) }
  if (op === 'replace')
    return {
      op,
      ...base,
      owner: hexOf(v.owner),
      price: v.price.toString(),
      lots: v.lots.toString(),
      extra: v.extra.toString(),
      asset: asciiOf(v.asset),
    }
  throw new Error(`exchange: pending entry with op ${v.op}`)
}
/** Reads and deletes the whole queue (the batch of this block). */
export function drainPending(store: KVStore): PendingEntry[] {
  const n = pendingCount(store)
  const out: PendingEntry[] = []
  for (let i = 0; i < n; i++) {
    out.push(decodePending(store.get(KEYS.pending(i))!))
    store.delete(KEYS.pending(i))
  }
  if (n > 0) store.delete(KEYS.pendingCount())
  return out
}
