/**
 * Salted SHA-256 commitment to a raw window: commit = SHA-256("pulsemesh/emotion/window/v1" || 0x00
 * || u16 BE salt length || salt || raw bytes). The salt (>= 16 bytes, fresh per window, kept by the
 * validator) stops anyone from testing guesses of low-entropy biometric data against the on-chain
 * commitment; the domain tag keeps it from colliding with any other hash in the protocol. Opening
 * the commitment (e.g. in a dispute) reveals salt and bytes.
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { concatBytes, equalBytes, utf8 } from '@pulsemesh/core/bytes.ts'
import { PulseError } from '@pulsemesh/core/errors.ts'

export const COMMIT_DOMAIN = utf8('pulsemesh/emotion/window/v1')
export const SALT_MIN_BYTES = 16
export const SALT_MAX_BYTES = 64

export function commitToWindow(rawWindowBytes: Uint8Array, salt: Uint8Array): Uint8Array {
  if (!(rawWindowBytes instanceof Uint8Array))
    throw new PulseError('EMOTION_BAD_INPUT', 'rawWindowBytes must be a Uint8Array')
  if (!(salt instanceof Uint8Array) || salt.length < SALT_MIN_BYTES || salt.length > SALT_MAX_BYTES) {
    throw new PulseError('EMOTION_BAD_SALT', `salt must be ${SALT_MIN_BYTES}..${SALT_MAX_BYTES} bytes`)
  }
  return sha256(concatBytes(COMMIT_DOMAIN, Uint8Array.of(0, 0, salt.length), salt, rawWindowBytes))
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
