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
  const k = pk.scheme + String.fromCharCode(...pk.bytes)
  let id = idCache.get(k)
  if (id === undefined) {
    id = addressBytesFromPublicKey(pk)
    if (idCache.size >= ID_CACHE_MAX) idCache.clear()
    idCache.set(k, id)
  }
  return id
}

export function formatAddress(accountId: Uint8Array, prefix: string): string {
  return encodeAddress(prefix, accountId)
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
