/**
 * The local agent's pipeline: raw device windows -> decoded series -> features -> QuantizedFeatures.
 * One source per modality: RR from a BLE heart-rate strap or the E4's IBI.csv, EDA from the E4's
 * EDA.csv, EEG from a Muse or a NeuroSky headset. The weakest device tier of the bundle is the tier.
 * Decoding problems surface as DecodeError; inconsistent bundles as PulseError EMOTION_BAD_BUNDLE.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { decodeHeartRateMeasurement } from './decode/ble-hrm.ts'
import { parseE4Ibi, parseE4Signal } from './decode/e4-csv.ts'
import { decodeFail } from './decode/fail.ts'
import {
  MUSE_CHANNELS,
  MUSE_SAMPLE_RATE_HZ,
  MUSE_UV_PER_COUNT,
  assembleMuseChannel,
  decodeMuseEegPacket,
  type MuseEegPacket,
} from './decode/muse.ts'
import { TG_SAMPLE_RATE_HZ, TG_UV_PER_COUNT, ThinkGearStreamParser } from './decode/thinkgear.ts'
import { type EdaFeatures, edaFeatures } from './features/eda.ts'
import {
  type BandPowers,
  type UvPerCount,
  frontalAlphaAsymmetryMilli,
  welchBandPowers,
} from './features/eeg.ts'
import { type HrvFeatures, hrvFeatures } from './features/hrv.ts'
import { channelQuality } from './features/quality.ts'
import { sampleEntropyMilli } from './features/sampen.ts'
import { floorDiv, roundDiv, roundDivBig } from './math/int.ts'
import { DEFAULT_EMOTION_PARAMS, type EmotionParams } from './params.ts'
import {
  MOD_EDA,
  MOD_EEG,
  MOD_FAA,
  MOD_RR,
  type QuantizedFeatures,
  emptyQuantizedFeatures,
} from './quantized.ts'
import { type DeviceTier, type RawWindow, checkWindow } from './window.ts'

export interface EegChannelFeatures {
  readonly name: string
  readonly samples: number
  readonly quality: number
  readonly flatSamples: number
  readonly used: boolean
  readonly powers: BandPowers | null
}

export interface WindowFeatures {
  readonly tier: DeviceTier
  readonly windowMs: number
  readonly hrv: HrvFeatures | null
  readonly sampEnMilli: number | null
  readonly rrQuality: number
  readonly eda: EdaFeatures | null
  readonly edaQuality: number
  readonly eeg: readonly EegChannelFeatures[]
  readonly quantized: QuantizedFeatures
}

const TIER_RANK: Record<DeviceTier, number> = { consumer: 0, professional: 1, medical: 2 }
const SAFE_LO = Number.MIN_SAFE_INTEGER
const SAFE_HI = Number.MAX_SAFE_INTEGER

function flatSampleCount(x: ArrayLike<number>, runMin: number): number {
  let flat = 0
  let start = 0
  for (let i = 1; i <= x.length; i++) {
    if (i === x.length || x[i] !== x[start]) {
      if (i - start >= runMin) flat += i - start
      start = i
    }
  }
  return flat
}

function rrFromWindow(w: RawWindow): { rrUs: number[]; excluded: number } {
  const rrUs: number[] = []
  let excluded = 0
  if (w.kind === 'ble-hrm') {
    for (const c of w.chunks) {
      if (c.tag !== '2a37') decodeFail('WINDOW_BAD_TAG', 'BLE HRM chunks are tagged 2a37', { tag: c.tag })
      const m = decodeHeartRateMeasurement(c.bytes)
      // beats measured without skin contact are not physiology: keep their slots as rejected
      for (const rr of m.rrUs) rrUs.push(m.sensorContact === 'not-detected' ? 0 : rr)
      if (m.sensorContact === 'not-detected') excluded += m.rrUs.length
    }
  } else {
    const ibi = w.chunks.find((c) => c.tag === 'IBI.csv')
    if (ibi) {
      const f = parseE4Ibi(ibi.bytes)
      for (let i = 0; i < f.ibiUs.length; i++) {
        // a jump in offsets longer than the interval means beats were not detected: break adjacency
        if (i > 0 && f.offsetUs[i] - f.offsetUs[i - 1] > f.ibiUs[i] + 250_000) rrUs.push(0)
        rrUs.push(f.ibiUs[i])
      }
    }
  }
  return { rrUs, excluded }
}

function museChannels(
  w: RawWindow,
  maxSamples: number,
): { name: string; samples: Int32Array; missing: number }[] {
  const byTag = new Map<string, MuseEegPacket[]>()
  for (const name of MUSE_CHANNELS) byTag.set(name, [])
  for (const c of w.chunks) {
    const list = byTag.get(c.tag)
    if (!list) decodeFail('WINDOW_BAD_TAG', 'Muse chunks are tagged TP9, AF7, AF8 or TP10', { tag: c.tag })
    list.push(decodeMuseEegPacket(c.bytes))
  }
  return MUSE_CHANNELS.map((name) => {
    const s = assembleMuseChannel(byTag.get(name)!, maxSamples)
    return { name, samples: s.samples, missing: s.missing }
  })
}

function eegChannelFeatures(
  name: string,
  samples: Int32Array,
  missing: number,
  fs: number,
  uv: UvPerCount,
  rail: number,
  poorSignalPenalty: number,
  p: EmotionParams,
): EegChannelFeatures {
  // range: |µV| <= 500 (blinks reach a few hundred µV; beyond that it is electrode pop or motion)
  const maxCounts = floorDiv(p.quality.eegMaxUv * uv.den, uv.num)
  const flatRun = Math.max(4, floorDiv(fs, p.quality.eegFlatRunDivisor))
  let quality = channelQuality(
    samples,
    { flatRunMin: flatRun, railLo: -rail, railHi: rail - 1, minValue: -maxCounts, maxValue: maxCounts },
    missing,
  )
  quality = Math.max(0, quality - poorSignalPenalty)
  const used = quality >= p.minChannelQuality
  return {
    name,
    samples: samples.length,
    quality,
    flatSamples: flatSampleCount(samples, flatRun),
    used,
    powers: used ? welchBandPowers(samples, fs, uv, fs) : null,
  }
}

function ratioBp(a: number, b: number): number {
  return b <= 0 ? 0 : Number(roundDivBig(BigInt(a) * 10_000n, BigInt(b)))
}

function ratioMilli(a: number, b: number): number {
  return b <= 0 ? 0 : Math.min(0xffffffff, Number(roundDivBig(BigInt(a) * 1000n, BigInt(b))))
}

export function extractFeatures(
  input: readonly RawWindow[],
  p: EmotionParams = DEFAULT_EMOTION_PARAMS,
): WindowFeatures {
  const windows: readonly RawWindow[] = Array.isArray(input) ? input : []
  if (windows.length === 0 || windows.length > 8)
    throw new PulseError('EMOTION_BAD_BUNDLE', 'need 1..8 device windows')
  for (const w of windows) checkWindow(w)
  const windowMs = windows[0].windowMs
  if (windows.some((w) => w.windowMs !== windowMs))
    throw new PulseError('EMOTION_BAD_BUNDLE', 'device windows differ in length')
  const rrSrc = windows.filter(
    (w) => w.kind === 'ble-hrm' || (w.kind === 'e4' && w.chunks.some((c) => c.tag === 'IBI.csv')),
  )
  const edaSrc = windows.filter((w) => w.kind === 'e4' && w.chunks.some((c) => c.tag === 'EDA.csv'))
  const eegSrc = windows.filter((w) => w.kind === 'muse' || w.kind === 'thinkgear')
  if (rrSrc.length > 1 || edaSrc.length > 1 || eegSrc.length > 1)
    throw new PulseError('EMOTION_BAD_BUNDLE', 'more than one source for a modality')
  let tier: DeviceTier = 'medical'
  for (const w of windows) if (TIER_RANK[w.tier] < TIER_RANK[tier]) tier = w.tier

  const q = emptyQuantizedFeatures(windowMs)
  const windowUs = windowMs * 1000

  // --- cardiac
  let hrv: HrvFeatures | null = null
  let sampEn: number | null = null
  let rrQuality = 0
  if (rrSrc.length === 1) {
    const { rrUs } = rrFromWindow(rrSrc[0])
    if (rrUs.length > (2 * windowMs) / 300)
      decodeFail('WINDOW_TOO_MANY_BEATS', 'more RR intervals than the window can hold')
    hrv = hrvFeatures(rrUs, p.rrArtifact)
    let covered = 0
    for (const x of hrv.acceptedRrUs) covered += x
    rrQuality = floorDiv(100 * Math.min(covered, windowUs), windowUs)
    const r = roundDiv(hrv.sdnnUs * p.sampEnRPermille, 1000)
    sampEn = sampleEntropyMilli(hrv.acceptedRrUs, r)
    q.modalities |= MOD_RR
    q.beats = Math.min(hrv.beats, 2_000)
    q.rrArtifactBp = rrUs.length > 0 ? roundDiv(10_000 * hrv.rejected, rrUs.length) : 0
    q.hrCentiBpm = Math.min(hrv.hrCentiBpm, 30_000)
    q.rmssdUs = Math.min(hrv.rmssdUs, 2_000_000)
    q.sdnnUs = Math.min(hrv.sdnnUs, 2_000_000)
    q.pnn50Bp = hrv.pnn50Bp
    q.sampEnMilli = Math.min(sampEn ?? 0, 20_000)
    q.rrQuality = rrQuality
  }

  // --- electrodermal
  let eda: EdaFeatures | null = null
  let edaQuality = 0
  if (edaSrc.length === 1) {
    const f = parseE4Signal('EDA', edaSrc[0].chunks.find((c) => c.tag === 'EDA.csv')!.bytes)
    if (f.rateMicroHz % 1_000_000 !== 0 || f.rateMicroHz > 64_000_000)
      decodeFail('E4_UNSUPPORTED_RATE', 'EDA rate must be a whole number of Hz up to 64')
    const hz = f.rateMicroHz / 1_000_000
    if (f.values.length > hz * (windowMs / 1000) + hz)
      decodeFail('WINDOW_TOO_MANY_SAMPLES', 'EDA file longer than the window')
    // 0..1000 µS covers any skin (and any E4 output); it also keeps every sum far below 2^53
    for (const v of f.values)
      if (v < 0 || v > 1_000_000_000)
        decodeFail('E4_VALUE_RANGE', 'EDA sample outside 0..1000 µS', { value: v })
    eda = edaFeatures(f.values, hz, p.eda)
    edaQuality = channelQuality(f.values, {
      flatRunMin: p.quality.edaFlatRunS * hz,
      railLo: SAFE_LO,
      railHi: SAFE_HI,
      minValue: p.quality.edaMinPs,
      maxValue: p.quality.edaMaxPs,
    })
    q.modalities |= MOD_EDA
    q.edaTonicNanoS = Math.min(1_000_000, Math.max(0, roundDiv(eda.tonicPs, 1000)))
    q.edaRangeNanoS = Math.min(1_000_000, roundDiv(eda.rangePs, 1000))
    q.scrCount = Math.min(10_000, eda.scrCount)
    q.scrPerMinCenti = Math.min(1_000_000, eda.scrPerMinCenti)
    q.edaQuality = edaQuality
  }

  // --- EEG
  let eeg: EegChannelFeatures[] = []
  if (eegSrc.length === 1) {
    const w = eegSrc[0]
    if (w.kind === 'muse') {
      const maxSamples = (MUSE_SAMPLE_RATE_HZ * windowMs) / 1000 + 2 * 12
      eeg = museChannels(w, maxSamples).map((c) =>
        eegChannelFeatures(c.name, c.samples, c.missing, MUSE_SAMPLE_RATE_HZ, MUSE_UV_PER_COUNT, 2048, 0, p),
      )
    } else {
      const parser = new ThinkGearStreamParser()
      const raw: number[] = []
      let poorSum = 0
      let poorN = 0
      const maxSamples = (TG_SAMPLE_RATE_HZ * windowMs) / 1000 + 512
      for (const c of w.chunks) {
        if (c.tag !== 'serial')
          decodeFail('WINDOW_BAD_TAG', 'ThinkGear chunks are tagged serial', { tag: c.tag })
        for (const pk of parser.push(c.bytes)) {
          for (const s of pk.raw) raw.push(s)
          if (pk.poorSignal !== null) {
            poorSum += pk.poorSignal
            poorN += 1
          }
        }
        if (raw.length > maxSamples)
          decodeFail('WINDOW_TOO_MANY_SAMPLES', 'ThinkGear stream longer than the window')
      }
      // POOR_SIGNAL 0..200 (200 = no contact) lowers quality proportionally
      const penalty = poorN > 0 ? roundDiv(100 * poorSum, 200 * poorN) : 0
      eeg = [
        eegChannelFeatures(
          'Fp1',
          Int32Array.from(raw),
          0,
          TG_SAMPLE_RATE_HZ,
          TG_UV_PER_COUNT,
          32768,
          penalty,
          p,
        ),
      ]
    }
    q.modalities |= MOD_EEG
    const used = eeg.filter((c) => c.used && c.powers !== null)
    let totalSamples = 0
    let flat = 0
    let qsum = 0
    for (const c of eeg) {
      totalSamples += c.samples
      flat += c.flatSamples
      qsum += c.quality
    }
    q.eegQuality = eeg.length > 0 ? floorDiv(qsum, eeg.length) : 0
    q.eegFlatBp = totalSamples > 0 ? roundDiv(10_000 * flat, totalSamples) : 0
    q.eegChannels = used.length
    if (used.length > 0) {
      const mean = (k: 'delta' | 'theta' | 'alpha' | 'beta' | 'gamma' | 'total') => {
        let s = 0
        for (const c of used) s += c.powers![k]
        return roundDiv(s, used.length)
      }
      const b = {
        delta: mean('delta'),
        theta: mean('theta'),
        alpha: mean('alpha'),
        beta: mean('beta'),
        gamma: mean('gamma'),
      }
      const total = b.delta + b.theta + b.alpha + b.beta + b.gamma
      q.deltaBp = ratioBp(b.delta, total)
      q.thetaBp = ratioBp(b.theta, total)
      q.alphaBp = ratioBp(b.alpha, total)
      q.betaBp = ratioBp(b.beta, total)
      q.gammaBp = ratioBp(b.gamma, total)
      q.eegTotalUv2 = Math.min(0xffffffff, roundDiv(total, 1000))
      q.engagementMilli = ratioMilli(b.beta, b.alpha + b.theta)
      q.thetaAlphaMilli = ratioMilli(b.theta, b.alpha)
      const af7 = used.find((c) => c.name === 'AF7')
      const af8 = used.find((c) => c.name === 'AF8')
      if (af7 && af8) {
        q.modalities |= MOD_FAA
        q.faaMilliNp = Math.max(
          -1_000_000,
          Math.min(1_000_000, frontalAlphaAsymmetryMilli(af7.powers!.alpha, af8.powers!.alpha)),
        )
      }
    }
  }
  return { tier, windowMs, hrv, sampEnMilli: sampEn, rrQuality, eda, edaQuality, eeg, quantized: q }
}
