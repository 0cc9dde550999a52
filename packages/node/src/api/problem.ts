/**
 * Errors as RFC 9457 problem+json with stable machine codes. Every typed error maps to a 4xx;
 * anything untyped is a 500 with no internals in the body (it is logged instead).
 */
import { isPulseError } from '@pulsemesh/core'

const STATUS_BY_CODE: Record<string, number> = {
  NOT_FOUND: 404,
  NOT_VALIDATOR: 409,
  UNKNOWN_NETWORK: 404,
  TX_DUPLICATE: 409,
  MEMPOOL_FULL: 503,
  VERIFY_POOL_OVERLOADED: 503,
  PAYLOAD_TOO_LARGE: 413,
  UNAUTHORIZED: 401,
  TOKEN_INVALID: 401,
  TOKEN_EXPIRED: 401,
  UNSUPPORTED_MEDIA_TYPE: 415,
  FORBIDDEN: 403,
  RATE_LIMITED: 429,
  IDEMPOTENCY_CONFLICT: 409,
  WEBHOOK_LIMIT: 409,
  NOT_READY: 503,
}

export interface Problem {
  type: string
  title: string
  status: number
  detail: string
  code: string
  meta?: Record<string, unknown>
}

export function problemFor(e: unknown): Problem {
  if (isPulseError(e)) {
    const status = STATUS_BY_CODE[e.code] ?? 400
    return {
      type: `https://pulsemesh.dev/errors/${e.code.toLowerCase().replace(/_/g, '-')}`,
      title: e.code,
      status,
      detail: e.message,
      code: e.code,
      ...(Object.keys(e.meta).length > 0 ? { meta: e.meta } : {}),
    }
  }
  return { type: 'about:blank', title: 'INTERNAL', status: 500, detail: 'internal error', code: 'INTERNAL' }
}

/** The 404 body for a path nothing serves (no route, no dashboard file): untyped, so about:blank. */
export function notFoundProblem(detail: string): Problem {
  return { type: 'about:blank', title: 'NOT_FOUND', status: 404, detail, code: 'NOT_FOUND' }
}
