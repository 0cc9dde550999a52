/**
 * The one way decoders fail: a DecodeError whose `code` is DECODE_ERROR or DECODE_TOO_LARGE (the
 * core codes) and whose `meta.reason` is a stable UPPER_SNAKE reason naming the exact problem
 * (HRM_TRUNCATED, TG_CHECKSUM, E4_BAD_DECIMAL, ...). Tests and callers match on both.
 */
import { DecodeError } from '@pulsemesh/core/errors.ts'

export function decodeFail(reason: string, message: string, meta: Record<string, unknown> = {}): never {
  throw new DecodeError('DECODE_ERROR', message, { reason, ...meta })
}

export function decodeTooLarge(reason: string, message: string, meta: Record<string, unknown> = {}): never {
  throw new DecodeError('DECODE_TOO_LARGE', message, { reason, ...meta })
}

export function requireBytes(input: unknown, what: string): Uint8Array {
  if (!(input instanceof Uint8Array)) decodeFail('NOT_BYTES', `${what}: expected a Uint8Array`)
  return input
}
