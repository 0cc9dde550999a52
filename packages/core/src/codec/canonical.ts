/**
 * Decoding untrusted bytes. SSZ (via @chainsafe/ssz) is canonical by design, but the library's
 * deserializer throws assorted plain Errors and tolerates a few encodings that do not re-encode
 * identically. Every decode in PulseMesh goes through `decodeCanonical`, which:
 *  1. refuses input over the type's stated byte limit before parsing (DECODE_TOO_LARGE),
 *  2. maps any parser failure to a DecodeError (DECODE_ERROR), never another exception,
 *  3. re-encodes and compares byte for byte (DECODE_NON_CANONICAL), so one value has exactly one
 *     encoding and hashes of encodings are unambiguous.
 */
import type { Type } from '@chainsafe/ssz'
import { equalBytes } from '../bytes.ts'
import { DecodeError } from '../errors.ts'

export function decodeCanonical<T>(type: Type<T>, bytes: Uint8Array, maxBytes: number, what: string): T {
  if (!(bytes instanceof Uint8Array)) throw new DecodeError('DECODE_ERROR', `${what}: expected bytes`)
  if (bytes.length > maxBytes) {
    throw new DecodeError(
      'DECODE_TOO_LARGE',
      `${what}: ${bytes.length} bytes exceeds the limit of ${maxBytes}`,
      {
        size: bytes.length,
        limit: maxBytes,
      },
    )
  }
  let value: T
  try {
    value = type.deserialize(bytes)
  } catch (e) {
    throw new DecodeError('DECODE_ERROR', `${what}: malformed encoding (${(e as Error).message})`)
  }
  let again: Uint8Array
  try {
    again = type.serialize(value)
  } catch (e) {
    // The parser accepted something the encoder refuses (e.g. a list over its limit).
    throw new DecodeError('DECODE_ERROR', `${what}: value out of bounds (${(e as Error).message})`)
  }
  if (!equalBytes(again, bytes))
    throw new DecodeError('DECODE_NON_CANONICAL', `${what}: non-canonical encoding`)
  return value
}
