/**
 * Simulated biometric devices behind the same `BiometricDevice` interface a real radio driver
 * implements, emitting the real wire formats (BLE 0x2A37 notifications, Muse 20-byte EEG packets,
 * a ThinkGear serial byte stream with occasional line noise, Empatica E4 EDA.csv), so every read
 * exercises the decoders. Deterministic: the same seed gives the same bytes. Time is a virtual
 * clock advanced by each read (no wall clock).
 *
 * Attacks: mode 'flat' (constant signal), mode 'sine' (RR as a perfect sinusoid), ReplayDevice
 * (returns its first window forever), CopyDevice (returns another validator's latest window under
 * its own id).
 */
import { encodeHeartRateMeasurement } from '../decode/ble-hrm.ts'
import { formatMicro } from '../decode/decimal.ts'
import { MUSE_CHANNELS, MUSE_UV_PER_COUNT, encodeMuseEegPacket } from '../decode/muse.ts'
import { TG_UV_PER_COUNT, encodeThinkGearPacket, rawRow } from '../decode/thinkgear.ts'
import { utf8 } from '@pulsemesh/core/bytes.ts'
import { clamp, roundDiv } from '../math/int.ts'
import type { BiometricDevice, DeviceKind, DeviceTier, RawChunk, RawWindow } from '../window.ts'
import { EdaGenerator, EegGenerator, RrGenerator, type SimMode } from './generators.ts'
import type { Persona } from './personas.ts'
import { Prng, childSeed } from './prng.ts'

export interface SimDeviceOptions {
  id: string
  kind: DeviceKind
  tier?: DeviceTier
  persona: Persona
  seed: number
  mode?: SimMode
  /** Virtual start time, ms since the UNIX epoch (default 1_700_000_000_000). */
  startMs?: number
}

const EDA_HZ = 4
const MUSE_HZ = 256
const TG_HZ = 512

export class SimulatedDevice implements BiometricDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  private readonly persona: Persona
  private readonly rng: Prng
  private readonly mode: SimMode
  private tMs: number
  // cardiac state
  private rr: RrGenerator | null = null
  private lastBeatUs = 0
  private pendingRrUs = 0
  private energyKj = 0
  private notifications = 0
  // EDA / EEG state
  private eda: EdaGenerator | null = null
  private eeg: EegGenerator[] = []
  private carry: number[][] = []
  private sequence = 0

  constructor(o: SimDeviceOptions) {
    this.id = o.id
    this.kind = o.kind
    this.tier = o.tier ?? 'consumer'
    this.persona = o.persona
    this.rng = new Prng(childSeed(o.seed, `${o.id}/${o.kind}`))
    this.mode = o.mode ?? 'honest'
    this.tMs = o.startMs ?? 1_700_000_000_000
    if (o.kind === 'ble-hrm') {
      this.rr = new RrGenerator(o.persona, this.rng, this.mode)
      this.pendingRrUs = this.rr.next(0)
    } else if (o.kind === 'e4') this.eda = new EdaGenerator(o.persona, this.rng, EDA_HZ, this.mode)
    else if (o.kind === 'muse') {
      this.eeg = MUSE_CHANNELS.map((ch) => {
        // AF8 (right) alpha scaled by the persona's asymmetry; a little per-channel variation
        const scale = ch === 'AF8' ? o.persona.alphaAsymPermille : ch === 'AF7' ? 1000 : 900
        return new EegGenerator(
          o.persona,
          new Prng(childSeed(o.seed, `${o.id}/${ch}`)),
          MUSE_HZ,
          scale,
          this.mode,
        )
      })
      this.carry = MUSE_CHANNELS.map(() => [])
    } else {
      this.eeg = [
        new EegGenerator(o.persona, new Prng(childSeed(o.seed, `${o.id}/Fp1`)), TG_HZ, 1000, this.mode),
      ]
      this.carry = [[]]
    }
  }

  async read(windowMs: number): Promise<RawWindow> {
    return this.readSync(windowMs)
  }

  /** Synchronous read (the simulator never waits). */
  readSync(windowMs: number): RawWindow {
    if (!Number.isInteger(windowMs) || windowMs % 1000 !== 0 || windowMs < 1000)
      throw new RangeError('simulated windows are whole seconds')
    const startMs = this.tMs
    const chunks =
      this.kind === 'ble-hrm'
        ? this.hrm(windowMs)
        : this.kind === 'e4'
          ? this.e4(startMs, windowMs)
          : this.kind === 'muse'
            ? this.muse(windowMs)
            : this.thinkgear(windowMs)
    this.tMs += windowMs
    return { deviceId: this.id, kind: this.kind, tier: this.tier, startMs, windowMs, chunks }
  }

  private hrm(windowMs: number): RawChunk[] {
    const chunks: RawChunk[] = []
    const rr = this.rr!
    const t0 = (this.tMs - 1_700_000_000_000) * 1000
    for (let s = 1; s <= windowMs / 1000; s++) {
      const secEnd = t0 + s * 1_000_000
      const rr1024: number[] = []
      let last = 0
      while (this.lastBeatUs + this.pendingRrUs <= secEnd && rr1024.length < 9) {
        this.lastBeatUs += this.pendingRrUs
        last = this.pendingRrUs
        rr1024.push(clamp(roundDiv(this.pendingRrUs * 16, 15_625), 1, 0xffff))
        this.pendingRrUs = rr.next(this.lastBeatUs)
      }
      this.notifications += 1
      if (this.notifications % 10 === 0) this.energyKj += 1
      const hr = last > 0 ? roundDiv(60_000_000, last) : roundDiv(60_000_000, this.pendingRrUs)
      chunks.push({
        tag: '2a37',
        bytes: encodeHeartRateMeasurement({
          heartRateBpm: clamp(hr, 0, 0xffff),
          sensorContact: 'detected',
          energyExpendedKj: this.notifications % 10 === 0 ? this.energyKj : null,
          rr1024,
          uint16: (this.notifications & 1) === 1 && this.rng.int(4) === 0,
        }),
      })
    }
    return chunks
  }

  private e4(startMs: number, windowMs: number): RawChunk[] {
    const eda = this.eda!
    const lines = [formatMicro(startMs * 1000), formatMicro(EDA_HZ * 1_000_000)]
    for (let i = 0; i < (windowMs / 1000) * EDA_HZ; i++) lines.push(formatMicro(eda.next()))
    return [{ tag: 'EDA.csv', bytes: utf8(`${lines.join('\n')}\n`) }]
  }

  private fill(ch: number, n: number, uvNum: number, uvDen: number, lo: number, hi: number): void {
    const g = this.eeg[ch]
    for (let i = 0; i < n; i++) {
      // nV -> counts: counts = nV · den / (num · 1000)
      this.carry[ch].push(clamp(roundDiv(g.next() * uvDen, uvNum * 1000), lo, hi))
    }
  }

  private muse(windowMs: number): RawChunk[] {
    const n = (windowMs / 1000) * MUSE_HZ
    for (let ch = 0; ch < MUSE_CHANNELS.length; ch++)
      this.fill(ch, n, MUSE_UV_PER_COUNT.num, MUSE_UV_PER_COUNT.den, -2048, 2047)
    const chunks: RawChunk[] = []
    const full = this.carry[0].length - (this.carry[0].length % 12)
    for (let o = 0; o < full; o += 12) {
      for (let ch = 0; ch < MUSE_CHANNELS.length; ch++) {
        chunks.push({
          tag: MUSE_CHANNELS[ch],
          bytes: encodeMuseEegPacket(this.sequence, this.carry[ch].slice(o, o + 12)),
        })
      }
      this.sequence = (this.sequence + 1) & 0xffff
    }
    // samples that do not fill a packet wait for the next window
    for (let ch = 0; ch < MUSE_CHANNELS.length; ch++) this.carry[ch] = this.carry[ch].slice(full)
    return chunks
  }

  private thinkgear(windowMs: number): RawChunk[] {
    const n = (windowMs / 1000) * TG_HZ
    this.fill(0, n, TG_UV_PER_COUNT.num, TG_UV_PER_COUNT.den, -32768, 32767)
    const parts: Uint8Array[] = []
    const samples = this.carry[0].splice(0, n)
    for (let i = 0; i < samples.length; i++) {
      if (i % TG_HZ === 0) {
        const asic = new Uint8Array(24)
        for (let k = 0; k < 24; k++) asic[k] = this.rng.int(256)
        parts.push(
          encodeThinkGearPacket([
            { code: 0x02, value: Uint8Array.of(this.mode === 'flat' ? 0 : this.rng.int(3)) },
            { code: 0x04, value: Uint8Array.of(this.rng.range(30, 70)) },
            { code: 0x05, value: Uint8Array.of(this.rng.range(30, 70)) },
            { code: 0x83, value: asic },
          ]),
        )
      }
      parts.push(encodeThinkGearPacket([rawRow(samples[i])]))
      // serial line noise: a few random bytes now and then; the parser must resynchronise
      if (this.rng.int(700) === 0) {
        const junk = new Uint8Array(this.rng.range(1, 6))
        for (let k = 0; k < junk.length; k++) junk[k] = this.rng.int(256)
        parts.push(junk)
      }
    }
    let total = 0
    for (const p of parts) total += p.length
    const all = new Uint8Array(total)
    let o = 0
    for (const p of parts) {
      all.set(p, o)
      o += p.length
    }
    const chunks: RawChunk[] = []
    for (let i = 0; i < all.length; i += 1024) chunks.push({ tag: 'serial', bytes: all.slice(i, i + 1024) })
    return chunks
  }
}

/** Replay attack: the first window is captured and returned again on every later read. */
export class ReplayDevice implements BiometricDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  private readonly inner: BiometricDevice
  private captured: RawWindow | null = null
  constructor(inner: BiometricDevice) {
    this.inner = inner
    this.id = inner.id
    this.kind = inner.kind
    this.tier = inner.tier
  }

  async read(windowMs: number): Promise<RawWindow> {
    if (this.captured === null) this.captured = await this.inner.read(windowMs)
    return this.captured
  }
}

/** Wraps a device and remembers its latest window (what a copying attacker would tap). */
export class TappedDevice implements BiometricDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  private readonly inner: BiometricDevice
  last: RawWindow | null = null
  constructor(inner: BiometricDevice) {
    this.inner = inner
    this.id = inner.id
    this.kind = inner.kind
    this.tier = inner.tier
  }

  async read(windowMs: number): Promise<RawWindow> {
    this.last = await this.inner.read(windowMs)
    return this.last
  }
}

/** Copy attack: presents another validator's latest window as its own device's. */
export class CopyDevice implements BiometricDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  private readonly victim: TappedDevice
  constructor(id: string, victim: TappedDevice) {
    this.id = id
    this.victim = victim
    this.kind = victim.kind
    this.tier = victim.tier
  }

  async read(windowMs: number): Promise<RawWindow> {
    const w = this.victim.last
    if (w === null || w.windowMs !== windowMs)
      throw new RangeError('CopyDevice: the victim has no window of that length yet')
    return { ...w, deviceId: this.id }
  }
}
