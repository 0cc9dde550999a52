/**
 * Muse (2016 / Muse 2) EEG notifications: one GATT characteristic per electrode (TP9, AF7, AF8, TP10;
 * UUIDs 273e0003..0006-4c4d-454d-96be-f03bac821358), 256 Hz. Each 20-byte notification is
 *   bytes 0-1: packet sequence number, uint16 big-endian (wraps at 65536)
 *   bytes 2-19: 12 samples × 12 bits, packed big-endian (sample 2i = b0<<4 | b1>>4,
 *               sample 2i+1 = (b1 & 0x0f)<<8 | b2 for each 3-byte group)
 * Samples are offset binary: µV = 0.48828125 · (raw − 2048) (interaxon developer docs, as used by
 * muse-js `decodeEEGSamples`). We keep integer *counts* c = raw − 2048 in −2048..2047; the exact
 * conversion is µV = c · 125/256 (0.48828125 = 125/256), applied with rounding only when features
 * are reported in physical units.
 */
import { decodeFail, decodeTooLarge, requireBytes } from './fail.ts'

export const MUSE_CHANNELS = ['TP9', 'AF7', 'AF8', 'TP10'] as const
export type MuseChannel = (typeof MUSE_CHANNELS)[number]
export const MUSE_PACKET_BYTES = 20
export const MUSE_SAMPLES_PER_PACKET = 12
export const MUSE_SAMPLE_RATE_HZ = 256
/** µV per count as an exact ratio (0.48828125 = 125/256). */
export const MUSE_UV_PER_COUNT = { num: 125, den: 256 } as const
/** A sequence gap longer than this many packets (≈ 6 s) is not filled: the stream is rejected. */
export const MUSE_MAX_GAP_PACKETS = 128

export interface MuseEegPacket {
  readonly sequence: number
  /** Centered counts (raw − 2048), −2048..2047. */
  readonly samples: Int16Array
}

export function decodeMuseEegPacket(input: Uint8Array): MuseEegPacket {
  const b = requireBytes(input, 'Muse EEG packet')
  if (b.length > MUSE_PACKET_BYTES)
    decodeTooLarge('MUSE_TOO_LARGE', 'Muse EEG packet longer than 20 bytes', { length: b.length })
  if (b.length < MUSE_PACKET_BYTES)
    decodeFail('MUSE_TRUNCATED', 'Muse EEG packet shorter than 20 bytes', { length: b.length })
  const sequence = (b[0] << 8) | b[1]
  const samples = new Int16Array(MUSE_SAMPLES_PER_PACKET)
  for (let g = 0; g < 6; g++) {
    const o = 2 + 3 * g
    samples[2 * g] = ((b[o] << 4) | (b[o + 1] >> 4)) - 2048
    samples[2 * g + 1] = (((b[o + 1] & 0x0f) << 8) | b[o + 2]) - 2048
  }
  return { sequence, samples }
}

/** Encodes a packet from centered counts (−2048..2047). */
export function encodeMuseEegPacket(sequence: number, counts: ArrayLike<number>): Uint8Array {
  if (!Number.isInteger(sequence) || sequence < 0 || sequence > 0xffff)
    throw new RangeError('sequence must be uint16')
  if (counts.length !== MUSE_SAMPLES_PER_PACKET) throw new RangeError('a Muse packet holds 12 samples')
  const out = new Uint8Array(MUSE_PACKET_BYTES)
  out[0] = sequence >> 8
  out[1] = sequence & 0xff
  for (let g = 0; g < 6; g++) {
    const a = counts[2 * g] + 2048
    const c = counts[2 * g + 1] + 2048
    if (!(Number.isInteger(a) && Number.isInteger(c) && a >= 0 && a <= 4095 && c >= 0 && c <= 4095))
      throw new RangeError('count out of range')
    const o = 2 + 3 * g
    out[o] = a >> 4
    out[o + 1] = ((a & 0x0f) << 4) | (c >> 8)
    out[o + 2] = c & 0xff
  }
  return out
}

export interface MuseChannelSeries {
  /** Centered counts in arrival order, sequence gaps filled by holding the last sample. */
  readonly samples: Int32Array
  /** Samples that were filled (missing packets × 12). */
  readonly missing: number
  /** Packets dropped as duplicates or out of order. */
  readonly dropped: number
}

/**
 * Joins one channel's packets (in arrival order) into a sample series. A forward jump of the
 * sequence number (mod 2^16) fills the lost packets; a backward or zero step is a duplicate or late
 * packet and is dropped. Bounded by `maxSamples`.
 */
export function assembleMuseChannel(
  packets: readonly MuseEegPacket[],
  maxSamples: number,
): MuseChannelSeries {
  let out = new Int32Array(
    Math.max(MUSE_SAMPLES_PER_PACKET, Math.min(maxSamples, packets.length * MUSE_SAMPLES_PER_PACKET)),
  )
  let len = 0
  let missing = 0
  let dropped = 0
  let prev = -1
  const ensure = (n: number) => {
    if (n > maxSamples)
      decodeTooLarge('MUSE_TOO_MANY_SAMPLES', 'Muse channel exceeds the window sample limit', { maxSamples })
    if (n > out.length) {
      const g = new Int32Array(Math.min(maxSamples, 2 * n))
      g.set(out.subarray(0, len))
      out = g
    }
  }
  for (const p of packets) {
    if (prev >= 0) {
      const step = (p.sequence - prev + 65536) % 65536
      if (step === 0 || step >= 32768) {
        dropped += 1
        continue
      }
      if (step - 1 > MUSE_MAX_GAP_PACKETS)
        decodeFail('MUSE_GAP_TOO_LONG', 'Muse sequence gap too long to fill', { from: prev, to: p.sequence })
      const fill = (step - 1) * MUSE_SAMPLES_PER_PACKET
      if (fill > 0) {
        ensure(len + fill)
        out.fill(len > 0 ? out[len - 1] : 0, len, len + fill)
        len += fill
        missing += fill
      }
    }
    ensure(len + MUSE_SAMPLES_PER_PACKET)
    out.set(p.samples, len)
    len += MUSE_SAMPLES_PER_PACKET
    prev = p.sequence
  }
  return { samples: out.slice(0, len), missing, dropped }
}
