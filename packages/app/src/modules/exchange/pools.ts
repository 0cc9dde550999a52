/**
 * AMM pools (one constant-product pool per market, fee tier chosen at creation). Reserves sit in
 * the pool's module account, so bank balances and pool reserves are the same numbers; LP shares
 * are the bank asset `lp/<base>.<quote>`, minted and burnt only here (fixed issuer: no bank mint).
 * Pool operations execute immediately in their tx (slippage bounds: minShares, minOut).
 */
import { isPulseError, isValidAssetId } from '@pulsemesh/core'
import {
  addLiquidity,
  createPool,
  MINIMUM_LIQUIDITY,
  type Pool,
  removeLiquidity,
  type SwapDirection,
  swapExactIn,
} from '@pulsemesh/exchange'
import type { TxErrorCode } from '../../errors.ts'
import { TxError } from '../../errors.ts'
import type { KVStore } from '../../state/kv.ts'
import { burn, getAsset, mint, NO_ISSUER, putAsset, requireAsset, transfer } from '../bank/ledger.ts'
import { ExchangeError, getJson, KEYS, type Market, poolAccount, putJson, requireMarket } from './state.ts'

export interface PoolRecord extends Pool {
  lpAsset: string
}

export function getPool(store: KVStore, market: string): PoolRecord | undefined {
  const r = getJson<Record<string, string>>(store, KEYS.pool(market))
  if (r === undefined) return undefined
  return {
    reserveBase: BigInt(r.reserveBase!),
    reserveQuote: BigInt(r.reserveQuote!),
    totalShares: BigInt(r.totalShares!),
    feeBps: BigInt(r.feeBps!),
    lpAsset: r.lpAsset!,
  }
}
export function putPool(store: KVStore, market: string, p: PoolRecord): void {
  putJson(store, KEYS.pool(market), {
    reserveBase: p.reserveBase.toString(),
    reserveQuote: p.reserveQuote.toString(),
    totalShares: p.totalShares.toString(),
    feeBps: p.feeBps.toString(),
    lpAsset: p.lpAsset,
  })
}
export function requirePool(store: KVStore, market: string): PoolRecord {
  const p = getPool(store, market)
  if (p === undefined) throw new ExchangeError('UNKNOWN_POOL', `no pool for market ${market}`, { market })
  return p
}

/** AMM errors (AMM_* codes) become tx failures with the same code. */
function amm<T>(f: () => T): T {
  try {
    return f()
  } catch (e) {
    if (isPulseError(e) && !(e instanceof TxError) && e.code.startsWith('AMM_'))
      throw new TxError(e.code as TxErrorCode, e.message, e.meta)
    throw e
  }
}

export function lpAssetOf(m: Market): string {
  return `lp/${m.base}.${m.quote}`
}

export function poolCreate(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  feeBps: bigint,
  base: bigint,
  quote: bigint,
): { shares: bigint; lpAsset: string } {
  const m = requireMarket(store, market)
  if (getPool(store, market) !== undefined)
    throw new ExchangeError('POOL_EXISTS', `market ${market} has a pool`)
  const lpAsset = lpAssetOf(m)
  if (!isValidAssetId(lpAsset) || getAsset(store, lpAsset) !== undefined)
    throw new ExchangeError('POOL_EXISTS', `LP asset id ${lpAsset} is taken or invalid`)
  const empty = amm(() => createPool(feeBps))
  const r = amm(() => addLiquidity(empty, base, quote))
  const acct = poolAccount(market)
  transfer(store, sender, acct, m.base, r.base)
  transfer(store, sender, acct, m.quote, r.quote)
  putAsset(store, { id: lpAsset, decimals: 0, issuer: NO_ISSUER, maxSupply: 0n })
  mint(store, sender, lpAsset, r.shares)
  putPool(store, market, { ...r.pool, lpAsset })
  return { shares: r.shares, lpAsset }
}

export function poolAdd(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  base: bigint,
  quote: bigint,
  minShares: bigint,
): { shares: bigint; base: bigint; quote: bigint } {
  const m = requireMarket(store, market)
  const p = requirePool(store, market)
  const r = amm(() => addLiquidity(p, base, quote, minShares > 0n ? minShares : 1n))
  const acct = poolAccount(market)
  transfer(store, sender, acct, m.base, r.base)
  transfer(store, sender, acct, m.quote, r.quote)
  mint(store, sender, p.lpAsset, r.shares)
  putPool(store, market, { ...r.pool, lpAsset: p.lpAsset })
  return { shares: r.shares, base: r.base, quote: r.quote }
}

export function poolRemove(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  shares: bigint,
  minBase: bigint,
  minQuote: bigint,
): { base: bigint; quote: bigint } {
  const m = requireMarket(store, market)
  const p = requirePool(store, market)
  requireAsset(store, p.lpAsset)
  const r = amm(() => removeLiquidity(p, shares, minBase, minQuote))
  burn(store, sender, p.lpAsset, shares)
  const acct = poolAccount(market)
  if (r.base > 0n) transfer(store, acct, sender, m.base, r.base)
  if (r.quote > 0n) transfer(store, acct, sender, m.quote, r.quote)
  putPool(store, market, { ...r.pool, lpAsset: p.lpAsset })
  return r
}

export function poolSwap(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  dir: SwapDirection,
  amountIn: bigint,
  minOut: bigint,
): { amountOut: bigint } {
  const m = requireMarket(store, market)
  const p = requirePool(store, market)
  const r = amm(() => swapExactIn(p, dir, amountIn, minOut > 0n ? minOut : 1n))
  const acct = poolAccount(market)
  const [inAsset, outAsset] = dir === 'sell-base' ? [m.base, m.quote] : [m.quote, m.base]
  transfer(store, sender, acct, inAsset, amountIn)
  transfer(store, acct, sender, outAsset, r.amountOut)
  putPool(store, market, { ...r.pool, lpAsset: p.lpAsset })
  return { amountOut: r.amountOut }
}

export { MINIMUM_LIQUIDITY }
