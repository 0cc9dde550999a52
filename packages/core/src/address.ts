/**
 * Account addresses: bech32m (BIP 350) of a 20-byte key hash, with a human-readable prefix per
 * network kind (e.g. `pm` for the hub, `emo` for EmotionalChain).
 *
 *   bytes   = first 20 bytes of taggedHash('pulsemesh/address', schemeByte || keyBytes)
 *   address = bech32m(prefix, bytes)
 *
 * schemeByte is KEY_SCHEME_BYTE (ed25519 = 0x01, secp256k1 = 0x02), so equal key bytes under two
 * schemes never share an address. secp256k1 keys are hashed in their 33-byte compressed form, so a
 * key has one address whichever SEC1 form it arrives in. Addresses are the same account when their
 * 20 bytes are equal (`addressEquals`): the prefix only says which network the text was meant for.
 */
import { bech32, bech32m } from '@scure/base'
import { equalBytes } from './bytes.ts'
import { KEY_SCHEME_BYTE, taggedHash } from './crypto/index.ts'
import { ed25519PublicKeyIsWellFormed } from './crypto/ed25519-rule.ts'
import { secp256k1CompressPublicKey } from './crypto/secp256k1-rule.ts'
import { PulseError } from './errors.ts'
import type { PublicKey } from './types.ts'

export const ADDRESS_BYTES = 20
/** BIP 173 length limit of a bech32 string. */
export const ADDRESS_MAX_LENGTH = 90
export const ADDRESS_HASH_TAG = 'pulsemesh/address'
/** A prefix is 1..16 characters: a lowercase letter, then lowercase letters or digits. */
export const ADDRESS_PREFIX_PATTERN = /^[a-z][a-z0-9]{0,15}$/

export type AddressErrorReason =
  | 'not-a-string'
  | 'too-long'
  | 'mixed-case'
  | 'malformed'
  | 'bad-checksum'
  | 'bech32-not-bech32m'
  | 'bad-prefix'
  | 'wrong-prefix'
  | 'wrong-length'

export interface ParsedAddress {
  prefix: string
  bytes: Uint8Array
}

function fail(reason: AddressErrorReason, message: string, meta: Record<string, unknown> = {}): never {
  throw new PulseError('ADDRESS_INVALID', message, { reason, ...meta })
}

function assertPrefix(prefix: string): void {
  if (typeof prefix !== 'string' || !ADDRESS_PREFIX_PATTERN.test(prefix)) {
    fail('bad-prefix', `address prefix must match ${ADDRESS_PREFIX_PATTERN}`, { prefix })
  }
}

/** The 20 address bytes of a public key. Throws PulseError KEY_INVALID for a malformed key. */
export function addressBytesFromPublicKey(pk: PublicKey): Uint8Array {
  let keyBytes: Uint8Array | null = null
  if (pk?.scheme === 'ed25519' && ed25519PublicKeyIsWellFormed(pk.bytes)) keyBytes = pk.bytes
  if (pk?.scheme === 'secp256k1') keyBytes = secp256k1CompressPublicKey(pk.bytes)
  if (keyBytes === null) {
    throw new PulseError('KEY_INVALID', 'not a well-formed public key', {
      scheme: pk?.scheme,
      length: pk?.bytes?.length,
    })
  }
  const preimage = new Uint8Array(1 + keyBytes.length)
  preimage[0] = KEY_SCHEME_BYTE[pk.scheme]
  preimage.set(keyBytes, 1)
  return taggedHash(ADDRESS_HASH_TAG, preimage).slice(0, ADDRESS_BYTES)
}

/** bech32m text of 20 address bytes. */
export function encodeAddress(prefix: string, bytes: Uint8Array): string {
  assertPrefix(prefix)
  if (!(bytes instanceof Uint8Array) || bytes.length !== ADDRESS_BYTES) {
    fail('wrong-length', `address payload must be ${ADDRESS_BYTES} bytes`, { length: bytes?.length })
  }
  return bech32m.encode(prefix, bech32m.toWords(bytes), ADDRESS_MAX_LENGTH)
}

/** The address of a public key on a network with this prefix. */
export function addressFromPublicKey(pk: PublicKey, prefix: string): string {
  assertPrefix(prefix)
  return encodeAddress(prefix, addressBytesFromPublicKey(pk))
}

const CHARSET = /^[qpzry9x8gf2tvdw0s3jn54khce6mua7l]+$/

/**
 * Parse address text. Throws PulseError ADDRESS_INVALID with `meta.reason` (AddressErrorReason) and a
 * message saying what is wrong. All-uppercase text is accepted (BIP 350); mixed case is not.
 */
export function parseAddress(addr: string, expectedPrefix?: string): ParsedAddress {
  if (typeof addr !== 'string') fail('not-a-string', 'address must be a string', { type: typeof addr })
  if (addr.length > ADDRESS_MAX_LENGTH) {
    fail('too-long', `address longer than ${ADDRESS_MAX_LENGTH} characters`, { length: addr.length })
  }
  const lower = addr.toLowerCase()
  if (addr !== lower && addr !== addr.toUpperCase()) fail('mixed-case', 'address mixes upper and lower case')
  const sep = lower.lastIndexOf('1')
  if (sep < 1 || lower.length - sep - 1 < 6 || !CHARSET.test(lower.slice(sep + 1))) {
    fail(
      'malformed',
      'not bech32m text: expected <prefix>1<data> with bech32 characters and a 6-character checksum',
    )
  }
  const prefix = lower.slice(0, sep)
  if (!ADDRESS_PREFIX_PATTERN.test(prefix)) {
    fail('bad-prefix', `address prefix must match ${ADDRESS_PREFIX_PATTERN}`, { prefix })
  }
  const decoded = bech32m.decodeUnsafe(lower, ADDRESS_MAX_LENGTH)
  if (!decoded) {
    if (bech32.decodeUnsafe(lower, ADDRESS_MAX_LENGTH)) {
      fail('bech32-not-bech32m', 'address has a bech32 (BIP 173) checksum; PulseMesh addresses use bech32m', {
        prefix,
      })
    }
    fail('bad-checksum', 'address checksum does not match (typo?)', { prefix })
  }
  if (expectedPrefix !== undefined && prefix !== expectedPrefix) {
    fail('wrong-prefix', `address is for prefix "${prefix}", expected "${expectedPrefix}"`, {
      prefix,
      expectedPrefix,
    })
  }
  const bytes = bech32m.fromWordsUnsafe(decoded.words)
  if (!bytes) fail('malformed', 'address payload has invalid padding', { prefix })
  if (bytes.length !== ADDRESS_BYTES) {
    fail('wrong-length', `address payload is ${bytes.length} bytes, expected ${ADDRESS_BYTES}`, {
      prefix,
      length: bytes.length,
    })
  }
  return { prefix, bytes }
}

/** Same account: equal 20-byte payloads (prefixes may differ). Throws ADDRESS_INVALID like parseAddress. */
export function addressEquals(a: string, b: string): boolean {
  return equalBytes(parseAddress(a).bytes, parseAddress(b).bytes)
}
