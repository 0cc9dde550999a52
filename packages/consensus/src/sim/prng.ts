/**
 * The simulator's only source of randomness: xoshiro128** (Blackman & Vigna), seeded through
 * splitmix32 so nearby seeds give unrelated streams. 32-bit integer ops only: the same seed gives the
 * same run on every machine. Helpers take integer ranges and per-mille probabilities (no floats).
 */
export class Prng {
  private s0: number
  private s1: number
  private s2: number
  private s3: number

  constructor(seed: number) {
    let x = seed >>> 0
    const next = () => {
      // splitmix32
      x = (x + 0x9e3779b9) >>> 0
      let z = x
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
      return (z ^ (z >>> 16)) >>> 0
    }
    this.s0 = next()
    this.s1 = next()
    this.s2 = next()
    this.s3 = next()
    if ((this.s0 | this.s1 | this.s2 | this.s3) === 0) this.s0 = 1
  }

  /** Next uniformly distributed u32. */
  u32(): number {
    const r = Math.imul(rotl(Math.imul(this.s1, 5), 7), 9) >>> 0
    const t = this.s1 << 9
    this.s2 ^= this.s0
    this.s3 ^= this.s1
    this.s1 ^= this.s2
    this.s0 ^= this.s3
    this.s2 ^= t
    this.s3 = rotl(this.s3, 11)
    return r
  }

  /** Uniform integer in [0, n) for 0 < n <= 2^32 (rejection sampling: no modulo bias). */
  int(n: number): number {
    if (n <= 1) return 0
    const limit = 0x100000000 - (0x100000000 % n)
    for (;;) {
      const x = this.u32()
      if (x < limit) return x % n
    }
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /** True with probability perMille / 1000. */
  chance(perMille: number): boolean {
    return perMille > 0 && this.int(1000) < perMille
  }

  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n)
    for (let i = 0; i < n; i += 4) {
      const x = this.u32()
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (x >>> (8 * j)) & 0xff
    }
    return out
  }

  /** An independent child stream (e.g. one per node) derived from this one. */
  fork(): Prng {
    return new Prng(this.u32() ^ this.u32())
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0
}
