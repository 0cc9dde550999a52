/**
 * Token buckets per (peer, topic): a peer may burst `capacity` messages then `refillPerSecond`.
 * The map is bounded (oldest entry evicted) so a flood of peer ids cannot grow memory.
 */
export interface BucketParams {
  capacity: number
  refillPerSecond: number
}

const MAX_BUCKETS = 10_000

export class PeerTopicBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>()
  private readonly now: () => number
  constructor(now: () => number = () => performance.now()) {
    this.now = now
  }

  /** Takes one token; false if the peer is over its rate on this topic. */
  take(peer: string, topic: string, p: BucketParams): boolean {
    const key = `${peer}|${topic}`
    const t = this.now()
    let b = this.buckets.get(key)
    if (!b) {
      if (this.buckets.size >= MAX_BUCKETS) this.buckets.delete(this.buckets.keys().next().value!)
      b = { tokens: p.capacity, at: t }
      this.buckets.set(key, b)
    }
    b.tokens = Math.min(p.capacity, b.tokens + ((t - b.at) / 1000) * p.refillPerSecond)
    b.at = t
    if (b.tokens < 1) return false
    b.tokens -= 1
    return true
  }

  forget(peer: string): void {
    for (const k of this.buckets.keys()) if (k.startsWith(`${peer}|`)) this.buckets.delete(k)
  }

  get size(): number {
    return this.buckets.size
  }
}
