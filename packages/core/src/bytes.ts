/** Byte helpers used everywhere. Pure, isomorphic. */

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

/** Char codes of each byte's two hex digits, for building short hex strings in one call. */
const HEX_CODES = new Uint16Array(512)
for (let i = 0; i < 256; i++) {
  HEX_CODES[2 * i] = HEX[i].charCodeAt(0)
  HEX_CODES[2 * i + 1] = HEX[i].charCodeAt(1)
}
const hexScratch: number[] = []

export function toHex(b: Uint8Array): string {
  if (b.length <= 64) {
    // Hashes and keys (tx hashes are made hex for every admitted tx): one flat string from the
    // char codes instead of a chain of concatenations.
    const c = hexScratch
    c.length = 2 * b.length
    for (let i = 0; i < b.length; i++) {
      c[2 * i] = HEX_CODES[2 * b[i]]
      c[2 * i + 1] = HEX_CODES[2 * b[i] + 1]
    }
    return String.fromCharCode.apply(null, c)
  }
  let s = ''
  for (let i = 0; i < b.length; i++) s += HEX[b[i]]
  return s
}

export function fromHex(hex: string): Uint8Array {
  const h = hex.startsWith('0x') ? hex.slice(2) : hex
  if (h.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(h))
    throw new TypeError('fromHex: not an even-length hex string')
  const out = new Uint8Array(h.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(h.slice(2 * i, 2 * i + 2), 16)
  return out
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0
  for (const p of parts) n += p.length
  const out = new Uint8Array(n)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** Constant-time comparison for secrets (MACs, tokens): time depends only on the lengths. */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length
  const n = Math.max(a.length, b.length)
  for (let i = 0; i < n; i++) diff |= (a[i % (a.length || 1)] ?? 0) ^ (b[i % (b.length || 1)] ?? 0)
  return diff === 0
}

/** Lexicographic byte order; the canonical order for keys everywhere. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i]
  return a.length - b.length
}

const enc = new TextEncoder()
const dec = new TextDecoder('utf-8', { fatal: true })
/** UTF-8 of a string. Short ASCII strings (ids, addresses, amounts) skip the native call. */
export function utf8(s: string): Uint8Array {
  if (s.length <= 64) {
    const out = new Uint8Array(s.length)
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c > 0x7f) return enc.encode(s)
      out[i] = c
    }
    return out
  }
  return enc.encode(s)
}
/** Text of UTF-8 bytes (fatal on invalid input). Short ASCII (ids, codes) skips the native call. */
export function fromUtf8(b: Uint8Array): string {
  if (b.length <= 64) {
    let ascii = true
    for (let i = 0; i < b.length; i++) {
      if (b[i] > 0x7f) {
        ascii = false
        break
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b as unknown as number[])
  }
  return dec.decode(b)
}

/** Big-endian fixed-width unsigned integer encodings (used in storage keys so they sort by value). */
export function u64be(n: bigint | number): Uint8Array {
  const out = new Uint8Array(8)
  new DataView(out.buffer).setBigUint64(0, BigInt(n))
  return out
}
export function readU64be(b: Uint8Array, offset = 0): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(offset)
}
