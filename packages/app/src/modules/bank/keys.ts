/** Bank key layout (module prefix 0x01). Account ids are 20 bytes; asset ids are UTF-8. */
import { concatBytes, utf8 } from '@pulsemesh/core'

export const BANK_PREFIX = 0x01
const BALANCE = 0x01
const NONCE = 0x02
const SUPPLY = 0x03
const ASSET = 0x04

const assetBytesCache = new Map<string, Uint8Array>()
/** UTF-8 of an asset id, cached (a handful of assets, looked up for every balance). */
function assetBytes(asset: string): Uint8Array {
  let b = assetBytesCache.get(asset)
  if (b === undefined) {
    b = utf8(asset)
    if (assetBytesCache.size > 10_000) assetBytesCache.clear()
    assetBytesCache.set(asset, b)
  }
  return b
}

export const balanceKey = (account: Uint8Array, asset: string): Uint8Array => {
  const a = assetBytes(asset)
  const k = new Uint8Array(2 + account.length + a.length)
  k[0] = BANK_PREFIX
  k[1] = BALANCE
  k.set(account, 2)
  k.set(a, 2 + account.length)
  return k
}
export const balancePrefix = (account: Uint8Array): Uint8Array =>
  concatBytes(new Uint8Array([BANK_PREFIX, BALANCE]), account)
export const nonceKey = (account: Uint8Array): Uint8Array =>
  concatBytes(new Uint8Array([BANK_PREFIX, NONCE]), account)
export const supplyKey = (asset: string): Uint8Array =>
  concatBytes(new Uint8Array([BANK_PREFIX, SUPPLY]), utf8(asset))
export const assetKey = (asset: string): Uint8Array =>
  concatBytes(new Uint8Array([BANK_PREFIX, ASSET]), utf8(asset))
export const assetPrefix = (): Uint8Array => new Uint8Array([BANK_PREFIX, ASSET])

/** Fixed-width big-endian u128 so values are canonical. */
export function encodeU128(n: bigint): Uint8Array {
  const out = new Uint8Array(16)
  const view = new DataView(out.buffer)
  view.setBigUint64(0, n >> 64n)
  view.setBigUint64(8, n & 0xffffffffffffffffn)
  return out
}
export function decodeU128(b: Uint8Array): bigint {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return (view.getBigUint64(0) << 64n) | view.getBigUint64(8)
}
export const U128_MAX = (1n << 128n) - 1n
