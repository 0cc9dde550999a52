/**
 * NeuroSky ThinkGear serial stream ("ThinkGear Communications Protocol", NeuroSky developer docs):
 *   [0xAA][0xAA][PLENGTH][PAYLOAD × PLENGTH][CHKSUM]
 *   PLENGTH 0..169 (170 = 0xAA is another SYNC; above 170 is invalid);
 *   CHKSUM = ~(sum of payload bytes) & 0xFF.
 * The payload is a sequence of DataRows: zero or more EXCODE bytes (0x55), a CODE, then for
 * CODE < 0x80 one value byte, for CODE >= 0x80 a VLENGTH byte and VLENGTH value bytes. Codes used:
 *   0x02 POOR_SIGNAL (0..200, 200 = no skin contact), 0x04 ATTENTION (eSense 0..100),
 *   0x05 MEDITATION (eSense 0..100), 0x80 RAW wave (2 bytes, big-endian signed int16, 512 Hz),
 *   0x83 ASIC_EEG_POWER (8 × 3-byte big-endian unsigned: delta, theta, low/high alpha,
 *   low/high beta, low/mid gamma). Other codes, and rows at EXCODE level > 0, are skipped.
 * Raw counts to µV: raw · 1.8 / 4096 / 2000 V = raw · 225/1024 µV.
 */
import { concatBytes } from '@pulsemesh/core/bytes.ts'
import { DecodeError } from '@pulsemesh/core/errors.ts'
import { decodeFail, decodeTooLarge, requireBytes } from './fail.ts'

export const TG_SYNC = 0xaa
export const TG_EXCODE = 0x55
export const TG_MAX_PAYLOAD = 169
export const TG_SAMPLE_RATE_HZ = 512
export const TG_UV_PER_COUNT = { num: 225, den: 1024 } as const
/** Largest chunk accepted by one `push` (bounds the work per call). */
export const TG_MAX_CHUNK_BYTES = 1 << 20

export interface ThinkGearPacket {
  poorSignal: number | null
  attention: number | null
  meditation: number | null
  /** Raw wave samples (int16 counts) in payload order. */
  raw: number[]
  /** ASIC EEG powers (8 bands, unsigned 24-bit), or null when absent. */
  asicEegPower: number[] | null
  /** Rows skipped because their code is not interpreted here. */
  skippedRows: number
}

export function thinkGearChecksum(payload: Uint8Array): number {
  let s = 0
  for (let i = 0; i < payload.length; i++) s += payload[i]
  return ~s & 0xff
}

export function decodeThinkGearPayload(input: Uint8Array): ThinkGearPacket {
  const p = requireBytes(input, 'ThinkGear payload')
  if (p.length > TG_MAX_PAYLOAD)
    decodeTooLarge('TG_PAYLOAD_TOO_LARGE', 'ThinkGear payload over 169 bytes', { length: p.length })
  const out: ThinkGearPacket = {
    poorSignal: null,
    attention: null,
    meditation: null,
    raw: [],
    asicEegPower: null,
    skippedRows: 0,
  }
  let i = 0
  while (i < p.length) {
    let level = 0
    while (i < p.length && p[i] === TG_EXCODE) {
      level += 1
      i += 1
    }
    if (i >= p.length)
      decodeFail('TG_ROW_TRUNCATED', 'ThinkGear row has EXCODE bytes but no CODE', { offset: i })
    const code = p[i++]
    let vlen = 1
    if (code >= 0x80) {
      if (i >= p.length) decodeFail('TG_ROW_TRUNCATED', 'ThinkGear row missing VLENGTH', { code, offset: i })
      vlen = p[i++]
    }
    if (i + vlen > p.length)
      decodeFail('TG_ROW_TRUNCATED', 'ThinkGear row value runs past the payload', { code, vlen, offset: i })
    const v = p.subarray(i, i + vlen)
    i += vlen
    if (level !== 0) {
      out.skippedRows += 1
      continue
    }
    switch (code) {
      case 0x02:
        out.poorSignal = v[0]
        break
      case 0x04:
        out.attention = v[0]
        break
      case 0x05:
        out.meditation = v[0]
        break
      case 0x80: {
        if (vlen !== 2) decodeFail('TG_BAD_ROW_LENGTH', 'ThinkGear RAW row must carry 2 bytes', { vlen })
        const u = (v[0] << 8) | v[1]
        out.raw.push(u >= 0x8000 ? u - 0x10000 : u)
        break
      }
      case 0x83: {
        if (vlen !== 24)
          decodeFail('TG_BAD_ROW_LENGTH', 'ThinkGear ASIC_EEG_POWER row must carry 24 bytes', { vlen })
        const bands: number[] = []
        for (let k = 0; k < 8; k++) bands.push((v[3 * k] << 16) | (v[3 * k + 1] << 8) | v[3 * k + 2])
        out.asicEegPower = bands
        break
      }
      default:
        out.skippedRows += 1
    }
  }
  return out
}

/** Decodes exactly one complete packet (no leading garbage, no trailing bytes). */
export function decodeThinkGearPacket(input: Uint8Array): ThinkGearPacket {
  const b = requireBytes(input, 'ThinkGear packet')
  if (b.length > TG_MAX_PAYLOAD + 4)
    decodeTooLarge('TG_PACKET_TOO_LARGE', 'ThinkGear packet over 173 bytes', { length: b.length })
  if (b.length < 4)
    decodeFail('TG_TRUNCATED', 'ThinkGear packet shorter than its header and checksum', { length: b.length })
  if (b[0] !== TG_SYNC || b[1] !== TG_SYNC)
    decodeFail('TG_NO_SYNC', 'ThinkGear packet does not start with 0xAA 0xAA')
  const len = b[2]
  if (len > TG_MAX_PAYLOAD) decodeFail('TG_BAD_LENGTH', 'ThinkGear PLENGTH over 169', { plength: len })
  if (b.length !== len + 4)
    decodeFail(
      b.length < len + 4 ? 'TG_TRUNCATED' : 'TG_TRAILING_BYTES',
      'ThinkGear packet length does not match PLENGTH',
      { plength: len, length: b.length },
    )
  const payload = b.subarray(3, 3 + len)
  if (thinkGearChecksum(payload) !== b[3 + len]) decodeFail('TG_CHECKSUM', 'ThinkGear checksum mismatch')
  return decodeThinkGearPayload(payload)
}

export interface ThinkGearRow {
  code: number
  value: Uint8Array
}

/** Builds a packet from rows (CODE >= 0x80 rows get their VLENGTH byte). For the simulator/tests. */
export function encodeThinkGearPacket(rows: readonly ThinkGearRow[]): Uint8Array {
  const parts: number[] = []
  for (const r of rows) {
    parts.push(r.code)
    if (r.code >= 0x80) parts.push(r.value.length)
    else if (r.value.length !== 1)
      throw new RangeError('single-byte ThinkGear code needs exactly one value byte')
    for (const x of r.value) parts.push(x)
  }
  if (parts.length > TG_MAX_PAYLOAD) throw new RangeError('ThinkGear payload over 169 bytes')
  const payload = Uint8Array.from(parts)
  return concatBytes(
    Uint8Array.of(TG_SYNC, TG_SYNC, payload.length),
    payload,
    Uint8Array.of(thinkGearChecksum(payload)),
  )
}

export function rawRow(sample: number): ThinkGearRow {
  const u = sample < 0 ? sample + 0x10000 : sample
  return { code: 0x80, value: Uint8Array.of(u >> 8, u & 0xff) }
}

export interface ThinkGearStreamStats {
  packets: number
  checksumErrors: number
  payloadErrors: number
  badLengths: number
  /** Bytes that were not part of any accepted packet. */
  droppedBytes: number
}

/**
 * Incremental stream parser that resynchronises after garbage: it scans for 0xAA 0xAA, and when
 * a candidate packet fails its length or checksum check it restarts the scan one byte after that
 * candidate's first SYNC (so a false sync inside garbage cannot hide a real packet that follows).
 * It keeps at most one partial packet (<= 173 bytes) between calls.
 */
export class ThinkGearStreamParser {
  private pending: Uint8Array = new Uint8Array(0)
  readonly stats: ThinkGearStreamStats = {
    packets: 0,
    checksumErrors: 0,
    payloadErrors: 0,
    badLengths: 0,
    droppedBytes: 0,
  }

  push(chunk: Uint8Array): ThinkGearPacket[] {
    requireBytes(chunk, 'ThinkGear chunk')
    if (chunk.length > TG_MAX_CHUNK_BYTES)
      decodeTooLarge('TG_CHUNK_TOO_LARGE', 'ThinkGear chunk over 1 MiB', { length: chunk.length })
    const buf = this.pending.length > 0 ? concatBytes(this.pending, chunk) : chunk
    const out: ThinkGearPacket[] = []
    let i = 0
    let keepFrom = buf.length
    for (;;) {
      const start = i
      while (i + 1 < buf.length && !(buf[i] === TG_SYNC && buf[i + 1] === TG_SYNC)) i++
      if (i + 1 >= buf.length) {
        // keep a trailing lone SYNC: it may start a packet in the next chunk
        keepFrom = i < buf.length && buf[i] === TG_SYNC ? i : buf.length
        this.stats.droppedBytes += keepFrom - start
        break
      }
      this.stats.droppedBytes += i - start
      let j = i + 2
      while (j < buf.length && buf[j] === TG_SYNC) j++
      if (j >= buf.length) {
        keepFrom = j - 2
        this.stats.droppedBytes += j - 2 - i
        break
      }
      this.stats.droppedBytes += j - 2 - i
      const first = j - 2
      const len = buf[j]
      if (len > TG_MAX_PAYLOAD) {
        this.stats.badLengths += 1
        this.stats.droppedBytes += 1
        i = first + 1
        continue
      }
      if (j + 2 + len > buf.length) {
        keepFrom = first
        break
      }
      const payload = buf.subarray(j + 1, j + 1 + len)
      if (thinkGearChecksum(payload) !== buf[j + 1 + len]) {
        this.stats.checksumErrors += 1
        this.stats.droppedBytes += 1
        i = first + 1
        continue
      }
      try {
        out.push(decodeThinkGearPayload(payload))
        this.stats.packets += 1
      } catch (e) {
        if (!(e instanceof DecodeError)) throw e
        this.stats.payloadErrors += 1
        this.stats.droppedBytes += len + 4
      }
      i = j + 2 + len
    }
    this.pending = buf.slice(keepFrom)
    return out
  }

  /** Bytes held for an incomplete packet (<= 173). */
  get pendingBytes(): number {
    return this.pending.length
  }
}
