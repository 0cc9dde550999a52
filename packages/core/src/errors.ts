/**
 * Typed errors shared by every package. Each error carries a stable machine `code`
 * (what APIs, CLIs and tests match on) and optional metadata; the message is for humans.
 * Codes are UPPER_SNAKE and never reused for a different meaning.
 */
export class PulseError<C extends string = string> extends Error {
  readonly code: C
  readonly meta: Record<string, unknown>
  constructor(code: C, message: string, meta: Record<string, unknown> = {}) {
    super(message)
    this.name = 'PulseError'
    this.code = code
    this.meta = meta
  }
}

/** Untrusted bytes could not be decoded: the only error a decoder may throw. */
export class DecodeError extends PulseError<'DECODE_ERROR' | 'DECODE_TOO_LARGE' | 'DECODE_NON_CANONICAL'> {
  constructor(
    code: 'DECODE_ERROR' | 'DECODE_TOO_LARGE' | 'DECODE_NON_CANONICAL',
    message: string,
    meta: Record<string, unknown> = {},
  ) {
    super(code, message, meta)
    this.name = 'DecodeError'
  }
}

export function isPulseError(e: unknown): e is PulseError {
  return e instanceof PulseError
}
