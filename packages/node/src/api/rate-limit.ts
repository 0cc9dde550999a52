import { PulseError } from '@pulsemesh/core'

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

/** Per-network API quotas: one bucket per network, shared by all its callers (`default` for the rest). */
export interface NetworkRateLimitConfig {
  default?: RateLimitConfig
  networks?: Record<string, RateLimitConfig>
}

/**
 * Token buckets per hosted network (the mesh's per-network API quota): a busy tenant exhausts its
 * own network's budget, never the node's or another network's. Networks without a configured
 * limit (and no `default`) are not limited.
 */
export class NetworkRateLimits {
  private readonly c: NetworkRateLimitConfig
  private readonly limiters = new Map<string, RateLimiter>()
  constructor(c: NetworkRateLimitConfig) {
    this.c = c
  }
  take(networkId: string, nowMs?: number): Take | undefined {
    let l = this.limiters.get(networkId)
    if (l === undefined) {
      const cfg = this.c.networks?.[networkId] ?? this.c.default
      if (cfg === undefined) return undefined
      // One key per limiter; networks are few (bounded by what the node hosts).
      l = new RateLimiter({ ...cfg, keysMax: 1 })
      this.limiters.set(networkId, l)
    }
    return l.take(networkId, nowMs)
  }
}

/** Minimal view of a Fastify app for `limitPerNetwork` (keeps this module free of fastify types). */
interface HookHost {
  addHook(
    name: 'onRequest',
    fn: (
      req: { params: unknown; routeOptions: { config?: { open?: boolean } } },
      reply: { header(k: string, v: string | number): unknown },
    ) => Promise<void>,
  ): unknown
}

/**
 * Adds the per-network quota to an API built by buildApi: every request to `/v1/networks/:id/...`
 * takes a token from that network's bucket; an empty bucket answers 429 RATE_LIMITED (with
 * `retry-after`), the per-caller limit still applies first. Health and metrics routes are exempt.
 */
export function limitPerNetwork(app: HookHost, c: NetworkRateLimitConfig): NetworkRateLimits {
  const limits = new NetworkRateLimits(c)
  app.addHook('onRequest', async (req, reply) => {
    if (req.routeOptions.config?.open) return
    const id = (req.params as { id?: unknown } | undefined)?.id
    if (typeof id !== 'string') return
    const t = limits.take(id)
    if (t === undefined || t.ok) return
    reply.header('retry-after', t.resetSeconds)
    throw new PulseError(
      'RATE_LIMITED',
      `network ${id} is over its API quota; retry in ${t.resetSeconds} s`,
      {
        network: id,
        retryAfterSeconds: t.resetSeconds,
      },
    )
  })
  return limits
}
