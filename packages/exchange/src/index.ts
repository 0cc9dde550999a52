/**
 * @pulsemesh/exchange: pure, deterministic exchange math (DESIGN §7). No I/O, no clock, no
 * floating point in anything that decides state.
 */
export type * from './types.ts'
export { OrderBook, canonicalText } from './order-book.ts'
export { clearBatch, MAX_BATCH_ORDERS } from './batch-auction.ts'
export type { AuctionFill, AuctionOptions, AuctionOrder, AuctionResult } from './batch-auction.ts'
export {
  addLiquidity,
  createPool,
  FEE_TIERS,
  MAX_AMOUNT,
  MINIMUM_LIQUIDITY,
  quoteExactIn,
  quoteExactOut,
  removeLiquidity,
  swapExactIn,
  swapExactOut,
} from './amm.ts'
export type { AmmErrorCode, Pool, SwapDirection } from './amm.ts'
export { MAX_ROUTE_LEVELS, routeAcrossPools, routeMarketOrder } from './router.ts'
export type { MultiRouteResult, RouteResult } from './router.ts'
export { aggregatePrice, MAX_REPORTS } from './oracle.ts'
export type { OracleErrorCode, OracleParams, OracleResult, PriceReport } from './oracle.ts'
export { absBig, divCeil, divFloor, isqrt, isqrtCeil, maxBig, minBig } from './bigint-math.ts'
