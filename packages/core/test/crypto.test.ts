import assert from 'node:assert/strict'
import { test } from 'node:test'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { concatBytes, fromHex, toHex, utf8 } from '../src/bytes.ts'
import {
  ed25519PrecheckOk,
  ed25519PublicKeyIsWellFormed,
  ed25519ScalarIsCanonical,
} from '../src/crypto/ed25519-rule.ts'
import {
  cryptoBackend,
  ecdsaSignatureFromDer,
  ecdsaSignatureToDer,
  generateKeyPair,
  KEY_SCHEME_BYTE,
  keySchemeFromByte,
  nobleBackend,
  publicKeyFromSecret,
  publicKeyIsWellFormed,
  SECP256K1_N,
  secp256k1CompressPublicKey,
  secp256k1NormalizeS,
  setCryptoBackend,
  sha256,
  sign,
  taggedHash,
  verify,
} from '../src/crypto/index.ts'
import { secp256k1HasHighS, secp256k1SecretIsValid } from '../src/crypto/secp256k1-rule.ts'
import type { CryptoBackend } from '../src/crypto/backend.ts'
import { PulseError } from '../src/errors.ts'
import type { KeyScheme, PublicKey } from '../src/types.ts'

const u32be = (n: number) => Uint8Array.of(n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255)
const be32 = (n: bigint) => fromHex(n.toString(16).padStart(64, '0'))
const code = (c: string) => (e: unknown) => e instanceof PulseError && e.code === c

test('default backend is noble; setCryptoBackend swaps, returns the previous one, refuses incomplete ones', () => {
  assert.equal(cryptoBackend(), nobleBackend)
  const counting: CryptoBackend = { ...nobleBackend, name: 'counting' }
  assert.equal(setCryptoBackend(counting), nobleBackend)
  assert.equal(cryptoBackend().name, 'counting')
  assert.throws(
    () => setCryptoBackend({ name: 'broken' } as unknown as CryptoBackend),
    code('CRYPTO_BACKEND_INVALID'),
  )
  assert.equal(cryptoBackend().name, 'counting', 'a refused backend changes nothing')
  setCryptoBackend(nobleBackend)
})

test('sha256 known answer (FIPS 180-2 "abc")', () => {
  assert.equal(toHex(sha256(utf8('abc'))), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad')
})

test('taggedHash hashes u32be(len tag) || tag || (u32be(len part) || part)*', () => {
  const tag = 'pulsemesh/test'
  const a = Uint8Array.of(1, 2, 3)
  const b = new Uint8Array(0)
  const layout = concatBytes(u32be(tag.length), utf8(tag), u32be(3), a, u32be(0), b)
  assert.deepEqual(taggedHash(tag, a, b), sha256(layout))
  assert.deepEqual(taggedHash(tag), sha256(concatBytes(u32be(tag.length), utf8(tag))))
  // Boundaries are part of the hash: no two part lists collide by concatenation.
  assert.notDeepEqual(taggedHash(tag, utf8('ab'), utf8('c')), taggedHash(tag, utf8('a'), utf8('bc')))
  assert.notDeepEqual(taggedHash('a', utf8('bc')), taggedHash('ab', utf8('c')))
  // Non-ASCII tags are measured in UTF-8 bytes.
  assert.deepEqual(taggedHash('é'), sha256(concatBytes(u32be(2), utf8('é'))))
})

test('ed25519 keys and signatures match RFC 8032 §7.1 TEST 1 and 2', () => {
  const kp = generateKeyPair(
    'ed25519',
    fromHex('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60'),
  )
  assert.equal(toHex(kp.publicKey.bytes), 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a')
  const sig = sign('ed25519', kp.secretKey, new Uint8Array(0))
  assert.equal(
    toHex(sig),
    'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  )
  assert.equal(verify(kp.publicKey, new Uint8Array(0), sig), true)
  const pk2: PublicKey = {
    scheme: 'ed25519',
    bytes: fromHex('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c'),
  }
  const sig2 = fromHex(
    '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  )
  assert.equal(verify(pk2, Uint8Array.of(0x72), sig2), true)
  assert.equal(verify(pk2, Uint8Array.of(0x73), sig2), false)
})

test('secp256k1 key generation maps any 32 bytes to a valid secret; sign is low-S and verifies', () => {
  const one = generateKeyPair('secp256k1', new Uint8Array(32))
  assert.equal(toHex(one.secretKey), '00'.repeat(31) + '01')
  // 1 * G, compressed (SEC 2 §2.4.1).
  assert.equal(
    toHex(one.publicKey.bytes),
    '0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798',
  )
  for (const fill of [0x00, 0x01, 0x7f, 0xff]) {
    const kp = generateKeyPair('secp256k1', new Uint8Array(32).fill(fill))
    assert.ok(secp256k1SecretIsValid(kp.secretKey))
    for (let i = 0; i < 8; i++) {
      const msg = Uint8Array.of(fill, i)
      const sig = sign('secp256k1', kp.secretKey, msg)
      assert.equal(sig.length, 64)
      assert.equal(secp256k1HasHighS(sig), false)
      assert.equal(verify(kp.publicKey, msg, sig), true)
      assert.equal(verify(kp.publicKey, Uint8Array.of(fill, i, 0), sig), false)
    }
  }
})

test('verify accepts 65-byte uncompressed secp256k1 keys and refuses high-S signatures', () => {
  const kp = generateKeyPair('secp256k1', new Uint8Array(32).fill(0x42))
  const msg = utf8('uncompressed')
  const sig = sign('secp256k1', kp.secretKey, msg)
  const uncompressed = secp256k1.Point.fromBytes(kp.publicKey.bytes).toBytes(false)
  assert.equal(uncompressed.length, 65)
  assert.equal(verify({ scheme: 'secp256k1', bytes: uncompressed }, msg, sig), true)
  assert.equal(verify({ scheme: 'secp256k1', bytes: uncompressed }, utf8('other'), sig), false)
  const s = BigInt('0x' + toHex(sig.subarray(32)))
  const high = concatBytes(sig.subarray(0, 32), be32(SECP256K1_N - s))
  assert.equal(secp256k1HasHighS(high), true)
  assert.deepEqual(secp256k1NormalizeS(high), sig)
  assert.equal(verify(kp.publicKey, msg, high), false)
  assert.equal(nobleBackend.secp256k1Verify(kp.publicKey.bytes, msg, high, { lowS: false }), true)
})

test('verify never throws and returns false on malformed input', () => {
  const kp = generateKeyPair('ed25519', new Uint8Array(32).fill(1))
  const msg = utf8('m')
  const sig = sign('ed25519', kp.secretKey, msg)
  const bad: [unknown, unknown, unknown][] = [
    [null, msg, sig],
    [undefined, msg, sig],
    [{ scheme: 'rsa', bytes: kp.publicKey.bytes }, msg, sig],
    [{ scheme: 'ed25519', bytes: 'nope' }, msg, sig],
    [{ scheme: 'ed25519', bytes: kp.publicKey.bytes.subarray(1) }, msg, sig],
    [{ scheme: 'ed25519', bytes: concatBytes(kp.publicKey.bytes, Uint8Array.of(0)) }, msg, sig],
    [kp.publicKey, 'm', sig],
    [kp.publicKey, msg, sig.subarray(0, 63)],
    [kp.publicKey, msg, concatBytes(sig, Uint8Array.of(0))],
    [kp.publicKey, msg, [...sig]],
    [{ scheme: 'secp256k1', bytes: kp.publicKey.bytes }, msg, sig],
    [{ scheme: 'secp256k1', bytes: new Uint8Array(33) }, msg, new Uint8Array(64)],
  ]
  for (const [pk, m, s] of bad) {
    assert.equal(verify(pk as PublicKey, m as Uint8Array, s as Uint8Array), false)
  }
  assert.equal(verify(kp.publicKey, msg, sig), true)
})

test('key helpers refuse bad secrets and schemes with typed errors', () => {
  assert.throws(() => generateKeyPair('ed25519', new Uint8Array(31)), code('CRYPTO_INVALID_SECRET'))
  assert.throws(() => generateKeyPair('dsa' as KeyScheme, new Uint8Array(32)), code('CRYPTO_UNKNOWN_SCHEME'))
  assert.throws(() => publicKeyFromSecret('ed25519', new Uint8Array(33)), code('CRYPTO_INVALID_SECRET'))
  assert.throws(() => publicKeyFromSecret('secp256k1', new Uint8Array(32)), code('CRYPTO_INVALID_SECRET'))
  assert.throws(() => publicKeyFromSecret('secp256k1', be32(SECP256K1_N)), code('CRYPTO_INVALID_SECRET'))
  assert.throws(() => sign('secp256k1', be32(SECP256K1_N + 1n), utf8('x')), code('CRYPTO_INVALID_SECRET'))
  assert.equal(publicKeyFromSecret('secp256k1', be32(SECP256K1_N - 1n)).bytes.length, 33)
  assert.throws(() => sign('ed25519', new Uint8Array(64), utf8('x')), code('CRYPTO_INVALID_SECRET'))
})

test('scheme bytes round-trip and 0 is not a scheme', () => {
  for (const s of ['ed25519', 'secp256k1'] as const) assert.equal(keySchemeFromByte(KEY_SCHEME_BYTE[s]), s)
  assert.equal(keySchemeFromByte(0), null)
  assert.equal(keySchemeFromByte(3), null)
})

test('rule boundaries: S < L, low S <= (n-1)/2', () => {
  const L = 2n ** 252n + 27742317777372353535851937790883648493n
  const le32 = (n: bigint) => be32(n).reverse()
  assert.equal(ed25519ScalarIsCanonical(le32(L - 1n)), true)
  assert.equal(ed25519ScalarIsCanonical(le32(L)), false)
  assert.equal(ed25519ScalarIsCanonical(le32(0n)), true)
  const half = (SECP256K1_N - 1n) / 2n
  assert.equal(secp256k1HasHighS(concatBytes(be32(1n), be32(half))), false)
  assert.equal(secp256k1HasHighS(concatBytes(be32(1n), be32(half + 1n))), true)
})

test('publicKeyIsWellFormed and compression', () => {
  const ed = generateKeyPair('ed25519', new Uint8Array(32).fill(2)).publicKey
  const k = generateKeyPair('secp256k1', new Uint8Array(32).fill(2)).publicKey
  assert.equal(publicKeyIsWellFormed(ed), true)
  assert.equal(publicKeyIsWellFormed(k), true)
  assert.equal(publicKeyIsWellFormed({ scheme: 'ed25519', bytes: fromHex('01' + '00'.repeat(31)) }), false)
  assert.equal(
    publicKeyIsWellFormed({ scheme: 'ed25519', bytes: fromHex('ed' + 'ff'.repeat(30) + '7f') }),
    false,
  )
  assert.equal(
    publicKeyIsWellFormed({ scheme: 'secp256k1', bytes: concatBytes(Uint8Array.of(5), k.bytes.subarray(1)) }),
    false,
  )
  assert.equal(publicKeyIsWellFormed({ scheme: 'secp256k1', bytes: fromHex('02' + 'ff'.repeat(32)) }), false)
  assert.equal(publicKeyIsWellFormed(null as unknown as PublicKey), false)
  assert.deepEqual(secp256k1CompressPublicKey(k.bytes), k.bytes)
  assert.equal(secp256k1CompressPublicKey(new Uint8Array(65)), null)
})

test('strict DER: round trip, and every non-strict encoding refused', () => {
  const kp = generateKeyPair('secp256k1', new Uint8Array(32).fill(9))
  for (let i = 0; i < 16; i++) {
    const sig = sign('secp256k1', kp.secretKey, Uint8Array.of(i))
    const der = ecdsaSignatureToDer(sig)
    assert.deepEqual(ecdsaSignatureFromDer(der), sig)
  }
  // r = 0x80 (needs a sign byte), s = 1
  const good = fromHex('3007020200800201' + '01')
  assert.deepEqual(ecdsaSignatureFromDer(good), concatBytes(be32(0x80n), be32(1n)))
  const refused = [
    '', // empty
    '3006020200800201', // truncated
    '300702020080020101' + '00', // trailing byte
    '31070202008002010' + '1', // wrong outer tag
    '3008020200800201' + '01', // outer length mismatch
    '308107020200800201' + '01', // long-form length
    '3006020180020101', // negative r (0x80 without sign byte)
    '300702020001020101', // non-minimal r (00 01)
    '3006020002020080', // empty integer r
    '3006030180020101', // wrong integer tag
    '3026022101' + '00'.repeat(32) + '020101', // r of 33 bytes without a sign byte (> 256 bits)
  ]
  for (const h of refused) assert.equal(ecdsaSignatureFromDer(fromHex(h)), null, h)
  assert.equal(ecdsaSignatureFromDer('30' as unknown as Uint8Array), null)
  assert.equal(ecdsaSignatureFromDer(new Uint8Array(73)), null)
})

test('the small-order blacklist covers all 8 torsion points, both sign bits, and only them', async () => {
  const { ed25519 } = await import('@noble/curves/ed25519.js')
  const P = ed25519.Point
  const L = P.Fn.ORDER
  // A generator of the torsion subgroup: [L]Q for a point Q of full order 8L.
  let T = P.ZERO
  for (let i = 2; T.is0() || T.double().double().is0(); i++) {
    try {
      const q = P.fromBytes(fromHex(i.toString(16).padStart(2, '0') + '00'.repeat(31)), true)
      T = q.multiplyUnsafe(L - 1n).add(q)
    } catch {
      // not a point
    }
  }
  let t = P.ZERO
  for (let i = 0; i < 8; i++) {
    for (const flip of [0, 0x80]) {
      const enc = t.toBytes()
      enc[31] ^= flip
      assert.equal(ed25519PublicKeyIsWellFormed(enc), false, `torsion point ${i} flip ${flip}`)
      const sig = concatBytes(enc, new Uint8Array(32))
      assert.equal(
        ed25519PrecheckOk(generateKeyPair('ed25519', new Uint8Array(32)).publicKey.bytes, sig),
        false,
      )
    }
    t = t.add(T)
  }
  assert.ok(t.is0(), 'T has order 8')
  for (let i = 0; i < 32; i++) {
    assert.equal(
      ed25519PublicKeyIsWellFormed(generateKeyPair('ed25519', new Uint8Array(32).fill(i)).publicKey.bytes),
      true,
    )
  }
})
