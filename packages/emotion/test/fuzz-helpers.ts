// Shared assertion: a decoder either returns or throws DecodeError with a stable reason — nothing else.
import assert from 'node:assert/strict'
import { DecodeError } from '@pulsemesh/core/errors.ts'

export function onlyDecodeErrors(f: () => unknown): void {
  try {
    f()
  } catch (e) {
    assert.ok(e instanceof DecodeError, `unexpected ${(e as Error)?.name}: ${(e as Error)?.message}`)
    assert.match(e.code, /^DECODE_(ERROR|TOO_LARGE|NON_CANONICAL)$/)
    assert.match(String(e.meta.reason), /^[A-Z0-9_]+$/)
  }
}

export function decodeReason(f: () => unknown): { code: string; reason: string } {
  try {
    f()
  } catch (e) {
    assert.ok(
      e instanceof DecodeError,
      `expected DecodeError, got ${(e as Error)?.name}: ${(e as Error)?.message}`,
    )
    return { code: e.code, reason: String(e.meta.reason) }
  }
  assert.fail('expected a DecodeError')
}
