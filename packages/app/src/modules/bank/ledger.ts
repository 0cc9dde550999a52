/**
 * Balance, nonce and supply accounting. Every mutation of an amount goes through here, so the
 * conservation property (sum of balances == supply, per asset) has one place to hold.
 */
import { fromUtf8 } from '@pulsemesh/core'
import { TxError } from '../../errors.ts'
import type { KVStore } from '../../state/kv.ts'
import { ssz } from '@pulsemesh/core'
import { assetKey, balanceKey, decodeU128, encodeU128, nonceKey, supplyKey, U128_MAX } from './keys.ts'

export interface AssetInfo {
  id: string
  decimals: number
  /** 20-byte account id of the issuer, or all zeros for a fixed supply. */
  issuer: Uint8Array
  maxSupply: bigint
}
const AssetInfoSSZ = new ssz.ContainerType({
  decimals: ssz.Uint8,
  issuer: ssz.Bytes20,
  maxSupply: ssz.Uint128,
})
export const NO_ISSUER = new Uint8Array(20)

export function getAsset(store: KVStore, id: string): AssetInfo | undefined {
  const raw = peek(store, assetKey(id)) // decodeAssetInfo copies what it keeps (the issuer)
  if (raw === undefined) return undefined
  return { id, ...decodeAssetInfo(raw) }
}

/**
 * AssetInfoSSZ.deserialize without the generic SSZ machinery (read for every transfer): the record
 * is fixed-size, u8 decimals || 20-byte issuer || u128 little-endian maxSupply. Anything else goes
 * through the library, which refuses it the same way it always did.
 */
function decodeAssetInfo(raw: Uint8Array): Omit<AssetInfo, 'id'> {
  if (raw.length !== 37) return AssetInfoSSZ.deserialize(raw)
  const v = new DataView(raw.buffer, raw.byteOffset, 37)
  const lo = v.getBigUint64(21, true)
  const hi = v.getBigUint64(29, true)
  return { decimals: raw[0], issuer: raw.slice(1, 21), maxSupply: hi === 0n ? lo : (hi << 64n) | lo }
}
export function putAsset(store: KVStore, a: AssetInfo): void {
  store.set(
    assetKey(a.id),
    AssetInfoSSZ.serialize({ decimals: a.decimals, issuer: a.issuer, maxSupply: a.maxSupply }),
  )
}
export function requireAsset(store: KVStore, id: string): AssetInfo {
  const a = getAsset(store, id)
  if (a === undefined) throw new TxError('UNKNOWN_ASSET', `unknown asset ${id}`, { asset: id })
  return a
}

export function getBalance(store: KVStore, account: Uint8Array, asset: string): bigint {
  return readBalance(store, balanceKey(account, asset))
}
/** Reads that decode at once may see the store's own bytes (no copy per read). */
function peek(store: KVStore, key: Uint8Array): Uint8Array | undefined {
  return store.getTransient !== undefined ? store.getTransient(key) : store.get(key)
}
function readBalance(store: KVStore, key: Uint8Array): bigint {
  const raw = peek(store, key)
  return raw === undefined ? 0n : decodeU128(raw)
}
function setBalance(store: KVStore, account: Uint8Array, asset: string, amount: bigint): void {
  writeBalance(store, balanceKey(account, asset), amount)
}
function writeBalance(store: KVStore, key: Uint8Array, amount: bigint): void {
  // Zero balances are deleted so that state (and its root) does not depend on history.
  if (amount === 0n) store.delete(key)
  else store.set(key, encodeU128(amount))
}

export function getSupply(store: KVStore, asset: string): bigint {
  const raw = store.get(supplyKey(asset))
  return raw === undefined ? 0n : decodeU128(raw)
}

/** Moves `amount` between accounts; supply unchanged. */
export function transfer(
  store: KVStore,
  from: Uint8Array,
  to: Uint8Array,
  asset: string,
  amount: bigint,
): void {
  if (amount <= 0n) throw new TxError('INVALID_AMOUNT', 'amount must be positive')
  const fromKey = balanceKey(from, asset)
  const have = readBalance(store, fromKey)
  if (have < amount) {
    throw new TxError('INSUFFICIENT_FUNDS', `balance ${have} ${asset} is less than ${amount}`, {
      asset,
      balance: have.toString(),
      needed: amount.toString(),
    })
  }
  writeBalance(store, fromKey, have - amount)
  // Cannot overflow: the sum of all balances is the supply, which is <= U128_MAX.
  const toKey = balanceKey(to, asset)
  writeBalance(store, toKey, readBalance(store, toKey) + amount)
}

/** Creates `amount` new units; the only way supply grows. */
export function mint(store: KVStore, to: Uint8Array, asset: string, amount: bigint): void {
  if (amount <= 0n) throw new TxError('INVALID_AMOUNT', 'amount must be positive')
  const info = requireAsset(store, asset)
  const supply = getSupply(store, asset) + amount
  if (supply > U128_MAX || (info.maxSupply > 0n && supply > info.maxSupply)) {
    throw new TxError('SUPPLY_OVERFLOW', `minting ${amount} would exceed the max supply of ${asset}`)
  }
  store.set(supplyKey(asset), encodeU128(supply))
  setBalance(store, to, asset, getBalance(store, to, asset) + amount)
}

/** Destroys `amount` units held by `from`; the only way supply shrinks. */
export function burn(store: KVStore, from: Uint8Array, asset: string, amount: bigint): void {
  if (amount <= 0n) throw new TxError('INVALID_AMOUNT', 'amount must be positive')
  requireAsset(store, asset)
  const have = getBalance(store, from, asset)
  if (have < amount)
    throw new TxError('INSUFFICIENT_FUNDS', `balance ${have} ${asset} is less than ${amount}`)
  setBalance(store, from, asset, have - amount)
  store.set(supplyKey(asset), encodeU128(getSupply(store, asset) - amount))
}

/** u64 big-endian; read and written for every tx, so below 2^53 without a DataView. */
export function getNonce(store: KVStore, account: Uint8Array): bigint {
  const raw = peek(store, nonceKey(account))
  if (raw === undefined) return 0n
  if (raw.length >= 8 && raw[0] === 0 && (raw[1] & 0xe0) === 0) {
    const hi = (raw[1] << 16) | (raw[2] << 8) | raw[3]
    const lo = ((raw[4] << 24) | (raw[5] << 16) | (raw[6] << 8) | raw[7]) >>> 0
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo)
  }
  return new DataView(raw.buffer, raw.byteOffset, 8).getBigUint64(0)
}
export function setNonce(store: KVStore, account: Uint8Array, nonce: bigint): void {
  const out = new Uint8Array(8)
  if (nonce >= 0n && nonce <= 0xffffffffn) {
    const n = Number(nonce)
    out[4] = n >>> 24
    out[5] = (n >>> 16) & 0xff
    out[6] = (n >>> 8) & 0xff
    out[7] = n & 0xff
  } else new DataView(out.buffer).setBigUint64(0, nonce)
  store.set(nonceKey(account), out)
}

export function assetIdFromBytes(b: Uint8Array): string {
  return fromUtf8(b)
}
