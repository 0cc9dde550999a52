/**
 * Salted commitment to a raw window, with core's domain-separated hash:
 *   commit = taggedHash("pulsemesh/emotion/window/v1", salt, raw)
 *          = SHA-256(u32be(len tag) || tag || u32be(len salt) || salt || u32be(len raw) || raw)
 * through the installed crypto backend (@noble in browsers, node:crypto in the node runtime).
 * The salt (16..64 bytes, fresh per window, kept by the validator) stops anyone from testing
 * guesses of low-entropy biometric data against the on-chain commitment; the tag keeps it apart
 * from every other hash in the protocol. Opening the commitment (e.g. in a dispute) reveals salt
 * and bytes.
 */
import { equalBytes } from '@pulsemesh/core/bytes.ts'
import { taggedHash } from '@pulsemesh/core/crypto/index.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'

export const COMMIT_TAG = 'pulsemesh/emotion/window/v1'
export const SALT_MIN_BYTES = 16
export const SALT_MAX_BYTES = 64

export function commitToWindow(rawWindowBytes: Uint8Array, salt: Uint8Array): Uint8Array {
  if (!(rawWindowBytes instanceof Uint8Array))
    throw new PulseError('EMOTION_BAD_INPUT', 'rawWindowBytes must be a Uint8Array')
  if (!(salt instanceof Uint8Array) || salt.length < SALT_MIN_BYTES || salt.length > SALT_MAX_BYTES) {
    throw new PulseError('EMOTION_BAD_SALT', `salt must be ${SALT_MIN_BYTES}..${SALT_MAX_BYTES} bytes`)
  }
  return taggedHash(COMMIT_TAG, salt, rawWindowBytes)
}

export function verifyWindowCommitment(
  commitment: Uint8Array,
  rawWindowBytes: Uint8Array,
  salt: Uint8Array,
): boolean {
  try {
    return equalBytes(commitToWindow(rawWindowBytes, salt), commitment)
  } catch {
    return false
  }
}
