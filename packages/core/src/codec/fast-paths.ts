/**
 * Hand-written forms of the SSZ codecs every tx goes through (admission, block building, results),
 * emitting and accepting exactly the bytes of the @chainsafe/ssz schemas in schema.ts. The generic
 * path (deserialize, serialize again, compare: `decodeCanonical`) costs several µs per tx; these
 * read the offsets directly and accept only the one canonical layout.
 *
 * Contract: a fast decoder returns `undefined` for anything it does not recognise as canonical and
 * within limits, and the caller then runs the generic path, so errors stay exactly what they were;
 * when it returns a value, that value equals what `decodeCanonical` returns for the same bytes
 * (the signed tx's byte fields as views of the input rather than copies: treat them as read-only).
 * A fast encoder returns `undefined` when a value is outside what it handles (over a limit, a
 * number out of range) and the caller serialises through the schema as before. Property-tested
 * against the schemas in test/codec-fast-paths.test.ts.
 */
import { LIMITS } from '../limits.ts'

const sliceBytes = (b: Uint8Array, start: number, end: number): Uint8Array =>
  // What the SSZ library does: a copy even when `b` is a Node Buffer (whose slice is a view).
  Uint8Array.prototype.slice.call(b, start, end)
/**
 * A plain Uint8Array view of b[start, end): the signed tx's fields are read-only views of the tx
 * bytes, which the decoded tx keeps anyway (no copies: five fewer allocations per admitted tx).
 */
const viewBytes = (b: Uint8Array, start: number, end: number): Uint8Array =>
  new Uint8Array(b.buffer, b.byteOffset + start, end - start)

function u32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0
}
function u64le(b: Uint8Array, o: number): bigint {
  const lo = u32le(b, o)
  const hi = u32le(b, o + 4)
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo)
}
function u128le(b: Uint8Array, o: number): bigint {
  const lo = u64le(b, o)
  const hi = u64le(b, o + 8)
  return hi === 0n ? lo : (hi << 64n) | lo
}
function putU32le(b: Uint8Array, o: number, n: number): void {
  b[o] = n & 0xff
  b[o + 1] = (n >>> 8) & 0xff
  b[o + 2] = (n >>> 16) & 0xff
  b[o + 3] = (n >>> 24) & 0xff
}
const U64_MASK = 0xffffffffffffffffn
const U128_LIMIT = 1n << 128n
const u128Scratch = new Uint8Array(16)
const u128View = new DataView(u128Scratch.buffer)
function putU128le(b: Uint8Array, o: number, n: bigint): void {
  if (n <= U64_MASK) {
    u128View.setBigUint64(0, n, true)
    u128View.setBigUint64(8, 0n, true)
  } else {
    u128View.setBigUint64(0, n & U64_MASK, true)
    u128View.setBigUint64(8, n >> 64n, true)
  }
  b.set(u128Scratch, o)
}

/** The value `decodeCanonical(SignedTxSSZ, ...)` gives. */
export interface SignedTxSSZValue {
  body: {
    networkId: Uint8Array
    sender: { scheme: number; bytes: Uint8Array }
    nonce: bigint
    fee: bigint
    expiresAt: bigint
    kind: number
    payload: Uint8Array
    memo: Uint8Array
  }
  signature: Uint8Array
}

/** Fixed part of TxBody: 4 offsets (networkId, sender, payload, memo) + u64 + u128 + u64 + u16. */
const TX_BODY_FIXED = 50
/** Fixed part of PublicKey: u8 scheme + offset of bytes. */
const PUBKEY_FIXED = 5

/**
 * SignedTxSSZ, canonical only: container offsets 8 and 8 + |body|, body offsets 50 ≤ sender ≤
 * payload ≤ memo ≤ |body|, the key's inner offset 5, every list within its limit. Signatures of
 * other than 64 bytes are left to the generic path (decodeTx refuses them there, with its message).
 */
export function decodeSignedTxFast(bytes: Uint8Array): SignedTxSSZValue | undefined {
  if (!(bytes instanceof Uint8Array)) return undefined
  const len = bytes.length
  if (len > LIMITS.txBytesMax || len < 8 + TX_BODY_FIXED + LIMITS.signatureBytesMax) return undefined
  if (u32le(bytes, 0) !== 8) return undefined
  const sigStart = u32le(bytes, 4)
  if (sigStart !== len - 64) return undefined
  const b = 8
  const bodyLen = sigStart - b
  if (bodyLen < TX_BODY_FIXED) return undefined
  if (u32le(bytes, b) !== TX_BODY_FIXED) return undefined
  const oSender = u32le(bytes, b + 4)
  const oPayload = u32le(bytes, b + 42)
  const oMemo = u32le(bytes, b + 46)
  if (oSender < TX_BODY_FIXED || oPayload < oSender || oMemo < oPayload || oMemo > bodyLen) return undefined
  if (oSender - TX_BODY_FIXED > LIMITS.networkIdBytesMax) return undefined
  if (oMemo - oPayload > LIMITS.txPayloadBytesMax || bodyLen - oMemo > LIMITS.txMemoBytesMax) return undefined
  const senderLen = oPayload - oSender
  if (senderLen < PUBKEY_FIXED || senderLen - PUBKEY_FIXED > LIMITS.publicKeyBytesMax) return undefined
  const s = b + oSender
  if (u32le(bytes, s + 1) !== PUBKEY_FIXED) return undefined
  return {
    body: {
      networkId: viewBytes(bytes, b + TX_BODY_FIXED, s),
      sender: { scheme: bytes[s], bytes: viewBytes(bytes, s + PUBKEY_FIXED, b + oPayload) },
      nonce: u64le(bytes, b + 8),
      fee: u128le(bytes, b + 16),
      expiresAt: u64le(bytes, b + 32),
      kind: bytes[b + 40] | (bytes[b + 41] << 8),
      payload: viewBytes(bytes, b + oPayload, b + oMemo),
      memo: viewBytes(bytes, b + oMemo, sigStart),
    },
    signature: viewBytes(bytes, sigStart, len),
  }
}

/** Bank transfer payload {to: Bytes20, asset: ByteList[64], amount: u128}: fixed part 40 bytes. */
export interface TransferSSZValue {
  to: Uint8Array
  asset: Uint8Array
  amount: bigint
}
const TRANSFER_FIXED = 40

/** TransferSSZ.deserialize for canonical bytes (asset offset 40, asset ≤ 64 bytes), else undefined. */
export function decodeTransferFast(p: Uint8Array): TransferSSZValue | undefined {
  if (!(p instanceof Uint8Array) || p.length < TRANSFER_FIXED) return undefined
  if (p.length - TRANSFER_FIXED > LIMITS.assetIdBytesMax || u32le(p, 20) !== TRANSFER_FIXED) return undefined
  return { to: sliceBytes(p, 0, 20), asset: sliceBytes(p, TRANSFER_FIXED, p.length), amount: u128le(p, 24) }
}

/** TransferSSZ.serialize for in-range values (20-byte `to`, asset ≤ 64 bytes, 0 ≤ amount < 2^128), else undefined. */
export function encodeTransferFast(v: TransferSSZValue): Uint8Array | undefined {
  const { to, asset, amount } = v
  if (!(to instanceof Uint8Array) || to.length !== 20 || !(asset instanceof Uint8Array)) return undefined
  if (
    asset.length > LIMITS.assetIdBytesMax ||
    typeof amount !== 'bigint' ||
    amount < 0n ||
    amount >= U128_LIMIT
  )
    return undefined
  const out = new Uint8Array(TRANSFER_FIXED + asset.length)
  out.set(to, 0)
  putU32le(out, 20, TRANSFER_FIXED)
  putU128le(out, 24, amount)
  out.set(asset, TRANSFER_FIXED)
  return out
}

/** TxResultSSZ's value: error code and events, every string already UTF-8. */
export interface TxResultSSZValue {
  error: Uint8Array
  events: { type: Uint8Array; attributes: { key: Uint8Array; value: Uint8Array }[] }[]
}

/**
 * TxResultSSZ.serialize: container {error, events} (two offsets), events a list of variable-size
 * containers (an offset per element, then the elements), each event {type, attributes} and each
 * attribute {key, value} two offsets then the bytes. Undefined if any list or string is over its
 * limit (the schema path then behaves as it always did).
 */
export function encodeTxResultFast(r: TxResultSSZValue): Uint8Array | undefined {
  const size = txResultSize(r)
  if (size < 0) return undefined
  const out = new Uint8Array(size)
  writeTxResult(r, out, 0)
  return out
}

/**
 * Many results in ONE buffer, returned as views of it (a block's results: one allocation instead
 * of one off-heap buffer per tx). Entries over a limit are left undefined for the schema path.
 */
export function encodeTxResultsFast(rs: readonly TxResultSSZValue[]): (Uint8Array | undefined)[] {
  return packInOneBuffer(rs, txResultSize, writeTxResult)
}

/**
 * Lays out every item whose `sizeOf` is not negative back to back in one buffer and returns a view
 * per item (undefined where `sizeOf` said -1: over a limit, left to the general path).
 */
function packInOneBuffer<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  write: (item: T, buf: Uint8Array, at: number) => unknown,
): (Uint8Array | undefined)[] {
  const sizes = new Array<number>(items.length)
  let total = 0
  for (let i = 0; i < items.length; i++) {
    sizes[i] = sizeOf(items[i])
    if (sizes[i] > 0) total += sizes[i]
  }
  const buf = new Uint8Array(total)
  const out = new Array<Uint8Array | undefined>(items.length)
  let at = 0
  for (let i = 0; i < items.length; i++) {
    if (sizes[i] < 0) continue
    write(items[i], buf, at)
    out[i] = buf.subarray(at, at + sizes[i])
    at += sizes[i]
  }
  return out
}

/** Encoded size, or -1 if something is over its limit. */
function txResultSize(r: TxResultSSZValue): number {
  const events = r.events
  if (r.error.length > LIMITS.errorCodeBytesMax || events.length > LIMITS.eventsPerTxMax) return -1
  let size = 8 + r.error.length + 4 * events.length
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const attrs = e.attributes
    if (e.type.length > LIMITS.eventKeyBytesMax || attrs.length > LIMITS.eventAttributesMax) return -1
    size += 8 + e.type.length + 4 * attrs.length
    for (let j = 0; j < attrs.length; j++) {
      const a = attrs[j]
      if (a.key.length > LIMITS.eventKeyBytesMax || a.value.length > LIMITS.eventValueBytesMax) return -1
      size += 8 + a.key.length + a.value.length
    }
  }
  return size
}

/** Writes the encoding at out[base..base + txResultSize(r)). Offsets are relative to each container. */
function writeTxResult(r: TxResultSSZValue, out: Uint8Array, base: number): void {
  const events = r.events
  putU32le(out, base, 8)
  putU32le(out, base + 4, 8 + r.error.length)
  out.set(r.error, base + 8)
  const listStart = base + 8 + r.error.length
  let o = listStart + 4 * events.length
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const attrs = e.attributes
    putU32le(out, listStart + 4 * i, o - listStart)
    const eventStart = o
    putU32le(out, o, 8)
    putU32le(out, o + 4, 8 + e.type.length)
    out.set(e.type, o + 8)
    const attrsStart = eventStart + 8 + e.type.length
    o = attrsStart + 4 * attrs.length
    for (let j = 0; j < attrs.length; j++) {
      const a = attrs[j]
      putU32le(out, attrsStart + 4 * j, o - attrsStart)
      putU32le(out, o, 8)
      putU32le(out, o + 4, 8 + a.key.length)
      out.set(a.key, o + 8)
      out.set(a.value, o + 8 + a.key.length)
      o += 8 + a.key.length + a.value.length
    }
  }
}

/** A tx result with its strings still as text (what the executor produces). */
export interface TxResultText {
  error: string
  events: { type: string; attributes: { key: string; value: string }[] }[]
}

/** Byte length of `s` as UTF-8 if it is all ASCII (then one byte per char), else -1. */
function asciiLength(s: string): number {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return -1
  return s.length
}
function putAscii(out: Uint8Array, o: number, s: string): void {
  for (let i = 0; i < s.length; i++) out[o + i] = s.charCodeAt(i)
}

/**
 * Encoded size of a result whose every string is ASCII (so UTF-8 length = string length) and
 * within limits, else -1 (the caller converts the strings and takes the general path).
 */
function txResultTextSize(r: TxResultText): number {
  const events = r.events
  const el = asciiLength(r.error)
  if (el < 0 || el > LIMITS.errorCodeBytesMax || events.length > LIMITS.eventsPerTxMax) return -1
  let size = 8 + el + 4 * events.length
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const attrs = e.attributes
    const tl = asciiLength(e.type)
    if (tl < 0 || tl > LIMITS.eventKeyBytesMax || attrs.length > LIMITS.eventAttributesMax) return -1
    size += 8 + tl + 4 * attrs.length
    for (let j = 0; j < attrs.length; j++) {
      const kl = asciiLength(attrs[j].key)
      const vl = asciiLength(attrs[j].value)
      if (kl < 0 || vl < 0 || kl > LIMITS.eventKeyBytesMax || vl > LIMITS.eventValueBytesMax) return -1
      size += 8 + kl + vl
    }
  }
  return size
}

/** writeTxResult for the text form (ASCII strings only: txResultTextSize said so). */
function writeTxResultText(r: TxResultText, out: Uint8Array, base: number): void {
  const events = r.events
  putU32le(out, base, 8)
  putU32le(out, base + 4, 8 + r.error.length)
  putAscii(out, base + 8, r.error)
  const listStart = base + 8 + r.error.length
  let o = listStart + 4 * events.length
  for (let i = 0; i < events.length; i++) {
    const e = events[i]
    const attrs = e.attributes
    putU32le(out, listStart + 4 * i, o - listStart)
    putU32le(out, o, 8)
    putU32le(out, o + 4, 8 + e.type.length)
    putAscii(out, o + 8, e.type)
    const attrsStart = o + 8 + e.type.length
    o = attrsStart + 4 * attrs.length
    for (let j = 0; j < attrs.length; j++) {
      const a = attrs[j]
      putU32le(out, attrsStart + 4 * j, o - attrsStart)
      putU32le(out, o, 8)
      putU32le(out, o + 4, 8 + a.key.length)
      putAscii(out, o + 8, a.key)
      putAscii(out, o + 8 + a.key.length, a.value)
      o += 8 + a.key.length + a.value.length
    }
  }
}

/**
 * A block's results straight from their text into ONE buffer (views of it), with no per-string
 * UTF-8 arrays: results whose strings are all ASCII and within limits. The others are left
 * undefined for the general path (UTF-8 conversion, then the schema's own checks).
 */
export function encodeTxResultsTextFast(rs: readonly TxResultText[]): (Uint8Array | undefined)[] {
  return packInOneBuffer(rs, txResultTextSize, writeTxResultText)
}
