/**
 * Length-prefixed frames: items back to back, each a u32 big-endian length then its bytes. The
 * one framing used by snapshot offers and chunks, stored tx-result lists, gossip tx batches and
 * the REST batch-submit body (and what the SDK sends there), so every side reads the same bytes
 * with the same bounds checks.
 */
import { DecodeError } from '../errors.ts'

/**
 * Frames `items`. With `headroom`, that many zero bytes come first, for a caller's own header
 * (count, flags) written in place instead of concatenated onto a second copy.
 */
export function encodeFrames(items: readonly Uint8Array[], headroom = 0): Uint8Array<ArrayBuffer> {
  let n = headroom
  for (const it of items) n += 4 + it.length
  const out = new Uint8Array(n)
  const dv = new DataView(out.buffer)
  let o = headroom
  for (const it of items) {
    dv.setUint32(o, it.length)
    out.set(it, o + 4)
    o += 4 + it.length
  }
  return out
}

export interface DecodeFramesOptions {
  /** Exactly this many items, covering every byte. Without it: items until the end of `bytes`. */
  count?: number
  /** Without `count`: more items than this is DECODE_TOO_LARGE (checked before reading the next). */
  maxCount?: number
  /** A zero-length item is DECODE_ERROR. */
  nonEmpty?: boolean
  /** Names the encoding in error messages. */
  what?: string
}

/**
 * Splits framed bytes into items (views into `bytes`, not copies). Untrusted input: a truncated
 * length or item, trailing bytes, or an empty item under `nonEmpty` throws DecodeError
 * DECODE_ERROR; more than `maxCount` items throws DECODE_TOO_LARGE.
 */
export function decodeFrames(bytes: Uint8Array, opts: DecodeFramesOptions = {}): Uint8Array[] {
  const what = opts.what ?? 'frames'
  const { count, maxCount, nonEmpty } = opts
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  const out: Uint8Array[] = []
  let o = 0
  while (count === undefined ? o < bytes.length : out.length < count) {
    if (count === undefined && maxCount !== undefined && out.length >= maxCount)
      throw new DecodeError('DECODE_TOO_LARGE', `${what}: more than ${maxCount} items`)
    if (o + 4 > bytes.length)
      throw new DecodeError('DECODE_ERROR', `${what}: truncated length prefix at byte ${o}`)
    const n = dv.getUint32(o)
    if (nonEmpty && n === 0)
      throw new DecodeError('DECODE_ERROR', `${what}: empty item ${out.length} at byte ${o}`)
    if (o + 4 + n > bytes.length)
      throw new DecodeError('DECODE_ERROR', `${what}: item ${out.length} runs past the end`)
    out.push(bytes.subarray(o + 4, o + 4 + n))
    o += 4 + n
  }
  if (o !== bytes.length) throw new DecodeError('DECODE_ERROR', `${what}: trailing bytes at byte ${o}`)
  return out
}

/**
 * Item `index` of framed bytes (a view), or undefined when there is no such item or the framing
 * breaks before it. For reading one item of a trusted stored blob without splitting all of it.
 */
export function frameAt(bytes: Uint8Array, index: number): Uint8Array | undefined {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  let o = 0
  for (let i = 0; o + 4 <= bytes.length; i++) {
    const n = dv.getUint32(o)
    if (o + 4 + n > bytes.length) return undefined
    if (i === index) return bytes.subarray(o + 4, o + 4 + n)
    o += 4 + n
  }
  return undefined
}
