/**
 * Account ids (20 bytes) and their bech32m addresses, with the network's prefix. State keys use
 * the raw id; users and APIs see the address.
 */
import { addressBytesFromPublicKey, encodeAddress, parseAddress, type PublicKey } from '@pulsemesh/core'
import { TxError } from './errors.ts'

const ID_CACHE_MAX = 100_000

/**
 * 32 bits of a key or account id as a cache slot number. These bytes are hash outputs or public
 * keys (uniform), so four of them spread well; a slot holds one entry (direct-mapped: a collision
 * just replaces it) and a hit is confirmed by comparing the bytes. No per-call string is built.
 */
function slotOf(b: Uint8Array, from: number): number {
  return b.length >= from + 4
    ? (b[from] << 24) | (b[from + 1] << 16) | (b[from + 2] << 8) | b[from + 3]
    : -1 - b.length
}
function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

const idCache = new Map<number, { scheme: string; key: Uint8Array; id: Uint8Array }>()

/** The 20-byte account id of a public key (cached: every tx needs its sender's). */
export function accountIdOf(pk: PublicKey): Uint8Array {
  // Byte 0 of a secp256k1 key is its 02/03 prefix: take the slot from bytes 1..4.
  const slot = slotOf(pk.bytes, 1)
  const e = idCache.get(slot)
  if (e !== undefined && e.scheme === pk.scheme && sameBytes(e.key, pk.bytes)) return e.id
  const id = addressBytesFromPublicKey(pk)
  if (idCache.size >= ID_CACHE_MAX) idCache.clear()
  idCache.set(slot, { scheme: pk.scheme, key: pk.bytes.slice(), id })
  return id
}

const addressCache = new Map<number, { prefix: string; id: Uint8Array; address: string }>()
/** bech32m address of an account id (cached: events name accounts in every transfer). */
export function formatAddress(accountId: Uint8Array, prefix: string): string {
  const slot = slotOf(accountId, 0)
  const e = addressCache.get(slot)
  if (e !== undefined && e.prefix === prefix && sameBytes(e.id, accountId)) return e.address
  const address = encodeAddress(prefix, accountId)
  if (addressCache.size >= ID_CACHE_MAX) addressCache.clear()
  addressCache.set(slot, { prefix, id: accountId.slice(), address })
  return address
}

/** Parses an address of this network; a wrong prefix or checksum is INVALID_ADDRESS. */
export function parseAccount(address: string, prefix: string): Uint8Array {
  try {
    return parseAddress(address, prefix).bytes
  } catch (e) {
    throw new TxError(
      'INVALID_ADDRESS',
      `invalid address ${JSON.stringify(address)}: ${(e as Error).message}`,
    )
  }
}
