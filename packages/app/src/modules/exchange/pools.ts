/**
 * AMM pools: constant-product pools per market, one per fee tier (several tiers may coexist, e.g.
 * 5, 30 and 100 bps on one pair). A pool's id is `<market>@<feeBps>` (`gold:pulse@30`); txs and
 * queries may also name a bare market when it has exactly one pool. Reserves sit in the pool's
 * module account, so bank balances and pool reserves are the same numbers; LP shares are the bank
 * asset `lp/<base>.<quote>.<feeBps>` (or `lp/<hash>` when that would be too long), minted and
 * burnt only here (fixed issuer: no bank mint). Pool operations execute immediately in their tx
 * (slippage bounds: minShares, minOut).
 */
import { concatBytes, fromUtf8, isPulseError, isValidAssetId, sha256, toHex, utf8 } from '@pulsemesh/core'
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
import { decodeRecord, PoolRecordSSZ } from './records.ts'
import { EXCHANGE_PREFIX, ExchangeError, KEYS, type Market, poolAccount, requireMarket } from './state.ts'

export interface PoolRecord extends Pool {
  /** `<market>@<feeBps>` */
  id: string
  market: string
  lpAsset: string
}

export const poolIdOf = (market: string, feeBps: bigint): string => `${market}@${feeBps}`
/** `06 11 <market>`: the fee tiers (u16 BE, ascending) that have a pool in this market. */
const tiersKey = (market: string) => concatBytes(new Uint8Array([EXCHANGE_PREFIX, 0x11]), utf8(market))

export function poolTiers(store: KVStore, market: string): bigint[] {
  const raw = store.get(tiersKey(market))
  if (raw === undefined) return []
  const out: bigint[] = []
  for (let i = 0; i + 1 < raw.length; i += 2) out.push(BigInt((raw[i]! << 8) | raw[i + 1]!))
  return out
}
function addTier(store: KVStore, market: string, fee: bigint): void {
  const tiers = [...poolTiers(store, market), fee].sort((a, b) => (a < b ? -1 : 1))
  store.set(tiersKey(market), new Uint8Array(tiers.flatMap((t) => [Number(t >> 8n), Number(t & 0xffn)])))
}

/** Resolves `market@fee`, or a bare market with exactly one pool, to a pool id (undefined: none). */
export function resolvePoolId(store: KVStore, ref: string): string | undefined {
  if (ref.includes('@')) return ref
  const tiers = poolTiers(store, ref)
  if (tiers.length > 1)
    throw new ExchangeError(
      'POOL_AMBIGUOUS',
      `market ${ref} has pools at ${tiers.join(', ')} bps: name one as ${ref}@<feeBps>`,
    )
  return tiers.length === 1 ? poolIdOf(ref, tiers[0]!) : undefined
}

export function getPool(store: KVStore, ref: string): PoolRecord | undefined {
  const id = resolvePoolId(store, ref)
  if (id === undefined) return undefined
  const raw = store.get(KEYS.pool(id))
  if (raw === undefined) return undefined
  const r = decodeRecord(PoolRecordSSZ, raw, 'pool')
  return {
    id,
    market: id.slice(0, id.lastIndexOf('@')),
    reserveBase: r.reserveBase,
    reserveQuote: r.reserveQuote,
    totalShares: r.totalShares,
    feeBps: BigInt(r.feeBps),
    lpAsset: fromUtf8(r.lpAsset),
  }
}
/** Every pool of a market, by ascending fee tier. */
export function marketPools(store: KVStore, market: string): PoolRecord[] {
  return poolTiers(store, market).map((f) => getPool(store, poolIdOf(market, f))!)
}
export function putPool(store: KVStore, p: PoolRecord): void {
  store.set(
    KEYS.pool(p.id),
    PoolRecordSSZ.serialize({
      reserveBase: p.reserveBase,
      reserveQuote: p.reserveQuote,
      totalShares: p.totalShares,
      feeBps: Number(p.feeBps),
      lpAsset: utf8(p.lpAsset),
    }),
  )
}
export function requirePool(store: KVStore, ref: string): PoolRecord {
  const p = getPool(store, ref)
  if (p === undefined) throw new ExchangeError('UNKNOWN_POOL', `no pool ${ref}`, { pool: ref })
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

export function lpAssetOf(m: Market, feeBps: bigint): string {
  const plain = `lp/${m.base}.${m.quote}.${feeBps}`
  // asset ids are at most 64 characters: long pairs get a hash-named LP asset
  return isValidAssetId(plain) ? plain : `lp/${toHex(sha256(utf8(poolIdOf(m.id, feeBps))).subarray(0, 20))}`
}

export function poolCreate(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  feeBps: bigint,
  base: bigint,
  quote: bigint,
): { shares: bigint; lpAsset: string; id: string } {
  const m = requireMarket(store, market)
  const id = poolIdOf(market, feeBps)
  if (poolTiers(store, market).includes(feeBps))
    throw new ExchangeError('POOL_EXISTS', `market ${market} has a ${feeBps} bps pool`)
  const lpAsset = lpAssetOf(m, feeBps)
  if (getAsset(store, lpAsset) !== undefined)
    throw new ExchangeError('POOL_EXISTS', `LP asset id ${lpAsset} is taken`)
  const empty = amm(() => createPool(feeBps))
  const r = amm(() => addLiquidity(empty, base, quote))
  const acct = poolAccount(id)
  transfer(store, sender, acct, m.base, r.base)
  transfer(store, sender, acct, m.quote, r.quote)
  putAsset(store, { id: lpAsset, decimals: 0, issuer: NO_ISSUER, maxSupply: 0n })
  mint(store, sender, lpAsset, r.shares)
  addTier(store, market, feeBps)
  putPool(store, { ...r.pool, id, market, lpAsset })
  return { shares: r.shares, lpAsset, id }
}

export function poolAdd(
  store: KVStore,
  sender: Uint8Array,
  market: string,
  base: bigint,
  quote: bigint,
  minShares: bigint,
): { shares: bigint; base: bigint; quote: bigint } {
  const p = requirePool(store, market)
  const m = requireMarket(store, p.market)
  const r = amm(() => addLiquidity(p, base, quote, minShares > 0n ? minShares : 1n))
  const acct = poolAccount(p.id)
  transfer(store, sender, acct, m.base, r.base)
  transfer(store, sender, acct, m.quote, r.quote)
  mint(store, sender, p.lpAsset, r.shares)
  putPool(store, { ...p, ...r.pool })
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
  const p = requirePool(store, market)
  const m = requireMarket(store, p.market)
  requireAsset(store, p.lpAsset)
  const r = amm(() => removeLiquidity(p, shares, minBase, minQuote))
  burn(store, sender, p.lpAsset, shares)
  const acct = poolAccount(p.id)
  if (r.base > 0n) transfer(store, acct, sender, m.base, r.base)
  if (r.quote > 0n) transfer(store, acct, sender, m.quote, r.quote)
  putPool(store, { ...p, ...r.pool })
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
  const p = requirePool(store, market)
  const m = requireMarket(store, p.market)
  const r = amm(() => swapExactIn(p, dir, amountIn, minOut > 0n ? minOut : 1n))
  const acct = poolAccount(p.id)
  const [inAsset, outAsset] = dir === 'sell-base' ? [m.base, m.quote] : [m.quote, m.base]
  transfer(store, sender, acct, inAsset, amountIn)
  transfer(store, acct, sender, outAsset, r.amountOut)
  putPool(store, { ...p, ...r.pool })
  return { amountOut: r.amountOut }
}

export { MINIMUM_LIQUIDITY }
