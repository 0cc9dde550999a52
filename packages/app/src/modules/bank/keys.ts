/** Bank key layout (module prefix 0x01). Account ids are 20 bytes; asset ids are UTF-8. */
import { utf8 } from '@pulsemesh/core'

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
export const balancePrefix = (account: Uint8Array): Uint8Array => prefixed(BALANCE, account)
export const nonceKey = (account: Uint8Array): Uint8Array => prefixed(NONCE, account)
export const supplyKey = (asset: string): Uint8Array => prefixed(SUPPLY, assetBytes(asset))
export const assetKey = (asset: string): Uint8Array => prefixed(ASSET, assetBytes(asset))
export const assetPrefix = (): Uint8Array => new Uint8Array([BANK_PREFIX, ASSET])

/** BANK_PREFIX || table || rest, in one allocation (keys are built for every read and write). */
function prefixed(table: number, rest: Uint8Array): Uint8Array {
  const k = new Uint8Array(2 + rest.length)
  k[0] = BANK_PREFIX
  k[1] = table
  k.set(rest, 2)
  return k
}

const U64_MAX = 0xffffffffffffffffn
const u128Scratch = new Uint8Array(16)
const u128View = new DataView(u128Scratch.buffer)

/** Fixed-width big-endian u128 so values are canonical. */
export function encodeU128(n: bigint): Uint8Array {
  if (n >= 0n && n <= U64_MAX) {
    // Balances and supplies almost always fit 64 bits: no shift or mask on the bigint.
    u128View.setBigUint64(0, 0n)
    u128View.setBigUint64(8, n)
  } else {
    u128View.setBigUint64(0, n >> 64n)
    u128View.setBigUint64(8, n & U64_MAX)
  }
  return u128Scratch.slice()
}
export function decodeU128(b: Uint8Array): bigint {
  if (b.length >= 16 && (b[0] | b[1] | b[2] | b[3] | b[4] | b[5] | b[6] | b[7]) === 0) {
    // Below 2^64 (nearly every balance): read two u32 words, no DataView.
    const hi = ((b[8] << 24) | (b[9] << 16) | (b[10] << 8) | b[11]) >>> 0
    const lo = ((b[12] << 24) | (b[13] << 16) | (b[14] << 8) | b[15]) >>> 0
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo)
  }
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength)
  return (view.getBigUint64(0) << 64n) | view.getBigUint64(8)
}
export const U128_MAX = (1n << 128n) - 1n
