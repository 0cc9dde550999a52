/**
 * Payloads of the emotion tx kinds and the documents devices and manufacturers sign. Fixed
 * big-endian layouts (one encoding per value, exact length checked), so they are canonical by
 * construction and cheap to decode; decoders throw DecodeError only.
 *
 * register-device  scheme u8 (1 ed25519, 2 secp256k1) | key 32/33 | tier u8 (0 consumer,
 *                  1 professional, 2 medical) | manufacturer u8 (0xff = none) | [cert sig 64 if
 *                  manufacturer != 0xff]
 * revoke-device    device id 20
 * attest           epoch u64 | nonceHeight u64 | nonceHash 32 | features 112 (QuantizedFeatures) |
 *                  commitment 32 | tier u8 | claimedScore u8 | device id 20 | device sig 64
 *
 * The device signs signBytes('attestation', doc) with
 *   doc = u8 len(networkId) | networkId | validator 20 | attest payload without the signature,
 * so a signature is bound to one network, one validator, one epoch and one fresh block hash. The
 * validator signs the whole tx (ordinary tx signature). A manufacturer certifies a device with
 * signBytes('device', u8 len(networkId) | networkId | scheme u8 | key | tier u8).
 */
import { concatBytes, DecodeError, KEY_SCHEME_BYTE, type PublicKey, signBytes, utf8 } from '@pulsemesh/core'
import { QF_BYTES } from '@pulsemesh/emotion'
import { EMOTION_TIERS, type Tier } from './state.ts'

export const NO_MANUFACTURER = 0xff
export const DEVICE_SIG_BYTES = 64

export interface RegisterDevicePayload {
  key: PublicKey
  tier: Tier
  /** Index into the genesis manufacturer roots, or NO_MANUFACTURER. */
  manufacturer: number
  /** Manufacturer signature (empty without a manufacturer). */
  certificate: Uint8Array
}
export interface RevokeDevicePayload {
  device: Uint8Array
}
export interface AttestPayload {
  epoch: bigint
  nonceHeight: bigint
  nonceHash: Uint8Array
  /** QuantizedFeatures, 112 bytes; its ranges are checked by the module (FEATURES_OUT_OF_RANGE). */
  features: Uint8Array
  commitment: Uint8Array
  tier: Tier
  claimedScore: number
  device: Uint8Array
  deviceSignature: Uint8Array
}

function fail(why: string): never {
  throw new DecodeError('DECODE_ERROR', why)
}
function bytes(b: unknown, what: string): Uint8Array {
  if (!(b instanceof Uint8Array)) fail(`${what}: expected bytes`)
  return b
}
function tierOf(b: number): Tier {
  const t = EMOTION_TIERS[b]
  if (t === undefined) fail(`unknown tier ${b}`)
  return t
}
const tierByte = (t: Tier): number => {
  const i = EMOTION_TIERS.indexOf(t)
  if (i < 0) fail(`unknown tier ${t}`)
  return i
}
const KEY_LEN = { ed25519: 32, secp256k1: 33 } as const

export function encodeRegisterDevice(p: RegisterDevicePayload): Uint8Array {
  const scheme = KEY_SCHEME_BYTE[p.key.scheme]
  if (scheme === undefined || p.key.bytes.length !== KEY_LEN[p.key.scheme]) fail('bad device key')
  const hasCert = p.manufacturer !== NO_MANUFACTURER
  if (!Number.isInteger(p.manufacturer) || p.manufacturer < 0 || p.manufacturer > 0xff)
    fail('bad manufacturer')
  if (hasCert ? p.certificate.length !== DEVICE_SIG_BYTES : p.certificate.length !== 0)
    fail('certificate must be 64 bytes with a manufacturer, empty without')
  return concatBytes(
    Uint8Array.of(scheme),
    p.key.bytes,
    Uint8Array.of(tierByte(p.tier), p.manufacturer),
    p.certificate,
  )
}
export function decodeRegisterDevice(input: Uint8Array): RegisterDevicePayload {
  const b = bytes(input, 'register-device')
  if (b.length < 1) fail('register-device: empty')
  const scheme = b[0] === 1 ? 'ed25519' : b[0] === 2 ? 'secp256k1' : fail(`unknown key scheme ${b[0]}`)
  const kl = KEY_LEN[scheme]
  if (b.length < 1 + kl + 2) fail('register-device: truncated')
  const tier = tierOf(b[1 + kl])
  const manufacturer = b[2 + kl]
  const want = 3 + kl + (manufacturer === NO_MANUFACTURER ? 0 : DEVICE_SIG_BYTES)
  if (b.length !== want) fail(`register-device: expected ${want} bytes, got ${b.length}`)
  return {
    key: { scheme, bytes: b.slice(1, 1 + kl) },
    tier,
    manufacturer,
    certificate: b.slice(3 + kl),
  }
}

export function encodeRevokeDevice(p: RevokeDevicePayload): Uint8Array {
  if (p.device.length !== 20) fail('device id must be 20 bytes')
  return p.device.slice()
}
export function decodeRevokeDevice(input: Uint8Array): RevokeDevicePayload {
  const b = bytes(input, 'revoke-device')
  if (b.length !== 20) fail('revoke-device: device id must be 20 bytes')
  return { device: b.slice() }
}

export const ATTEST_UNSIGNED_BYTES = 8 + 8 + 32 + QF_BYTES + 32 + 1 + 1 + 20
export const ATTEST_BYTES = ATTEST_UNSIGNED_BYTES + DEVICE_SIG_BYTES

export function encodeAttestUnsigned(p: Omit<AttestPayload, 'deviceSignature'>): Uint8Array {
  if (p.nonceHash.length !== 32 || p.commitment.length !== 32 || p.device.length !== 20)
    fail('attest: nonceHash/commitment 32 bytes, device 20 bytes')
  if (p.features.length !== QF_BYTES) fail(`attest: features must be ${QF_BYTES} bytes`)
  if (!Number.isInteger(p.claimedScore) || p.claimedScore < 0 || p.claimedScore > 255)
    fail('attest: claimedScore must be 0..255')
  if (p.epoch < 0n || p.epoch >= 1n << 64n || p.nonceHeight < 0n || p.nonceHeight >= 1n << 64n)
    fail('attest: epoch/nonceHeight must be u64')
  const out = new Uint8Array(ATTEST_UNSIGNED_BYTES)
  const dv = new DataView(out.buffer)
  dv.setBigUint64(0, p.epoch)
  dv.setBigUint64(8, p.nonceHeight)
  let o = 16
  out.set(p.nonceHash, o)
  o += 32
  out.set(p.features, o)
  o += QF_BYTES
  out.set(p.commitment, o)
  o += 32
  out[o++] = tierByte(p.tier)
  out[o++] = p.claimedScore
  out.set(p.device, o)
  return out
}
export function encodeAttest(p: AttestPayload): Uint8Array {
  if (p.deviceSignature.length !== DEVICE_SIG_BYTES) fail('attest: device signature must be 64 bytes')
  return concatBytes(encodeAttestUnsigned(p), p.deviceSignature)
}
export function decodeAttest(input: Uint8Array): AttestPayload {
  const b = bytes(input, 'attest')
  if (b.length !== ATTEST_BYTES) fail(`attest: expected ${ATTEST_BYTES} bytes, got ${b.length}`)
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength)
  let o = 16
  const nonceHash = b.slice(o, o + 32)
  o += 32
  const features = b.slice(o, o + QF_BYTES)
  o += QF_BYTES
  const commitment = b.slice(o, o + 32)
  o += 32
  const tier = tierOf(b[o++])
  const claimedScore = b[o++]
  const device = b.slice(o, o + 20)
  o += 20
  return {
    epoch: dv.getBigUint64(0),
    nonceHeight: dv.getBigUint64(8),
    nonceHash,
    features,
    commitment,
    tier,
    claimedScore,
    device,
    deviceSignature: b.slice(o),
  }
}

function networkPrefix(networkId: string): Uint8Array {
  const n = utf8(networkId)
  if (n.length > 255) fail('networkId too long')
  return concatBytes(Uint8Array.of(n.length), n)
}

/** The bytes a device key signs for an attestation. */
export function attestationSignBytes(
  networkId: string,
  validator: Uint8Array,
  p: Omit<AttestPayload, 'deviceSignature'>,
): Uint8Array {
  if (validator.length !== 20) fail('validator id must be 20 bytes')
  return signBytes('attestation', concatBytes(networkPrefix(networkId), validator, encodeAttestUnsigned(p)))
}

/** The bytes a manufacturer root signs to certify a device key and its tier. */
export function deviceCertificateSignBytes(networkId: string, key: PublicKey, tier: Tier): Uint8Array {
  return signBytes(
    'device',
    concatBytes(
      networkPrefix(networkId),
      Uint8Array.of(KEY_SCHEME_BYTE[key.scheme]),
      key.bytes,
      Uint8Array.of(tierByte(tier)),
    ),
  )
}
