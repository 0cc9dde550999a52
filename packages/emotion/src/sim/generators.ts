/**
 * Deterministic signal generators for the simulator (integers only, seeded; sines come from the
 * integer trig table). State carries over between windows so consecutive reads are continuous.
 */
import { floorDiv } from '../math/int.ts'
import { trigTable } from '../math/trig.ts'
import type { Persona } from './personas.ts'
import type { Prng } from './prng.ts'

const SIN = trigTable(4096, 14).sin // Q14

/** honest = plausible physiology; flat = constant signal; sine = RR as a perfect sinusoid. */
export type SimMode = 'honest' | 'flat' | 'sine'

/** sin(2π · t_us · f_mHz / 1e9) in Q14 using an exact phase. */
export function sinAt(tUs: number, fMilliHz: number, phase4096 = 0): number {
  const cyc = (tUs * fMilliHz) % 1_000_000_000
  return SIN[(floorDiv(cyc * 4096, 1_000_000_000) + phase4096) & 4095]
}

/** RR generator: mean + RSA + LF + random walk + white noise, with rare ectopic beats. */
export class RrGenerator {
  private drift = 0
  private pendingCompensation = 0
  private readonly respPhase: number
  private readonly lfPhase: number
  private readonly persona: Persona
  private readonly rng: Prng
  private readonly mode: SimMode
  constructor(persona: Persona, rng: Prng, mode: SimMode) {
    this.persona = persona
    this.rng = rng
    this.mode = mode
    this.respPhase = rng.int(4096)
    this.lfPhase = rng.int(4096)
  }

  next(tUs: number): number {
    const p = this.persona
    if (this.mode === 'flat') return p.meanRrUs
    const rsa = floorDiv(p.rsaUs * sinAt(tUs, p.respMilliHz, this.respPhase), 16384)
    if (this.mode === 'sine') return p.meanRrUs + rsa
    this.drift += this.rng.gauss(p.driftUs)
    // keep the walk bounded around the mean (mean reversion by 1/32 per beat)
    this.drift -= floorDiv(this.drift, 32)
    const lf = floorDiv(p.lfUs * sinAt(tUs, 100, this.lfPhase), 16384)
    let rr = p.meanRrUs + rsa + lf + this.drift + this.rng.gauss(p.noiseUs)
    if (this.pendingCompensation !== 0) {
      rr += this.pendingCompensation
      this.pendingCompensation = 0
    } else if (this.rng.int(400) === 0) {
      // premature beat followed by a compensatory pause: the artifact filter must remove both
      const cut = floorDiv(rr * 35, 100)
      rr -= cut
      this.pendingCompensation = cut
    }
    return rr
  }
}

/** Skin conductance at `rateHz`: tonic level + random walk + SCRs (linear rise, 15/16 decay) + noise. */
export class EdaGenerator {
  private walk = 0
  private readonly scrs: { age: number; amp: number; value: number }[] = []
  private readonly persona: Persona
  private readonly rng: Prng
  private readonly rateHz: number
  private readonly mode: SimMode
  constructor(persona: Persona, rng: Prng, rateHz: number, mode: SimMode) {
    this.persona = persona
    this.rng = rng
    this.rateHz = rateHz
    this.mode = mode
  }

  next(): number {
    const p = this.persona
    if (this.mode === 'flat') return p.edaTonicPs
    this.walk += this.rng.gauss(800)
    this.walk -= floorDiv(this.walk, 64)
    // SCR onset with probability rate / (60 · fs) per sample
    if (this.rng.int(60 * this.rateHz * 100) < p.scrPerMinCenti) {
      this.scrs.push({ age: 0, amp: floorDiv(p.scrAmpPs * this.rng.range(50, 150), 100), value: 0 })
    }
    const rise = Math.max(1, floorDiv(3 * this.rateHz, 2))
    let phasic = 0
    for (const s of this.scrs) {
      if (s.age < rise) s.value = floorDiv(s.amp * (s.age + 1), rise)
      else s.value = floorDiv(s.value * 15, 16)
      s.age += 1
      phasic += s.value
    }
    while (this.scrs.length > 0 && this.scrs[0].age > rise && this.scrs[0].value < 100) this.scrs.shift()
    return Math.max(0, p.edaTonicPs + this.walk + phasic + this.rng.gauss(p.edaNoisePs))
  }
}

const BANDS_MILLI_HZ: Record<'delta' | 'theta' | 'alpha' | 'beta' | 'gamma', readonly [number, number]> = {
  delta: [1_500, 3_000],
  theta: [5_000, 7_000],
  alpha: [9_000, 11_000],
  beta: [16_000, 24_000],
  gamma: [32_000, 40_000],
}

interface Osc {
  ampNv: number
  inc: number
  phase: number
  gainPermille: number
  /** ampNv · gain, refreshed once per simulated second. */
  effNv: number
}

/**
 * One EEG channel in nanovolts at `fs`: five band oscillators (frequency drawn within the band per
 * device, amplitude modulated by a slow random gain), Voss–McCartney 1/f noise (8 octaves) and white
 * noise.
 */
export class EegGenerator {
  private readonly osc: Osc[]
  private readonly pinkRows = new Int32Array(8)
  private n = 0
  private readonly rng: Prng
  private readonly fs: number
  private readonly mode: SimMode
  private readonly pinkRowSigmaNv: number
  private readonly whiteSigmaNv: number
  constructor(persona: Persona, rng: Prng, fs: number, alphaScalePermille: number, mode: SimMode) {
    this.rng = rng
    this.fs = fs
    this.mode = mode
    const u = persona.eegUv
    this.osc = (Object.keys(BANDS_MILLI_HZ) as (keyof typeof BANDS_MILLI_HZ)[]).map((band) => {
      const [lo, hi] = BANDS_MILLI_HZ[band]
      const f = rng.range(lo, hi)
      let amp = u[band] * 1000
      if (band === 'alpha') amp = floorDiv(amp * alphaScalePermille, 1000)
      return {
        ampNv: amp,
        inc: floorDiv(f * 4294967296, fs * 1000), // f · 2^32 / fs
        phase: rng.next(),
        gainPermille: 1000,
        effNv: amp,
      }
    })
    this.pinkRowSigmaNv = Math.trunc((u.pink * 1000) / 3)
    this.whiteSigmaNv = u.white * 1000
  }

  next(): number {
    if (this.mode === 'flat') return 0
    let v = 0
    if (this.n % this.fs === 0) {
      // once per second, a new random gain per oscillator (mean-reverting towards 1)
      for (const o of this.osc) {
        o.gainPermille = Math.max(
          300,
          o.gainPermille + this.rng.gauss(150) - Math.trunc((o.gainPermille - 1000) / 4),
        )
        o.effNv = Math.trunc((o.ampNv * o.gainPermille) / 1000)
      }
    }
    for (const o of this.osc) {
      v += Math.floor((o.effNv * SIN[o.phase >>> 20]) / 16384)
      o.phase = (o.phase + o.inc) >>> 0
    }
    // Voss–McCartney: row k is redrawn every 2^k samples
    for (let k = 0; k < 8; k++) {
      if ((this.n & ((1 << k) - 1)) === 0) this.pinkRows[k] = this.rng.gauss(this.pinkRowSigmaNv)
      v += this.pinkRows[k]
    }
    v += this.rng.gauss(this.whiteSigmaNv)
    this.n += 1
    return v
  }
}
