/**
 * Token buckets per caller (API key / JWT subject, else client IP). Bounded: at most `keysMax`
 * buckets; the least recently used is evicted (an evicted caller starts with a full bucket, which
 * is the safe direction for a limiter whose job is protecting the node, not billing).
 */
export interface RateLimitConfig {
  /** Burst size (tokens). */
  capacity: number
  /** Tokens added per second. */
  refillPerSecond: number
  keysMax?: number
}

export interface Take {
  ok: boolean
  limit: number
  remaining: number
  /** Seconds until the bucket is full again (or until one token is available when empty). */
  resetSeconds: number
}

export class RateLimiter {
  private readonly c: Required<RateLimitConfig>
  private readonly buckets = new Map<string, { tokens: number; atMs: number }>()
  constructor(c: RateLimitConfig) {
    this.c = { keysMax: 100_000, ...c }
  }

  take(key: string, nowMs: number = Date.now()): Take {
    const { capacity, refillPerSecond } = this.c
    let b = this.buckets.get(key)
    if (b === undefined) {
      b = { tokens: capacity, atMs: nowMs }
      if (this.buckets.size >= this.c.keysMax) this.buckets.delete(this.buckets.keys().next().value as string)
    } else this.buckets.delete(key) // re-insert: Map order is our LRU order
    this.buckets.set(key, b)
    b.tokens = Math.min(capacity, b.tokens + ((nowMs - b.atMs) / 1000) * refillPerSecond)
    b.atMs = nowMs
    const ok = b.tokens >= 1
    if (ok) b.tokens -= 1
    const resetSeconds = ok
      ? Math.ceil((capacity - b.tokens) / refillPerSecond)
      : Math.ceil((1 - b.tokens) / refillPerSecond)
    return { ok, limit: capacity, remaining: Math.floor(b.tokens), resetSeconds }
  }

  get refillPerSecond(): number {
    return this.c.refillPerSecond
  }

  get size(): number {
    return this.buckets.size
  }
}
