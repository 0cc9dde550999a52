/**
 * Seeded integer PRNG for the simulator (SplitMix32-style mixing of a Weyl sequence; Math.imul only,
 * so the stream is identical on every engine). Not cryptographic.
 */
export class Prng {
  private state: number
  constructor(seed: number) {
    this.state = seed >>> 0
  }

  /** Next uint32. */
  next(): number {
    this.state = (this.state + 0x9e3779b9) >>> 0
    let z = this.state
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0
    return (z ^ (z >>> 16)) >>> 0
  }

  /** Uniform integer in [0, n), n <= 2^32 (tiny modulo bias is irrelevant here). */
  int(n: number): number {
    return this.next() % n
  }

  /** Uniform integer in [lo, hi]. */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1)
  }

  /**
   * Approximately normal integer with standard deviation sigma: Irwin–Hall sum of 4 uniform 16-bit
   * draws (std 65536/√3 ≈ 37837), scaled. Plenty for plausible noise, and cheap.
   */
  gauss(sigma: number): number {
    let s = 0
    for (let i = 0; i < 4; i++) s += this.next() >>> 16
    return Math.round(((s - 131072) * sigma) / 37837)
  }
}

/** Derives a child seed from a seed and a label (FNV-1a), so devices of one validator differ. */
export function childSeed(seed: number, label: string): number {
  let h = (0x811c9dc5 ^ seed) >>> 0
  for (let i = 0; i < label.length; i++) h = Math.imul(h ^ label.charCodeAt(i), 0x01000193) >>> 0
  return h
}
