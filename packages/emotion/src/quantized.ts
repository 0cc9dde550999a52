/**
 * QuantizedFeatures: the integer feature record that goes on chain inside an attestation, and its
 * canonical binary encoding. Scores are recomputed from this record alone (scores.ts), so every
 * node derives the same score from the same bytes. Units are fixed and part of the format:
 *
 * field              unit / range
 * version            1
 * windowMs           window length, ms (10_000..300_000)
 * modalities         bit 0 RR, bit 1 EDA, bit 2 EEG, bit 3 FAA (two frontal channels)
 * beats              accepted RR intervals
 * rrArtifactBp       rejected / all RR, basis points (0..10_000)
 * hrCentiBpm         mean heart rate, bpm · 100
 * rmssdUs, sdnnUs    microseconds
 * pnn50Bp            basis points
 * sampEnMilli        sample entropy of RR (m = 2, r = 0.2·SDNN), milli-nepers
 * rrQuality          0..100
 * edaTonicNanoS      skin conductance level, nanosiemens
 * edaRangeNanoS      max − min of smoothed EDA, nanosiemens
 * scrCount           phasic responses in the window
 * scrPerMinCenti     responses per minute · 100
 * edaQuality         0..100
 * eegChannels        channels used for band powers
 * deltaBp..gammaBp   relative band power (band / sum of bands), basis points
 * eegTotalUv2        absolute 1..45 Hz power, µV² (mean over used channels, saturates at 2^32 − 1)
 * engagementMilli    beta / (alpha + theta) · 1000 (Pope et al. 1995)
 * thetaAlphaMilli    theta / alpha · 1000
 * faaMilliNp         ln(alpha AF8) − ln(alpha AF7), milli-nepers, signed
 * eegQuality         0..100
 * eegFlatBp          share of EEG samples inside flat runs (frozen/synthetic), basis points
 *
 * Encoding: 28 fields in the order above, each a 4-byte big-endian integer (faaMilliNp two's
 * complement, the rest unsigned): exactly 112 bytes, one encoding per record.
 */
import { PulseError } from '@pulsemesh/core/errors.ts'
import { decodeFail, decodeTooLarge, requireBytes } from './decode/fail.ts'

export const QF_VERSION = 1
export const MOD_RR = 1
export const MOD_EDA = 2
export const MOD_EEG = 4
export const MOD_FAA = 8

export interface QuantizedFeatures {
  version: number
  windowMs: number
  modalities: number
  beats: number
  rrArtifactBp: number
  hrCentiBpm: number
  rmssdUs: number
  sdnnUs: number
  pnn50Bp: number
  sampEnMilli: number
  rrQuality: number
  edaTonicNanoS: number
  edaRangeNanoS: number
  scrCount: number
  scrPerMinCenti: number
  edaQuality: number
  eegChannels: number
  deltaBp: number
  thetaBp: number
  alphaBp: number
  betaBp: number
  gammaBp: number
  eegTotalUv2: number
  engagementMilli: number
  thetaAlphaMilli: number
  faaMilliNp: number
  eegQuality: number
  eegFlatBp: number
}

/** Field order of the encoding, with inclusive bounds checked on both encode and decode. */
export const QF_FIELDS: readonly (readonly [keyof QuantizedFeatures, number, number])[] = [
  ['version', 1, 1],
  ['windowMs', 10_000, 300_000],
  ['modalities', 0, 15],
  ['beats', 0, 2_000],
  ['rrArtifactBp', 0, 10_000],
  ['hrCentiBpm', 0, 30_000],
  ['rmssdUs', 0, 2_000_000],
  ['sdnnUs', 0, 2_000_000],
  ['pnn50Bp', 0, 10_000],
  ['sampEnMilli', 0, 20_000],
  ['rrQuality', 0, 100],
  ['edaTonicNanoS', 0, 1_000_000],
  ['edaRangeNanoS', 0, 1_000_000],
  ['scrCount', 0, 10_000],
  ['scrPerMinCenti', 0, 1_000_000],
  ['edaQuality', 0, 100],
  ['eegChannels', 0, 16],
  ['deltaBp', 0, 10_000],
  ['thetaBp', 0, 10_000],
  ['alphaBp', 0, 10_000],
  ['betaBp', 0, 10_000],
  ['gammaBp', 0, 10_000],
  ['eegTotalUv2', 0, 0xffffffff],
  ['engagementMilli', 0, 0xffffffff],
  ['thetaAlphaMilli', 0, 0xffffffff],
  ['faaMilliNp', -1_000_000, 1_000_000],
  ['eegQuality', 0, 100],
  ['eegFlatBp', 0, 10_000],
]
export const QF_BYTES = QF_FIELDS.length * 4

function checkField(name: string, v: unknown, lo: number, hi: number, asDecode: boolean): void {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < lo || v > hi) {
    if (asDecode)
      decodeFail('QF_FIELD_RANGE', `quantized feature ${name} out of range`, { field: name, value: v })
    throw new PulseError('EMOTION_QF_RANGE', `quantized feature ${name} out of range ${lo}..${hi}`, {
      field: name,
      value: v,
    })
  }
}

/** Throws PulseError EMOTION_QF_RANGE unless every field is an integer within its range. */
export function checkQuantizedFeatures(q: QuantizedFeatures): void {
  if (typeof q !== 'object' || q === null)
    throw new PulseError('EMOTION_QF_RANGE', 'quantized features must be an object')
  for (const [name, lo, hi] of QF_FIELDS) checkField(name, q[name], lo, hi, false)
}

export function encodeQuantizedFeatures(q: QuantizedFeatures): Uint8Array {
  if (typeof q !== 'object' || q === null)
    throw new PulseError('EMOTION_QF_RANGE', 'quantized features must be an object')
  const out = new Uint8Array(QF_BYTES)
  const dv = new DataView(out.buffer)
  QF_FIELDS.forEach(([name, lo, hi], i) => {
    const v = q[name]
    checkField(name, v, lo, hi, false)
    if (lo < 0) dv.setInt32(4 * i, v)
    else dv.setUint32(4 * i, v)
  })
  return out
}

export function decodeQuantizedFeatures(input: Uint8Array): QuantizedFeatures {
  const b = requireBytes(input, 'QuantizedFeatures')
  if (b.length > QF_BYTES)
    decodeTooLarge('QF_TOO_LARGE', `QuantizedFeatures is ${QF_BYTES} bytes`, { length: b.length })
  if (b.length < QF_BYTES)
    decodeFail('QF_TRUNCATED', `QuantizedFeatures is ${QF_BYTES} bytes`, { length: b.length })
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  const q = {} as Record<string, number>
  QF_FIELDS.forEach(([name, lo, hi], i) => {
    const v = lo < 0 ? dv.getInt32(4 * i) : dv.getUint32(4 * i)
    checkField(name, v, lo, hi, true)
    q[name] = v
  })
  return q as unknown as QuantizedFeatures
}

/** An all-zero record (no modality) for a window length. */
export function emptyQuantizedFeatures(windowMs: number): QuantizedFeatures {
  const q = {} as Record<string, number>
  for (const [name] of QF_FIELDS) q[name] = 0
  q.version = QF_VERSION
  q.windowMs = windowMs
  return q as unknown as QuantizedFeatures
}
