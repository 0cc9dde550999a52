import assert from 'node:assert/strict'
import { test } from 'node:test'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bech32, bech32m } from '@scure/base'
import fc from 'fast-check'
import {
  ADDRESS_BYTES,
  addressBytesFromPublicKey,
  addressEquals,
  addressFromPublicKey,
  encodeAddress,
  parseAddress,
} from '../src/address.ts'
import { concatBytes } from '../src/bytes.ts'
import { generateKeyPair, taggedHash } from '../src/crypto/index.ts'
import { PulseError } from '../src/errors.ts'
import type { PublicKey } from '../src/types.ts'

const ed = generateKeyPair('ed25519', new Uint8Array(32).fill(7)).publicKey
const k1 = generateKeyPair('secp256k1', new Uint8Array(32).fill(7)).publicKey

function reason(r: string) {
  return (e: unknown) => e instanceof PulseError && e.code === 'ADDRESS_INVALID' && e.meta.reason === r
}

test('address = bech32m(prefix, first 20 bytes of taggedHash("pulsemesh/address", scheme || key))', () => {
  const addr = addressFromPublicKey(ed, 'pm')
  const want = taggedHash('pulsemesh/address', concatBytes(Uint8Array.of(0x01), ed.bytes)).slice(0, 20)
  assert.equal(addr, bech32m.encode('pm', bech32m.toWords(want)))
  assert.ok(addr.startsWith('pm1'))
  const parsed = parseAddress(addr, 'pm')
  assert.equal(parsed.prefix, 'pm')
  assert.deepEqual(parsed.bytes, want)
  assert.deepEqual(addressBytesFromPublicKey(ed), want)
  // Known answers pin the layout: changing them changes every account's address.
  assert.equal(addr, 'pm1zjr4exjkagexp968m2mqhawcpxtsafx4p2edxx')
  assert.equal(addressFromPublicKey(k1, 'emo'), 'emo1qghc46a89jke5qvu9pcut37jpj892smmns2wzt')
})

test('secp256k1: compressed and uncompressed forms of one key share an address; schemes never collide', () => {
  const uncompressed: PublicKey = {
    scheme: 'secp256k1',
    bytes: secp256k1.Point.fromBytes(k1.bytes).toBytes(false),
  }
  assert.equal(addressFromPublicKey(uncompressed, 'emo'), addressFromPublicKey(k1, 'emo'))
  const want = taggedHash('pulsemesh/address', concatBytes(Uint8Array.of(0x02), k1.bytes)).slice(0, 20)
  assert.deepEqual(addressBytesFromPublicKey(k1), want)
  // Same 32 bytes read as another scheme would give another address (here: the ed25519 key bytes).
  assert.notDeepEqual(addressBytesFromPublicKey(ed), addressBytesFromPublicKey(k1))
})

test('addresses compare by bytes, not by prefix or case', () => {
  const a = addressFromPublicKey(ed, 'pm')
  const b = addressFromPublicKey(ed, 'emo')
  assert.notEqual(a, b)
  assert.equal(addressEquals(a, b), true)
  assert.equal(addressEquals(a, a.toUpperCase()), true)
  assert.equal(addressEquals(a, addressFromPublicKey(k1, 'pm')), false)
})

test('parseAddress: every malformed input is ADDRESS_INVALID with a precise reason', () => {
  const good = addressFromPublicKey(ed, 'pm')
  const flipChar = (s: string, i: number) => s.slice(0, i) + (s[i] === 'q' ? 'p' : 'q') + s.slice(i + 1)
  assert.throws(() => parseAddress(flipChar(good, 10)), reason('bad-checksum'))
  assert.throws(() => parseAddress(flipChar(good, good.length - 1)), reason('bad-checksum'))
  assert.throws(() => parseAddress(good, 'emo'), reason('wrong-prefix'))
  const payload = addressBytesFromPublicKey(ed)
  assert.throws(
    () => parseAddress(bech32.encode('pm', bech32.toWords(payload))),
    reason('bech32-not-bech32m'),
  )
  assert.throws(
    () => parseAddress(bech32m.encode('pm', bech32m.toWords(payload.subarray(0, 19)))),
    reason('wrong-length'),
  )
  assert.throws(
    () => parseAddress(bech32m.encode('pm', bech32m.toWords(new Uint8Array(32)))),
    reason('wrong-length'),
  )
  assert.throws(() => parseAddress(good.slice(0, 3) + good.slice(3).toUpperCase()), reason('mixed-case'))
  assert.throws(() => parseAddress('pm1' + 'b'.repeat(40)), reason('malformed')) // 'b' is not in the charset
  assert.throws(() => parseAddress('pmqqqqqqqqqq'), reason('malformed')) // no separator
  assert.throws(() => parseAddress('1qqqqqqqqqq'), reason('malformed')) // empty prefix
  assert.throws(() => parseAddress('pm1qqqq'), reason('malformed')) // shorter than a checksum
  assert.throws(() => parseAddress(''), reason('malformed'))
  assert.throws(() => parseAddress('x'.repeat(91)), reason('too-long'))
  assert.throws(() => parseAddress(42 as unknown as string), reason('not-a-string'))
  assert.throws(
    () => parseAddress(bech32m.encode('P_M', bech32m.toWords(payload)).toLowerCase()),
    reason('bad-prefix'),
  )
  // The parsed form of an uppercase address is the canonical lowercase one.
  assert.equal(parseAddress(good.toUpperCase()).prefix, 'pm')
})

test('addressFromPublicKey / encodeAddress refuse bad prefixes, keys and payloads', () => {
  for (const p of ['', 'PM', '1pm', 'p m', 'a'.repeat(17), 'pm_x']) {
    assert.throws(() => addressFromPublicKey(ed, p), reason('bad-prefix'), p)
  }
  const keyInvalid = (e: unknown) => e instanceof PulseError && e.code === 'KEY_INVALID'
  assert.throws(
    () => addressFromPublicKey({ scheme: 'ed25519', bytes: new Uint8Array(31) }, 'pm'),
    keyInvalid,
  )
  assert.throws(
    () => addressFromPublicKey({ scheme: 'ed25519', bytes: new Uint8Array(32) }, 'pm'),
    keyInvalid,
  ) // small order
  assert.throws(
    () => addressFromPublicKey({ scheme: 'secp256k1', bytes: new Uint8Array(33) }, 'pm'),
    keyInvalid,
  )
  assert.throws(
    () => addressFromPublicKey({ scheme: 'rsa', bytes: ed.bytes } as unknown as PublicKey, 'pm'),
    keyInvalid,
  )
  assert.throws(() => encodeAddress('pm', new Uint8Array(21)), reason('wrong-length'))
})

test('property: encode/parse round-trips any payload and prefix', () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ minLength: ADDRESS_BYTES, maxLength: ADDRESS_BYTES }),
      fc.stringMatching(/^[a-z][a-z0-9]{0,15}$/),
      (bytes, prefix) => {
        const a = encodeAddress(prefix, bytes)
        assert.deepEqual(parseAddress(a, prefix), { prefix, bytes })
      },
    ),
    { numRuns: 200 },
  )
})

test('property: any single-character substitution is detected', () => {
  const good = addressFromPublicKey(k1, 'pm')
  const charset = 'qpzry9x8gf2tvdw0s3jn54khce6mua7l'
  fc.assert(
    fc.property(fc.integer({ min: 3, max: good.length - 1 }), fc.integer({ min: 1, max: 31 }), (i, d) => {
      const c = charset[(charset.indexOf(good[i]) + d) % 32]
      const bad = good.slice(0, i) + c + good.slice(i + 1)
      assert.throws(
        () => parseAddress(bad, 'pm'),
        (e: unknown) => e instanceof PulseError && e.code === 'ADDRESS_INVALID',
      )
    }),
    { numRuns: 200 },
  )
})
