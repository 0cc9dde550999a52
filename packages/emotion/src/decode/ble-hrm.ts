/**
 * Bluetooth LE Heart Rate Measurement characteristic (assigned number 0x2A37,
 * org.bluetooth.characteristic.heart_rate_measurement; Heart Rate Service 1.0 §3.1):
 *   byte 0 flags: bit0 HR value format (0 = uint8, 1 = uint16 LE); bits1-2 sensor contact
 *   (0b0x not supported, 0b10 supported/not detected, 0b11 detected); bit3 Energy Expended present
 *   (uint16 LE, kJ); bit4 RR-Interval present (one or more uint16 LE, unit 1/1024 s); bits5-7 RFU
 *   (ignored, as the spec tells receivers to).
 * RR intervals are converted to integer microseconds: rrUs = round(rr · 10^6 / 1024) = round(rr ·
 * 15625 / 16), half up (max error 0.5 µs).
 */
import { roundDiv } from '../math/int.ts'
import { decodeFail, decodeTooLarge, requireBytes } from './fail.ts'

/** An ATT attribute value is at most 512 bytes (Core spec Vol 3 Part F §3.2.9). */
export const HRM_MAX_BYTES = 512

export type SensorContact = 'not-supported' | 'not-detected' | 'detected'

export interface HeartRateMeasurement {
  readonly flags: number
  readonly heartRateBpm: number
  readonly sensorContact: SensorContact
  /** Cumulative energy expended in kJ, or null when the field is absent. */
  readonly energyExpendedKj: number | null
  /** RR intervals as sent, unit 1/1024 s (oldest first). */
  readonly rr1024: readonly number[]
  /** The same RR intervals in microseconds, half-up rounded. */
  readonly rrUs: readonly number[]
}

export function rr1024ToUs(rr: number): number {
  return roundDiv(rr * 15625, 16)
}

export function decodeHeartRateMeasurement(input: Uint8Array): HeartRateMeasurement {
  const b = requireBytes(input, 'HRM')
  if (b.length > HRM_MAX_BYTES)
    decodeTooLarge('HRM_TOO_LARGE', `HRM value over ${HRM_MAX_BYTES} bytes`, { length: b.length })
  if (b.length < 2)
    decodeFail('HRM_TRUNCATED', 'HRM value shorter than flags + uint8 heart rate', { length: b.length })
  const flags = b[0]
  let o = 1
  let heartRateBpm: number
  if (flags & 0x01) {
    if (b.length < 3) decodeFail('HRM_TRUNCATED', 'HRM uint16 heart rate truncated', { length: b.length })
    heartRateBpm = b[1] | (b[2] << 8)
    o = 3
  } else {
    heartRateBpm = b[1]
    o = 2
  }
  const contactBits = (flags >> 1) & 0x03
  const sensorContact: SensorContact =
    contactBits === 3 ? 'detected' : contactBits === 2 ? 'not-detected' : 'not-supported'
  let energyExpendedKj: number | null = null
  if (flags & 0x08) {
    if (b.length < o + 2) decodeFail('HRM_TRUNCATED', 'HRM energy expended truncated', { length: b.length })
    energyExpendedKj = b[o] | (b[o + 1] << 8)
    o += 2
  }
  const rr1024: number[] = []
  const rrUs: number[] = []
  if (flags & 0x10) {
    if ((b.length - o) % 2 !== 0)
      decodeFail('HRM_RR_ODD', 'HRM RR-interval field has an odd byte count', { length: b.length })
    for (; o < b.length; o += 2) {
      const rr = b[o] | (b[o + 1] << 8)
      rr1024.push(rr)
      rrUs.push(rr1024ToUs(rr))
    }
  } else if (o !== b.length) {
    decodeFail('HRM_TRAILING_BYTES', 'HRM value has bytes after its last field', {
      length: b.length,
      used: o,
    })
  }
  return { flags, heartRateBpm, sensorContact, energyExpendedKj, rr1024, rrUs }
}

export interface HeartRateMeasurementInput {
  heartRateBpm: number
  /** Force the uint16 format (it is used anyway when heartRateBpm > 255). */
  uint16?: boolean
  sensorContact?: SensorContact
  energyExpendedKj?: number | null
  rr1024?: readonly number[]
}

/** Encodes a Heart Rate Measurement value (used by the simulator and tests). */
export function encodeHeartRateMeasurement(m: HeartRateMeasurementInput): Uint8Array {
  const u16 = m.uint16 === true || m.heartRateBpm > 255
  if (!Number.isInteger(m.heartRateBpm) || m.heartRateBpm < 0 || m.heartRateBpm > 0xffff)
    throw new RangeError('heartRateBpm out of range')
  const rr = m.rr1024 ?? []
  let flags = u16 ? 0x01 : 0
  if (m.sensorContact === 'detected') flags |= 0x06
  else if (m.sensorContact === 'not-detected') flags |= 0x04
  const energy = m.energyExpendedKj ?? null
  if (energy !== null) flags |= 0x08
  if (rr.length > 0) flags |= 0x10
  const out: number[] = [flags]
  if (u16) out.push(m.heartRateBpm & 0xff, m.heartRateBpm >> 8)
  else out.push(m.heartRateBpm)
  if (energy !== null) out.push(energy & 0xff, (energy >> 8) & 0xff)
  for (const v of rr) {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) throw new RangeError('rr1024 value out of range')
    out.push(v & 0xff, v >> 8)
  }
  if (out.length > HRM_MAX_BYTES) throw new RangeError('HRM value too large')
  return Uint8Array.from(out)
}
