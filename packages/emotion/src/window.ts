/**
 * Raw device windows: what a device (real radio or simulator) hands the local agent for one time
 * window, as the exact bytes received on the wire, plus their canonical serialisation (the input of
 * the window commitment). Raw windows stay on the validator's machine; only a salted commitment to
 * these bytes and the quantized features go on chain.
 *
 * Chunk tags by device kind:
 *   ble-hrm   '2a37'                       one Heart Rate Measurement notification per chunk
 *   muse      'TP9' | 'AF7' | 'AF8' | 'TP10' one 20-byte EEG notification per chunk
 *   thinkgear 'serial'                      raw serial bytes, any split
 *   e4        'EDA.csv' | 'BVP.csv' | 'TEMP.csv' | 'HR.csv' | 'ACC.csv' | 'IBI.csv' whole files
 */
import { utf8 } from '@pulsemesh/core/bytes.ts'
import { decodeFail, decodeTooLarge } from './decode/fail.ts'

export type DeviceKind = 'ble-hrm' | 'muse' | 'thinkgear' | 'e4'
export const DEVICE_KINDS: readonly DeviceKind[] = ['ble-hrm', 'muse', 'thinkgear', 'e4']
export type DeviceTier = 'consumer' | 'professional' | 'medical'
export const DEVICE_TIERS: readonly DeviceTier[] = ['consumer', 'professional', 'medical']

export interface RawChunk {
  readonly tag: string
  readonly bytes: Uint8Array
}

export interface RawWindow {
  readonly deviceId: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  /** Device-clock start of the window, ms (informational; freshness comes from the block-hash nonce). */
  readonly startMs: number
  readonly windowMs: number
  readonly chunks: readonly RawChunk[]
}

/** What a real radio driver or the simulator implements. */
export interface BiometricDevice {
  readonly id: string
  readonly kind: DeviceKind
  readonly tier: DeviceTier
  /** Reads the next `windowMs` of signal. */
  read(windowMs: number): Promise<RawWindow>
}

export const WINDOW_MS_MIN = 10_000
export const WINDOW_MS_MAX = 300_000
export const WINDOW_MAX_CHUNKS = 200_000
export const WINDOW_MAX_BYTES = 16 * 1024 * 1024
export const DEVICE_ID_MAX = 64
export const TAG_MAX = 16

/** Checks the structural limits of a window; DecodeError (reason WINDOW_*) when violated. */
export function checkWindow(w: RawWindow): void {
  if (typeof w !== 'object' || w === null) decodeFail('WINDOW_INVALID', 'window must be an object')
  if (
    typeof w.deviceId !== 'string' ||
    w.deviceId.length === 0 ||
    w.deviceId.length > DEVICE_ID_MAX ||
    !/^[\x21-\x7e]+$/.test(w.deviceId)
  ) {
    decodeFail('WINDOW_BAD_DEVICE_ID', 'deviceId must be 1..64 printable ASCII characters')
  }
  if (!DEVICE_KINDS.includes(w.kind)) decodeFail('WINDOW_BAD_KIND', 'unknown device kind', { kind: w.kind })
  if (!DEVICE_TIERS.includes(w.tier)) decodeFail('WINDOW_BAD_TIER', 'unknown device tier', { tier: w.tier })
  if (!Number.isSafeInteger(w.startMs) || w.startMs < 0)
    decodeFail('WINDOW_BAD_START', 'startMs must be a non-negative safe integer')
  if (!Number.isSafeInteger(w.windowMs) || w.windowMs < WINDOW_MS_MIN || w.windowMs > WINDOW_MS_MAX) {
    decodeFail('WINDOW_BAD_LENGTH', `windowMs must be ${WINDOW_MS_MIN}..${WINDOW_MS_MAX}`, {
      windowMs: w.windowMs,
    })
  }
  if (!Array.isArray(w.chunks)) decodeFail('WINDOW_INVALID', 'chunks must be an array')
  if (w.chunks.length > WINDOW_MAX_CHUNKS)
    decodeTooLarge('WINDOW_TOO_MANY_CHUNKS', 'window has too many chunks', { max: WINDOW_MAX_CHUNKS })
  let bytes = 0
  let lastTag = ''
  for (const c of w.chunks) {
    const tag = c?.tag
    // consecutive chunks usually share a tag: validate each run of equal tags once
    if (tag !== lastTag || typeof tag !== 'string') {
      if (
        typeof tag !== 'string' ||
        tag.length === 0 ||
        tag.length > TAG_MAX ||
        !/^[\x21-\x7e]+$/.test(tag)
      ) {
        decodeFail('WINDOW_BAD_TAG', 'chunk tag must be 1..16 printable ASCII characters')
      }
      lastTag = tag
    }
    if (!(c.bytes instanceof Uint8Array)) decodeFail('WINDOW_INVALID', 'chunk bytes must be a Uint8Array')
    bytes += c.bytes.length
  }
  if (bytes > WINDOW_MAX_BYTES) decodeTooLarge('WINDOW_TOO_LARGE', 'window payload over 16 MiB', { bytes })
}

/**
 * Canonical bytes of a window: "PMRW" v1, then length-prefixed (u16 BE) deviceId, kind, tier,
 * u64 BE startMs, u32 BE windowMs, u32 BE chunk count, and per chunk u16 tag length + tag +
 * u32 length + bytes, in the order received. One window has exactly one encoding.
 */
export function encodeRawWindow(w: RawWindow): Uint8Array {
  checkWindow(w)
  const head = [utf8(w.deviceId), utf8(w.kind), utf8(w.tier)]
  let size = 5
  for (const h of head) size += 2 + h.length
  size += 8 + 4 + 4
  const tagBytes = new Map<string, Uint8Array>()
  const tags = w.chunks.map((c) => {
    let t = tagBytes.get(c.tag)
    if (t === undefined) {
      t = utf8(c.tag)
      tagBytes.set(c.tag, t)
    }
    return t
  })
  for (let i = 0; i < w.chunks.length; i++) size += 2 + tags[i].length + 4 + w.chunks[i].bytes.length
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set([0x50, 0x4d, 0x52, 0x57, 0x01], 0)
  let o = 5
  const put = (b: Uint8Array, lenBytes: 2 | 4) => {
    if (lenBytes === 2) dv.setUint16(o, b.length)
    else dv.setUint32(o, b.length)
    o += lenBytes
    out.set(b, o)
    o += b.length
  }
  for (const h of head) put(h, 2)
  dv.setBigUint64(o, BigInt(w.startMs))
  o += 8
  dv.setUint32(o, w.windowMs)
  o += 4
  dv.setUint32(o, w.chunks.length)
  o += 4
  for (let i = 0; i < w.chunks.length; i++) {
    put(tags[i], 2)
    put(w.chunks[i].bytes, 4)
  }
  return out
}

/**
 * Canonical bytes of a multi-device window (the commitment input): "PMWB" v1, u8 count, then each
 * device window's canonical bytes (u32 BE length-prefixed) sorted by deviceId (ids must be unique).
 */
export function encodeWindowBundle(windows: readonly RawWindow[]): Uint8Array {
  if (!Array.isArray(windows) || windows.length === 0 || windows.length > 8)
    decodeFail('WINDOW_INVALID', 'a bundle holds 1..8 device windows')
  const sorted = [...windows].sort((a, b) => (a.deviceId < b.deviceId ? -1 : a.deviceId > b.deviceId ? 1 : 0))
  for (let i = 1; i < sorted.length; i++)
    if (sorted[i].deviceId === sorted[i - 1].deviceId)
      decodeFail('WINDOW_DUPLICATE_DEVICE', 'device ids in a bundle must be unique')
  const parts = sorted.map(encodeRawWindow)
  let size = 6
  for (const p of parts) size += 4 + p.length
  const out = new Uint8Array(size)
  const dv = new DataView(out.buffer)
  out.set([0x50, 0x4d, 0x57, 0x42, 0x01, parts.length], 0)
  let o = 6
  for (const p of parts) {
    dv.setUint32(o, p.length)
    o += 4
    out.set(p, o)
    o += p.length
  }
  return out
}
