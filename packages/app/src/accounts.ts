/**
 * Account ids (20 bytes) and their bech32m addresses, with the network's prefix. State keys use
 * the raw id; users and APIs see the address.
 */
import { addressBytesFromPublicKey, encodeAddress, parseAddress, type PublicKey } from '@pulsemesh/core'
import { TxError } from './errors.ts'

const ID_CACHE_MAX = 100_000
const idCache = new Map<string, Uint8Array>()

/** The 20-byte account id of a public key (cached: every tx needs its sender's). */
export function accountIdOf(pk: PublicKey): Uint8Array {
  const k = pk.scheme + String.fromCharCode.apply(null, pk.bytes as unknown as number[])
  let id = idCache.get(k)
  if (id === undefined) {
    id = addressBytesFromPublicKey(pk)
    if (idCache.size >= ID_CACHE_MAX) idCache.clear()
    idCache.set(k, id)
  }
  return id
}

const addressCache = new Map<string, string>()
/** bech32m address of an account id (cached: events name accounts in every transfer). */
export function formatAddress(accountId: Uint8Array, prefix: string): string {
  const k = prefix + String.fromCharCode.apply(null, accountId as unknown as number[])
  let a = addressCache.get(k)
  if (a === undefined) {
    a = encodeAddress(prefix, accountId)
    if (addressCache.size >= ID_CACHE_MAX) addressCache.clear()
    addressCache.set(k, a)
  }
  return a
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
