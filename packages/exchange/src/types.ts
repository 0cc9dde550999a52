/**
 * Public types of the matching engine: commands in, events out.
 *
 * Units (DESIGN §4 "Amounts"): a price is an integer number of quote base units per lot, a size
 * an integer number of base lots. Both cross the API as `bigint`; the engine stores them as JS
 * safe integers after checking the bounds in {@link MarketConfig} (see README "Bounds").
 */

export type Side = 'buy' | 'sell'

/**
 * - `limit`: match what crosses, rest the remainder (good-till-cancelled).
 * - `market`: no price; match against whatever is there, cancel the remainder.
 * - `ioc`: immediate-or-cancel limit; never rests.
 * - `fok`: fill-or-kill limit; fills completely in this command or is rejected (nothing changes).
 * - `post-only`: rests only; rejected if it would take liquidity.
 */
export type OrderType = 'limit' | 'market' | 'ioc' | 'fok' | 'post-only'

/**
 * Self-trade prevention, applied when a taker meets a resting order of the same owner
 * (the taker's mode decides, as on Binance/Coinbase):
 * - `cancel-newest`: cancel the taker's remainder, the resting order stays (default).
 * - `cancel-oldest`: cancel the resting order, the taker keeps matching.
 * - `cancel-both`: cancel both.
 * - `decrement`: reduce both by the smaller size without a trade; whichever reaches 0 is gone.
 * - `none`: allow the self-trade.
 */
export type StpMode = 'cancel-newest' | 'cancel-oldest' | 'cancel-both' | 'decrement' | 'none'

export interface PlaceCommand {
  kind: 'place'
  /** Unique among live orders of this book, 0 <= id <= 2^53-1. */
  id: bigint
  owner: string
  side: Side
  type: OrderType
  /** Required for every type except `market` (where it must be absent). */
  price?: bigint
  size: bigint
  stp?: StpMode
}

export interface CancelCommand {
  kind: 'cancel'
  id: bigint
  owner: string
}

/**
 * Cancel-replace. Keeps time priority only when the price is unchanged and the new size is not
 * larger than the remaining size (it is then a size reduction in place); otherwise the order is
 * cancelled and re-entered with the same id at the back of the queue, and may match as a taker.
 * `size` is the new open (remaining) size.
 */
export interface ReplaceCommand {
  kind: 'replace'
  id: bigint
  owner: string
  price: bigint
  size: bigint
}

export type Command = PlaceCommand | CancelCommand | ReplaceCommand

/** Stable reject codes. A rejected command changes nothing. */
export type RejectCode =
  | 'INVALID_COMMAND'
  | 'ORDER_ID_INVALID'
  | 'OWNER_INVALID'
  | 'PRICE_NOT_POSITIVE'
  | 'PRICE_OFF_TICK'
  | 'PRICE_TOO_HIGH'
  | 'SIZE_NOT_POSITIVE'
  | 'SIZE_OFF_LOT'
  | 'SIZE_TOO_LARGE'
  | 'DUPLICATE_ORDER_ID'
  | 'BOOK_FULL'
  | 'POST_ONLY_WOULD_CROSS'
  | 'FOK_NOT_FILLABLE'
  | 'MARKET_NO_LIQUIDITY'
  | 'UNKNOWN_ORDER'
  | 'NOT_ORDER_OWNER'

export type CancelReason =
  /** cancel command */
  | 'USER'
  /** ioc/market remainder that found nothing more to match */
  | 'UNFILLED'
  /** self-trade prevention */
  | 'STP'
  /** replace that reduced the size in place (cancels the difference) */
  | 'REDUCED'
  /** replace that re-entered the order (cancels the old remainder) */
  | 'REPLACED'

export interface AcceptedEvent {
  type: 'accepted'
  orderId: bigint
}
export interface RejectedEvent {
  type: 'rejected'
  orderId: bigint
  code: RejectCode
}
export interface FillEvent {
  type: 'fill'
  makerId: bigint
  takerId: bigint
  makerOwner: string
  takerOwner: string
  /** The taker's side. */
  takerSide: Side
  /** Always the maker's (resting) price. */
  price: bigint
  size: bigint
}
export interface CancelledEvent {
  type: 'cancelled'
  orderId: bigint
  /** Size removed by this event (may be partial for `decrement` STP and `REDUCED`). */
  size: bigint
  reason: CancelReason
}
/** Last event of every command that was not rejected. */
export interface DoneEvent {
  type: 'done'
  orderId: bigint
  /** Size the command's order filled as taker in this command. */
  filled: bigint
  /** Size of the command's order left resting on the book afterwards. */
  resting: bigint
}

export type EngineEvent = AcceptedEvent | RejectedEvent | FillEvent | CancelledEvent | DoneEvent

export interface MarketConfig {
  /** Prices must be multiples of this (>= 1). */
  tickSize: bigint
  /** Sizes must be multiples of this (>= 1). */
  lotSize: bigint
  /** Highest accepted price; <= 2^53-1. Default 2^53-1. */
  maxPrice?: bigint
  /** Largest accepted order size; maxSize * maxOpenOrders must be <= 2^53-1. Default 2^33-1. */
  maxSize?: bigint
  /** Live order bound (DESIGN §2.4). Default 2^20. */
  maxOpenOrders?: number
}

export interface SnapshotOrder {
  id: bigint
  owner: string
  size: bigint
}
export interface SnapshotLevel {
  price: bigint
  size: bigint
  orders: SnapshotOrder[]
}
/** Canonical book state: levels best-first, orders in time priority. */
export interface BookSnapshot {
  bids: SnapshotLevel[]
  asks: SnapshotLevel[]
}

export interface DepthLevel {
  price: bigint
  size: bigint
}
