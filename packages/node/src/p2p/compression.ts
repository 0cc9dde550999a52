/**
 * zstd framing for gossip and sync payloads (Node's built-in zlib zstd). A frame is one flag byte
 * (0 = raw, 1 = zstd) then, for zstd, the u32 decompressed size and the compressed bytes. The
 * declared size is checked against the caller's bound BEFORE decompressing, and decompression is
 * capped at that size (`maxOutputLength`), so a zip bomb costs the receiver at most `maxBytes`.
 */
import { constants, zstdCompressSync, zstdDecompressSync } from 'node:zlib'
import { DecodeError } from '@pulsemesh/core'

const RAW = 0
const ZSTD = 1
/** Below this, zstd's frame overhead outweighs the gain (votes, small txs). */
export const COMPRESS_MIN_BYTES = 256

/** Bytes before and after compression, for the "bytes saved" figures (per process). */
export const compressionStats = { rawBytes: 0, frameBytes: 0, frames: 0 }

export function compressFrame(data: Uint8Array, minBytes = COMPRESS_MIN_BYTES): Uint8Array {
  compressionStats.rawBytes += data.length
  compressionStats.frames++
  if (data.length >= minBytes) {
    const z = zstdCompressSync(data, { params: { [constants.ZSTD_c_compressionLevel]: 3 } })
    if (z.length + 5 < data.length + 1) {
      const out = new Uint8Array(5 + z.length)
      out[0] = ZSTD
      new DataView(out.buffer).setUint32(1, data.length)
      out.set(z, 5)
      compressionStats.frameBytes += out.length
      return out
    }
  }
  const out = new Uint8Array(1 + data.length)
  out[0] = RAW
  out.set(data, 1)
  compressionStats.frameBytes += out.length
  return out
}

/** Inverse of compressFrame; throws DecodeError (DECODE_ERROR / DECODE_TOO_LARGE), never more than `maxBytes` out. */
export function decompressFrame(frame: Uint8Array, maxBytes: number): Uint8Array {
  if (frame.length < 1) throw new DecodeError('DECODE_ERROR', 'empty frame')
  if (frame[0] === RAW) {
    if (frame.length - 1 > maxBytes)
      throw new DecodeError('DECODE_TOO_LARGE', `frame of ${frame.length - 1} bytes over ${maxBytes}`)
    return frame.subarray(1)
  }
  if (frame[0] !== ZSTD || frame.length < 6) throw new DecodeError('DECODE_ERROR', 'bad frame header')
  const size = new DataView(frame.buffer, frame.byteOffset, frame.byteLength).getUint32(1)
  if (size > maxBytes)
    throw new DecodeError('DECODE_TOO_LARGE', `declared ${size} bytes over ${maxBytes}`, { size, maxBytes })
  let out: Buffer
  try {
    out = zstdDecompressSync(frame.subarray(5), { maxOutputLength: Math.max(1, size) })
  } catch (e) {
    throw new DecodeError('DECODE_ERROR', `zstd: ${(e as Error).message}`)
  }
  if (out.length !== size) throw new DecodeError('DECODE_ERROR', 'decompressed size differs from declared')
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength)
}
